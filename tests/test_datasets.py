from pathlib import Path

import numpy as np
import pytest

from neurotp.data import DATASET_NAMES, DataNotFoundError, load_dataset, search_dirs
from neurotp.data.datasets import IDX_FILES
from neurotp.data.idx import write_idx


def _write_fake(folder: Path, n_train=12, n_test=5, gz=True, shape=(4, 3)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sfx = ".gz" if gz else ""
    for split, n in (("train", n_train), ("test", n_test)):
        img_stem = IDX_FILES[f"{split}_images"]
        lab_stem = IDX_FILES[f"{split}_labels"]
        write_idx(folder / f"{img_stem}{sfx}", rng.integers(0, 256, (n, *shape), dtype=np.uint8))
        write_idx(folder / f"{lab_stem}{sfx}", (np.arange(n) % 10).astype(np.uint8))


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path):
    monkeypatch.delenv("NEUROTP_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("neurotp.data.datasets.SYSTEM_DATA_DIR", tmp_path / "system")


def test_names():
    assert DATASET_NAMES == ("digits", "fashion-mnist", "mnist")


def test_digits_split_fixed_and_scaled():
    d = load_dataset("digits")
    assert d.x_train.shape == (1257, 64) and d.x_test.shape == (540, 64)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert 0.0 <= d.x_train.min() and d.x_train.max() == 1.0
    assert d.image_shape == (8, 8) and d.n_classes == 10
    # stratified: every class in both splits, proportions close
    counts = np.bincount(d.y_test, minlength=10)
    assert counts.min() >= 50
    d2 = load_dataset("digits", seed=123)  # the split does not depend on seed
    np.testing.assert_array_equal(d.x_test, d2.x_test)


def test_digits_subsets_deterministic():
    a = load_dataset("digits", n_train=100, n_test=50, seed=3)
    b = load_dataset("digits", n_train=100, n_test=50, seed=3)
    c = load_dataset("digits", n_train=100, n_test=50, seed=4)
    assert a.x_train.shape == (100, 64) and a.x_test.shape == (50, 64)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.y_train, c.y_train)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_from_root(tmp_path, gz):
    _write_fake(tmp_path / "d", gz=gz)
    d = load_dataset("mnist", root=tmp_path / "d")
    assert d.x_train.shape == (12, 12) and d.x_test.shape == (5, 12)
    assert d.image_shape == (4, 3)
    assert d.x_train.dtype == np.float32 and d.x_train.max() <= 1.0
    np.testing.assert_array_equal(d.y_train, np.arange(12) % 10)


def test_search_order(tmp_path, monkeypatch):
    env = tmp_path / "env"
    _write_fake(env / "fashion-mnist", n_train=7)
    _write_fake(tmp_path / "cache" / "neurotp" / "fashion-mnist", n_train=8)
    _write_fake(tmp_path / "system" / "fashion-mnist", n_train=9)
    assert load_dataset("fashion-mnist").x_train.shape[0] == 8  # cache before system
    monkeypatch.setenv("NEUROTP_DATA", str(env))
    assert load_dataset("fashion-mnist").x_train.shape[0] == 7  # env before cache
    _write_fake(tmp_path / "root" / "fashion-mnist", n_train=6)  # root as a parent folder
    assert load_dataset("fashion-mnist", root=tmp_path / "root").x_train.shape[0] == 6
    dirs = search_dirs("fashion-mnist", tmp_path / "root")
    assert dirs[-1] == tmp_path / "system" / "fashion-mnist"


def test_missing_lists_every_place(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROTP_DATA", str(tmp_path / "env"))
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("fashion-mnist")
    msg = str(info.value)
    assert str(tmp_path / "env" / "fashion-mnist") in msg
    assert str(tmp_path / "cache" / "neurotp" / "fashion-mnist") in msg
    assert str(tmp_path / "system" / "fashion-mnist") in msg
    assert "neurotp data download fashion-mnist" in msg
    assert "apt-get install dataset-fashion-mnist" in msg


def test_partially_missing_names_file(tmp_path):
    _write_fake(tmp_path / "p")
    (tmp_path / "p" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match="missing: t10k-labels-idx1-ubyte"):
        load_dataset("mnist", root=tmp_path / "p")


def test_corrupt_file_is_value_error(tmp_path):
    _write_fake(tmp_path / "c", gz=False)
    f = tmp_path / "c" / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*truncated"):
        load_dataset("mnist", root=tmp_path / "c")


def test_label_count_mismatch(tmp_path):
    _write_fake(tmp_path / "m", gz=False)
    write_idx(tmp_path / "m" / "train-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="disagree"):
        load_dataset("mnist", root=tmp_path / "m")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="allowed: digits, fashion-mnist, mnist"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match=r"n_train: 5000 out of range; allowed 1\.\.1257"):
        load_dataset("digits", n_train=5000)
    with pytest.raises(ValueError, match="n_test"):
        load_dataset("digits", n_test=0)


def test_real_fashion_mnist_if_installed(monkeypatch):
    real = Path("/usr/share/datasets/fashion-mnist")
    if not (real / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("dataset-fashion-mnist not installed")
    monkeypatch.setattr("neurotp.data.datasets.SYSTEM_DATA_DIR", real.parent)
    d = load_dataset("fashion-mnist", n_train=500, n_test=200)
    assert d.x_train.shape == (500, 784) and d.image_shape == (28, 28)
    assert d.x_test.shape == (200, 784)
    assert set(np.unique(d.y_train)) <= set(range(10))


# --- --data-dir: the folder given is the only one looked in ---------------------------------
def test_data_dir_missing_is_an_error_not_a_fallback(tmp_path):
    _write_fake(tmp_path / "system" / "mnist")  # a copy that used to be picked up silently
    assert load_dataset("mnist").x_train.shape[0] == 12
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("mnist", root=tmp_path / "nope")
    msg = str(info.value)
    assert f"data folder {tmp_path / 'nope'} does not exist" in msg
    assert "train-images-idx3-ubyte" in msg
    assert isinstance(info.value, ValueError)  # the CLI prints ValueErrors as one line
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataNotFoundError, match="is not a folder"):
        load_dataset("mnist", root=tmp_path / "file")


def test_data_dir_incomplete_names_folder_and_missing_files(tmp_path):
    _write_fake(tmp_path / "system" / "mnist")
    _write_fake(tmp_path / "mine")
    (tmp_path / "mine" / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "mine" / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("mnist", root=tmp_path / "mine")
    msg = str(info.value)
    assert f"data folder {tmp_path / 'mine'} is incomplete" in msg
    assert "missing: train-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]" in msg
    assert "found 2 of 4" in msg
    assert str(tmp_path / "system") not in msg


def test_data_dir_as_parent_names_the_data_set_folder(tmp_path):
    _write_fake(tmp_path / "root" / "mnist")
    (tmp_path / "root" / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError, match=r"mnist is incomplete; missing: t10k-images"):
        load_dataset("mnist", root=tmp_path / "root")


def test_class_counts_come_from_the_circuit_table():
    from neurotp.circuit.validate import DATASET_CLASSES

    assert set(DATASET_CLASSES) == set(DATASET_NAMES)
    assert load_dataset("digits").n_classes == DATASET_CLASSES["digits"]


def test_validation_split_is_stratified_disjoint_and_seeded():
    from neurotp.data import load_dataset
    from neurotp.data.datasets import split_validation

    full = load_dataset("digits")
    d = load_dataset("digits", validation=0.2)
    assert len(d.x_train) + len(d.x_val) == len(full.x_train)
    assert abs(len(d.x_val) - 0.2 * len(full.x_train)) <= 10  # per-class rounding
    counts = np.bincount(d.y_val, minlength=10) / np.bincount(full.y_train, minlength=10)
    assert np.all(np.abs(counts - 0.2) < 0.03)
    rows = {r.tobytes() for r in full.x_train}
    assert {r.tobytes() for r in d.x_val} <= rows
    assert not {r.tobytes() for r in d.x_val} & {r.tobytes() for r in d.x_train}
    np.testing.assert_array_equal(d.x_test, full.x_test)  # the test split is untouched
    again = load_dataset("digits", validation=0.2)
    np.testing.assert_array_equal(again.y_val, d.y_val)
    assert not np.array_equal(split_validation(full.x_train, full.y_train, 0.2, 1)[2], d.x_val)
    assert load_dataset("digits").x_val is None
    with pytest.raises(ValueError, match=r"validation: 1.0 must lie in \(0, 1\)"):
        split_validation(full.x_train, full.y_train, 1.0)
