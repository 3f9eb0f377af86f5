"""Checks of the package's shape anyone can run: no import cycle, modules of one concept."""

import ast
import pathlib

import neurotp

ROOT = pathlib.Path(neurotp.__file__).parent
MAX_LINES = 500
# modules allowed past MAX_LINES, with the reason (keep this list short and honest)
LONG_MODULES: dict[str, str] = {
    "neurotp.algorithms.stacked_ae": "one model for the paper's Algorithms 2, 3 and 6 (the stack "
    "is trained, sampled and used for imputation together); 502 lines",
}


def module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: pathlib.Path, name: str) -> set[str]:
    """neurotp modules the module at ``path`` imports, anywhere in it (an import inside a
    function still makes the two modules depend on each other)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("neurotp"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("neurotp"):
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        graph[name] = {m for m in imports_of(path, name) if m in paths and m != name}
    return graph


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # a package's __init__ importing its own submodules is not a cycle
            if node.startswith(nxt + ".") or nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_the_cycle_check_finds_a_cycle(tmp_path):
    (tmp_path / "a.py").write_text("from neurotp.b import x\n")
    (tmp_path / "b.py").write_text("import neurotp.a\n")
    assert imports_of(tmp_path / "a.py", "neurotp.a") == {"neurotp.b", "neurotp.b.x"}
    assert imports_of(tmp_path / "b.py", "neurotp.b") == {"neurotp.a"}


def test_modules_stay_under_the_line_budget():
    long = {
        module_name(p): n
        for p in ROOT.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    unexplained = {m: n for m, n in long.items() if m not in LONG_MODULES}
    assert not unexplained, f"modules over {MAX_LINES} lines: {unexplained}"


# ---- one test module per source module -------------------------------------------------
TESTS = pathlib.Path(__file__).resolve().parent
# modules with no test module of their own, with the reason (keep this list short and honest)
UNTESTED_MODULES: dict[str, str] = {}


def allowed_test_names(path: pathlib.Path, root: pathlib.Path) -> set[str]:
    """Names a test module of the module at ``path`` may have: ``test_<module>.py``, or
    ``test_<package>_<module>.py`` inside a subpackage of ``root``."""
    names = {f"test_{path.stem}.py"}
    if path.parent != root:
        names.add(f"test_{path.parent.name}_{path.stem}.py")
    return names


def modules_without_tests(root: pathlib.Path, tests: pathlib.Path) -> list[str]:
    """Dotted names of the modules under package ``root`` (not ``__init__``, ``__main__``)
    that no ``tests/test_*.py`` is named after."""
    have = {p.name for p in tests.glob("test_*.py")}
    return sorted(
        ".".join(p.relative_to(root.parent).with_suffix("").parts)
        for p in root.rglob("*.py")
        if p.stem not in ("__init__", "__main__") and not allowed_test_names(p, root) & have
    )


def test_every_module_has_a_test_module():
    missing = modules_without_tests(ROOT, TESTS)
    unexplained = [m for m in missing if m not in UNTESTED_MODULES]
    assert not unexplained, f"modules without tests/test_[<package>_]<module>.py: {unexplained}"
    stale = sorted(set(UNTESTED_MODULES) - set(missing))
    assert not stale, f"UNTESTED_MODULES lists modules that have tests now: {stale}"


def test_the_test_module_check_finds_a_module_without_tests(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for rel in ("__init__.py", "__main__.py", "top.py", "a.py", "sub/__init__.py"):
        (pkg / rel).write_text("")
    for rel in ("sub/b.py", "sub/c.py", "sub/d.py"):
        (pkg / rel).write_text("")
    tests = tmp_path / "tests"
    tests.mkdir()
    for name in ("test_top.py", "test_pkg_a.py", "test_sub_b.py", "test_d.py"):
        (tests / name).write_text("")
    # a sits in pkg itself (test_pkg_a.py does not name it); c has no test at all
    assert modules_without_tests(pkg, tests) == ["pkg.a", "pkg.sub.c"]
