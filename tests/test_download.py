import gzip
import hashlib
import io

import numpy as np
import pytest

from neurotp.data.datasets import IDX_FILES
from neurotp.data.download import ChecksumError, download, verify_file
from neurotp.data.idx import write_idx

SHAPES = {
    "mnist": {
        "train_images": (6, 2, 2),
        "train_labels": (6,),
        "test_images": (3, 2, 2),
        "test_labels": (3,),
    }
}


def _mirror(folder):
    folder.mkdir()
    arrays = {
        "train_images": np.arange(24, dtype=np.uint8).reshape(6, 2, 2),
        "train_labels": np.arange(6, dtype=np.uint8),
        "test_images": np.arange(12, dtype=np.uint8).reshape(3, 2, 2),
        "test_labels": np.arange(3, dtype=np.uint8),
    }
    digests = {}
    for part, arr in arrays.items():
        p = write_idx(folder / f"{IDX_FILES[part]}.gz", arr)
        digests[part] = hashlib.sha256(gzip.decompress(p.read_bytes())).hexdigest()
    return {"mnist": digests}


def test_download_file_url(tmp_path):
    digests = _mirror(tmp_path / "mirror")
    files = download(
        "mnist",
        tmp_path / "out",
        mirrors=[(tmp_path / "mirror").as_uri() + "/"],
        shapes=SHAPES,
        digests=digests,
        log=None,
    )
    assert set(files) == set(IDX_FILES)
    from neurotp.data import load_dataset

    d = load_dataset("mnist", root=tmp_path / "out")
    assert d.x_train.shape == (6, 4)
    assert not list((tmp_path / "out").glob("*.part"))


def test_bad_digest_rejected_and_falls_to_next_mirror(tmp_path):
    digests = _mirror(tmp_path / "good")
    bad = tmp_path / "bad"
    bad.mkdir()
    for part, stem in IDX_FILES.items():  # right shapes, wrong content
        shape = SHAPES["mnist"][part]
        write_idx(bad / f"{stem}.gz", np.full(shape, 9, dtype=np.uint8))
    logs = []
    mirrors = [bad.as_uri(), (tmp_path / "good").as_uri()]
    files = download(
        "mnist", tmp_path / "out", mirrors=mirrors, shapes=SHAPES, digests=digests, log=logs.append
    )
    tried = [line for line in logs if line.startswith("downloading")]
    assert tried[0].endswith("/bad/train-images-idx3-ubyte.gz")
    assert tried[1].endswith("/good/train-images-idx3-ubyte.gz")
    assert len(files) == 4
    with pytest.raises(RuntimeError, match="SHA-256 of IDX payload"):
        download(
            "mnist",
            tmp_path / "out2",
            mirrors=[bad.as_uri()],
            shapes=SHAPES,
            digests=digests,
            log=None,
        )
    assert not (tmp_path / "out2" / "train-images-idx3-ubyte.gz").exists()


def test_monkeypatched_opener_and_skip_existing(tmp_path):
    digests = _mirror(tmp_path / "m")
    calls = []

    def opener(url, timeout):
        calls.append(url)
        name = url.rsplit("/", 1)[1]
        return io.BytesIO((tmp_path / "m" / name).read_bytes())

    kw = dict(mirrors=["https://example.invalid/x/"], opener=opener, shapes=SHAPES, log=None)
    download("mnist", tmp_path / "o", digests=digests, **kw)
    assert calls[0] == "https://example.invalid/x/train-images-idx3-ubyte.gz" and len(calls) == 4
    download("mnist", tmp_path / "o", digests=digests, **kw)
    assert len(calls) == 4  # verified files are not fetched again


def test_wrong_shape_and_unknown_name(tmp_path):
    p = write_idx(tmp_path / "x.gz", np.zeros((5, 2, 2), dtype=np.uint8))
    with pytest.raises(ChecksumError, match=r"shape \(5, 2, 2\), expected \(6, 2, 2\)"):
        verify_file(p, "mnist", "train_images", shapes=SHAPES, digests={})
    with pytest.raises(ValueError, match="allowed: fashion-mnist, mnist"):
        download("digits", tmp_path)


def test_pinned_fashion_digests_match_debian_files():
    from pathlib import Path

    root = Path("/usr/share/datasets/fashion-mnist")
    if not (root / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("dataset-fashion-mnist not installed")
    for part, stem in IDX_FILES.items():
        if "labels" in part or part == "test_images":
            verify_file(root / f"{stem}.gz", "fashion-mnist", part)
