"""``source_hash`` names the code: the same files give the same hash, any edit another."""

from neurotp.provenance import source_hash


def _tree(root, text):
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("x = 1\n")
    (root / "pkg" / "sub" / "b.py").write_text(text)
    (root / "pkg" / "notes.txt").write_text("not code")
    return root / "pkg"


def test_the_same_sources_give_the_same_hash_and_an_edit_another(tmp_path):
    one = _tree(tmp_path / "one", "y = 2\n")
    two = _tree(tmp_path / "two", "y = 2\n")
    three = _tree(tmp_path / "three", "y = 3\n")
    assert source_hash(one) == source_hash(two)  # where the tree lies does not count
    assert source_hash(one) != source_hash(three)
    (two / "notes.txt").write_text("edited")  # only .py files count
    assert source_hash(two) == source_hash(one)


def test_the_package_hash_is_16_hex_digits():
    h = source_hash()
    assert len(h) == 16 and int(h, 16) >= 0
