"""Run outputs: run folders never mix two runs, safe default folder names, a recording that can
be read without neurotp, the rate figure, the auto-encoders' code population."""

from pathlib import Path

import numpy as np
import pytest

from neurotp.circuit import compile_circuit, load_circuit
from neurotp.outputs import (
    RUN_FILES,
    code_population,
    default_run_dir,
    plot_rates,
    prepare_run_dir,
    write_recording,
)

ROOT = Path(__file__).resolve().parents[1]


def compiled(name="digits_tp.yaml"):
    return compile_circuit(load_circuit(ROOT / "circuits" / name))


def test_a_fresh_run_needs_an_absent_or_empty_folder(tmp_path):
    prepare_run_dir(tmp_path / "new" / "deep", resume=False, overwrite=False)
    assert (tmp_path / "new" / "deep").is_dir()
    prepare_run_dir(tmp_path / "new" / "deep", resume=False, overwrite=False)  # empty: fine
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")
    with pytest.raises(FileExistsError, match="holds another run .*--overwrite") as err:
        prepare_run_dir(tmp_path / "run", resume=False, overwrite=False)
    assert err.value.filename == str(tmp_path / "run")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"holds files \(mine.txt\)"):
        prepare_run_dir(tmp_path / "notes", resume=False, overwrite=False)


def test_overwrite_removes_the_old_run_files_only(tmp_path):
    for name in RUN_FILES:
        (tmp_path / name).write_text("old")
    (tmp_path / "mine.txt").write_text("mine")
    prepare_run_dir(tmp_path, resume=False, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_resume_needs_a_checkpoint_and_not_overwrite(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        prepare_run_dir(tmp_path, resume=True, overwrite=False)
    (tmp_path / "checkpoint.npz").write_bytes(b"x")
    (tmp_path / "metrics.json").write_text("{}")
    prepare_run_dir(tmp_path, resume=True, overwrite=False)  # files stay for the resumed run
    assert (tmp_path / "metrics.json").exists()
    with pytest.raises(ValueError, match="--resume and --overwrite"):
        prepare_run_dir(tmp_path, resume=True, overwrite=True)


def test_out_must_be_a_folder(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError):
        prepare_run_dir(tmp_path / "f", resume=False, overwrite=False)


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "", "a\\b", "/abs"])
def test_default_folder_names_stay_under_runs(name):
    with pytest.raises(ValueError, match="cannot be a folder under runs/"):
        default_run_dir(name)


def test_default_folder_name_must_be_a_string():
    with pytest.raises(ValueError, match="is not a string"):
        default_run_dir(5)
    assert default_run_dir("digits_tp-v1.2") == Path("runs") / "digits_tp-v1.2"


def test_code_population_is_the_bottleneck():
    assert code_population(compiled("autoencoder.yaml")) == "H"
    assert code_population(compiled("stacked_autoencoder.yaml")) == "H2"
    assert code_population(compiled()) is None  # no reconstruction


def test_recording_can_be_read_without_neurotp(tmp_path):
    comp = compiled()
    state = comp.initial_state()
    spp = comp.steps_per_presentation
    rates = np.random.default_rng(0).random((3 * spp, comp.n_units))
    write_recording(
        tmp_path / "r.npz",
        comp,
        rates,
        [state.w, state.w + 1],
        [0, 1],
        sample_indices=np.arange(3),
        labels=np.array([4, 3, 7]),
        predicted=np.array([4, 4, 7]),
        labels_clamped=True,
    )
    with np.load(tmp_path / "r.npz", allow_pickle=False) as z:
        names = list(z["projection_names"])
        i = names.index("HY")
        off = z["projection_weight_offsets"][i]
        post, pre = z["projection_shapes"][i]
        hy = z["weights"][1, off : off + post * pre].reshape(post, pre)
        assert np.array_equal(hy, comp.proj_matrix(state.w, "HY") + 1)
        # a tied projection points at its owner's block
        t = names.index("YTG")
        assert z["projection_tied_to"][t] == "YS"
        assert (
            z["projection_weight_offsets"][t] == z["projection_weight_offsets"][names.index("YS")]
        )
        p = list(z["population_names"]).index("Y")
        y0 = z["population_offsets"][p]
        assert np.array_equal(z["rates"][:, y0 : y0 + z["population_sizes"][p]], rates[:, 80:90])
        assert list(z["labels"]) == [4, 3, 7] and list(z["predicted"]) == [4, 4, 7]
        assert list(z["sample_indices"]) == [0, 1, 2] and str(z["sample_split"]) == "test"
        assert float(z["dt_ms"]) == comp.dt and int(z["steps_per_presentation"]) == spp
        assert list(z["weight_epochs"]) == [0, 1] and bool(z["labels_clamped"])


def test_rate_figure_is_written_with_and_without_labels(tmp_path):
    for name, labels, pred in (
        ("digits_tp.yaml", np.array([1, 2]), np.array([1, 5])),
        ("autoencoder.yaml", None, None),
    ):
        comp = compiled(name)
        rates = np.random.default_rng(0).random((2 * comp.steps_per_presentation, comp.n_units))
        plot_rates(tmp_path / f"{name}.png", comp, rates, name, labels=labels, predicted=pred)
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
