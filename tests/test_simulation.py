"""Training driver: determinism, checkpoints (atomic) and resume to the same weights."""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from neurotp.circuit import load_circuit
from neurotp.data import load_dataset
from neurotp.engines import DivergenceError
from neurotp.simulation import (
    CHECKPOINT,
    CheckpointError,
    Simulation,
    first_difference,
    identity_mismatch,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["protocol.n_train=120", "protocol.n_test=60"]


def small_digits():
    return load_dataset("digits", n_train=120, n_test=60)


def sim(overrides=(), **kw):
    c = load_circuit(ROOT / "circuits" / "digits_tp.yaml", [*SMALL, *overrides])
    return Simulation(c, data=small_digits(), **kw)


def test_same_seed_same_numbers():
    a, b = sim(), sim()
    a.train(2)
    b.train(2)
    assert np.array_equal(a.state.w, b.state.w)
    assert [h.test_accuracy for h in a.history] == [h.test_accuracy for h in b.history]


def test_other_seed_other_numbers():
    a, b = sim(), sim(["seed=5"])
    a.train(1)
    b.train(1)
    assert not np.array_equal(a.state.w, b.state.w)


def test_evaluation_does_not_change_training():
    a, b = sim(), sim()
    a.train(2)
    b.train(1)
    for _ in range(3):
        b.evaluate()
    b.train(2)
    assert np.array_equal(a.state.w, b.state.w)


def test_interrupted_run_resumes_to_same_final_weights(tmp_path):
    full = sim()
    full.train(3, out=tmp_path / "full")
    part = sim()
    part.train(1, out=tmp_path / "part")  # "interrupted" after one epoch
    assert (tmp_path / "part" / CHECKPOINT).exists()
    assert not list((tmp_path / "part").glob("*.tmp"))  # written atomically
    c = load_circuit(ROOT / "circuits" / "digits_tp.yaml", SMALL)
    resumed = Simulation.resume(c, tmp_path / "part", data=small_digits())
    assert resumed.epoch == 1
    resumed.train(3, out=tmp_path / "part")
    assert np.array_equal(resumed.state.w, full.state.w)
    assert [h.test_accuracy for h in resumed.history] == [h.test_accuracy for h in full.history]


def test_divergence_reports_last_checkpoint(tmp_path):
    s = sim(["populations.H.activation=linear", "populations.HT.activation=linear"])
    s.train(1, out=tmp_path)  # one good epoch, checkpointed
    s.engine.state.w *= 1e300  # then blow up: linear units overflow in the next epoch
    with pytest.raises(DivergenceError) as err:
        s.train(2, out=tmp_path)
    msg = str(err.value)
    assert "became NaN/inf at t=" in msg
    assert err.value.checkpoint == str(tmp_path / CHECKPOINT)
    assert f"last good checkpoint: {tmp_path / CHECKPOINT}" in msg


def test_learning_beats_chance_quickly():
    s = sim()
    s.train(3)
    assert s.history[-1].test_accuracy > 0.5


# ---- resume only the run that made the checkpoint ----------------------------------------
@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory):
    out = tmp_path_factory.mktemp("ck")
    sim().train(1, out=out)
    return out


def resume(out, overrides=(), circuit="digits_tp.yaml", **kw):
    c = load_circuit(ROOT / "circuits" / circuit, [*SMALL, *overrides])
    return Simulation.resume(c, out, data=small_digits(), **kw)


@pytest.mark.parametrize(
    ("overrides", "circuit", "kw", "said"),
    [
        (
            ["projections.HHT.delay=12.0"],
            "digits_tp.yaml",
            {},
            "projections.HHT.delay=3.0, this run has 12.0",
        ),
        (
            ["rules.prediction_XH.lr=0.05"],
            "digits_tp.yaml",
            {},
            "rules.prediction_XH.lr=0.02, this run has 0.05",
        ),
        (["seed=3"], "digits_tp.yaml", {}, "seed=0, this run has 3"),
        (["protocol.n_train=100"], "digits_tp.yaml", {}, "protocol.n_train=120, this run has 100"),
        ([], "autoencoder.yaml", {}, "name='digits_tp', this run has 'autoencoder'"),
        ([], "digits_tp.yaml", {"dtype": "float32"}, "dtype float64, this run has float32"),
        ([], "digits_tp.yaml", {"backend": "reference"}, "backend numba, this run has reference"),
    ],
)
def test_resume_refuses_another_run(checkpointed, overrides, circuit, kw, said):
    with pytest.raises(CheckpointError) as err:
        resume(checkpointed, overrides, circuit, **kw)
    assert str(checkpointed / CHECKPOINT) in str(err.value)
    assert f"checkpoint was made with {said}" in str(err.value)


def test_resume_refuses_another_version(checkpointed, monkeypatch):
    import neurotp.simulation

    monkeypatch.setattr(neurotp.simulation, "__version__", "99.0")
    with pytest.raises(CheckpointError, match="made with neurotp 0.1.0, this run has 99.0"):
        resume(checkpointed)


def test_resume_allows_more_epochs_not_fewer(checkpointed):
    s = resume(checkpointed, ["protocol.epochs=7"])  # epochs are not part of the identity
    assert s.epoch == 1
    with pytest.raises(ValueError, match="checkpoint is at epoch 1, beyond the 0 asked for"):
        s.train(0)


def test_resume_without_checkpoint_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        resume(tmp_path)
    assert err.value.filename == str(tmp_path / CHECKPOINT)
    assert "no checkpoint to resume from" in str(err.value)


def _rewritten(path, **change):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(change)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _corruptions(path):
    good = path.read_bytes()
    rng = np.random.default_rng(0)
    meta = json.loads(str(np.load(path)["meta"]))
    flips = {}
    for i, pos in enumerate(rng.integers(0, len(good), 4)):
        b = bytearray(good)
        b[pos] ^= 0x10
        flips[f"bit flip {i}"] = bytes(b)
    return {
        "truncated": good[: len(good) // 2],
        "empty": b"",
        **flips,
        "random bytes": rng.integers(0, 256, 4000, dtype=np.uint8).tobytes(),
        "meta not JSON": _rewritten(path, meta=np.array("{broken")),
        "meta missing a field": _rewritten(
            path, meta=np.array(json.dumps({k: v for k, v in meta.items() if k != "noise_rng"}))
        ),
        "random stream state broken": _rewritten(
            path, meta=np.array(json.dumps({**meta, "order_rng": {"state": 1}}))
        ),
        "meta of the wrong type": _rewritten(path, meta=np.array(json.dumps([1, 2]))),
        "history malformed": _rewritten(
            path, meta=np.array(json.dumps({**meta, "history": [{"x": 1}]}))
        ),
    }


def test_a_corrupt_checkpoint_is_named_and_called_corrupt(checkpointed, tmp_path):
    for what, data in _corruptions(checkpointed / CHECKPOINT).items():
        out = tmp_path / what.replace(" ", "_")
        out.mkdir()
        (out / CHECKPOINT).write_bytes(data)
        with pytest.raises(CheckpointError) as err:
            resume(out)
        msg = str(err.value)
        assert msg.startswith(f"{out / CHECKPOINT}: corrupt checkpoint"), (what, msg)


def test_checkpoint_arrays_of_another_shape_are_named(checkpointed, tmp_path):
    with np.load(checkpointed / CHECKPOINT) as z:
        hist = z["hist"]
    (tmp_path / CHECKPOINT).write_bytes(_rewritten(checkpointed / CHECKPOINT, hist=hist[:1]))
    with pytest.raises(CheckpointError, match="state array 'hist': shape"):
        resume(tmp_path)


def test_resume_keeps_the_weight_snapshots(tmp_path):
    full = sim()
    full.train(3)
    part = sim()
    part.train(1, out=tmp_path)
    resumed = resume(tmp_path)
    resumed.train(3, out=tmp_path)
    assert resumed.snapshot_epochs == full.snapshot_epochs == [0, 1, 2, 3]
    for a, b in zip(resumed.snapshots, full.snapshots, strict=True):
        assert np.array_equal(a, b)


def test_first_difference_names_items_by_name():
    a = {"projections": [{"name": "A", "delay": 1.0}, {"name": "B", "delay": 3.0}], "seed": 0}
    b = {"projections": [{"name": "A", "delay": 1.0}, {"name": "B", "delay": 12}], "seed": 0}
    assert first_difference(a, b) == ("projections.B.delay", 3.0, 12)
    assert first_difference(a, a) is None
    assert first_difference({"x": [1, 2]}, {"x": [1, 2, 3]}) == ("x", [1, 2], [1, 2, 3])
    assert first_difference({"x": 1}, {"x": 1.0}) is None
    assert first_difference({"x": 1}, {"x": "1"}) == ("x", 1, "1")


def test_identity_mismatch_ignores_only_the_epoch_count():
    base = {"backend": "numba", "dtype": "float64", "version": "1", "circuit_hash": "a"}
    old = {**base, "circuit": {"protocol": {"epochs": 3, "dt": 1.0}}}
    new = {**base, "circuit_hash": "b", "circuit": {"protocol": {"epochs": 9, "dt": 1.0}}}
    assert identity_mismatch(old, new) is None
    new["circuit"]["protocol"]["dt"] = 0.5
    assert identity_mismatch(old, new) == (
        "checkpoint was made with protocol.dt=1.0, this run has 0.5"
    )


def test_validation_split_scores_every_epoch_and_the_test_split_once(tmp_path):
    c = load_circuit(ROOT / "circuits" / "digits_tp.yaml", [*SMALL, "protocol.validation=0.25"])
    s = Simulation(c)
    assert len(s.data.x_train) + len(s.data.x_val) == 120 and len(s.data.x_val) == 30
    hist = s.train(2, out=tmp_path)
    assert [h.epoch for h in hist] == [0, 1, 2]
    assert all(h.val_accuracy is not None for h in hist)
    assert [h.test_accuracy is None for h in hist] == [True, True, False]
    assert hist[-1].test_accuracy == s.evaluate()["test_accuracy"]
    assert hist[-1].val_accuracy == s.evaluate(split="val")["val_accuracy"]
    assert hist[-1].samples_seen == 2 * 90  # the validation samples are never trained on
    plain = sim()
    plain.train(1)
    assert all(h.test_accuracy is not None and h.val_accuracy is None for h in plain.history)
    with pytest.raises(ValueError, match="split: 'train'; allowed: test, val"):
        s.evaluate(split="train")


# ---- batched runs (protocol.batch > 1) --------------------------------------------------
def test_batch_one_is_the_plain_engine():
    from neurotp.engines.numba import NumbaEngine

    a = sim(["protocol.batch=1"])
    assert type(a.engine) is NumbaEngine and a.drive_size == a.chunk
    b = sim()
    a.train(1)
    b.train(1)
    assert np.array_equal(a.state.w, b.state.w)


@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_batched_same_seed_same_numbers(backend):
    from neurotp.engines.batching import batch_of

    a, b = sim(["protocol.batch=4"], backend=backend), sim(["protocol.batch=4"], backend=backend)
    assert batch_of(a.comp) == 4 and a.engine.batch == 4 and a.state.r.shape[0] == 4
    a.train(1)
    b.train(1)
    assert np.array_equal(a.state.w, b.state.w)
    assert a.history[-1].test_accuracy == b.history[-1].test_accuracy
    assert not np.array_equal(a.state.w, sim().state.w)  # it learned


def test_batched_drives_are_whole_rounds():
    s = sim(["protocol.batch=3"])
    assert s.drive_size == 129  # chunk 128 rounded up to whole rounds of 3


def test_batched_run_resumes_to_same_final_weights(tmp_path):
    over = ["protocol.batch=5"]
    full = sim(over)
    full.train(2)
    part = sim(over)
    part.train(1, out=tmp_path)
    resumed = Simulation.resume(part.circuit, tmp_path, data=small_digits())
    assert resumed.epoch == 1 and resumed.state.r.shape == (5, full.comp.n_units)
    resumed.train(2)
    assert np.array_equal(resumed.state.w, full.state.w)
    assert np.array_equal(resumed.state.r, full.state.r)


def test_resume_with_another_batch_is_refused(tmp_path):
    part = sim(["protocol.batch=5"])
    part.train(1, out=tmp_path)
    c = load_circuit(ROOT / "circuits" / "digits_tp.yaml", [*SMALL, "protocol.batch=2"])
    with pytest.raises(CheckpointError, match="protocol.batch=5"):
        Simulation.resume(c, tmp_path, data=small_digits())


def test_batched_single_engine_is_copy_zero():
    from neurotp.engines.numba import NumbaEngine

    s = sim(["protocol.batch=2"])
    s.train(1)
    one = s.single_engine()
    assert type(one) is NumbaEngine
    assert np.array_equal(one.state.r, s.state.r[0]) and np.array_equal(one.state.w, s.state.w)


def test_batch_on_brian2_is_refused():
    pytest.importorskip("brian2")
    with pytest.raises(ValueError, match="protocol.batch: backend 'brian2'"):
        sim(["protocol.batch=2"], backend="brian2")
