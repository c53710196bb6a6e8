"""The marker walk (deps/markers.py) and poetry's python constraints (deps/poetry_markers.py): exact on small
graphs, bounded on hostile ones (always towards "installed everywhere", never towards "nowhere")."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from packaging.markers import Marker

from mlwarden.deps.formats import parse_file
from mlwarden.deps.markers import ALWAYS, as_marker, propagate
from mlwarden.deps.poetry_markers import python_marker


def test_paths_and_and_alternatives_or() -> None:
    edges: dict[object, list[tuple[object, str | None]]] = {
        "root": [("a", "sys_platform == 'win32'"), ("b", None)],
        "a": [("c", "python_version < '3.11'")],
        "b": [("c", "os_name == 'nt'")],
        "c": [("a", None)],  # a cycle ends
    }
    conditions = propagate([("root", None)], edges)
    assert conditions["root"] == ALWAYS
    assert as_marker(conditions["b"]) is None
    c = Marker(as_marker(conditions["c"]) or "")
    for env, expected in (({"sys_platform": "win32", "os_name": "nt", "python_version": "3.12"}, True),
                          ({"sys_platform": "linux", "os_name": "posix", "python_version": "3.10"}, False),
                          ({"sys_platform": "linux", "os_name": "nt", "python_version": "3.12"}, True)):
        assert c.evaluate(env) is expected
    # a reaches itself through c: its condition is win32, or (os_name nt, through b -> c -> a)
    a = Marker(as_marker(conditions["a"]) or "")
    assert a.evaluate({"sys_platform": "linux", "os_name": "nt"})
    assert not a.evaluate({"sys_platform": "linux", "os_name": "posix"})


def test_unreached_nodes_have_no_condition() -> None:
    assert "orphan" not in propagate([("root", None)], {"root": [], "orphan": [("root", None)]})


@pytest.mark.parametrize(("constraint", "inside", "outside"), [
    ("^3.7", ["3.7", "3.12"], ["3.6", "4.0"]),
    (">=3.6,<4", ["3.6", "3.13"], ["3.5", "4.1"]),
    ("~2.7 || >=3.4", ["2.7", "3.4", "3.12"], ["2.6", "3.3"]),
    ("~=3.8", ["3.8", "3.12"], ["3.7", "4.0"]),
    ("3.9.*", ["3.9"], ["3.10"]),
])
def test_poetry_python_constraints_as_markers(constraint: str, inside: list[str], outside: list[str]) -> None:
    marker = Marker(python_marker(constraint) or "")
    for version in inside:
        assert marker.evaluate({"python_version": version, "python_full_version": version + ".0"}), version
    for version in outside:
        assert not marker.evaluate({"python_version": version, "python_full_version": version + ".0"}), version
    assert python_marker("*") is None


def test_a_hostile_uv_lock_graph_is_bounded(tmp_path: Path) -> None:
    """Every package depends on the next two under distinct markers: conditions would grow without end. The walk
    caps clauses and steps, stays near the reader's own linear time, and errs towards "everywhere"."""
    count = 3000
    lines = ['version = 1', 'requires-python = ">=3.8"', '', '[[package]]', 'name = "root"', 'version = "0"',
             'source = { virtual = "." }', 'dependencies = [{ name = "p0", marker = "os_name == \'nt\'" }]', '']
    for i in range(count):
        deps = [f'{{ name = "p{j}", marker = "platform_machine == \'m{i}-{j}\'" }}' for j in (i + 1, i + 2)
                if j < count]
        lines += ['[[package]]', f'name = "p{i}"', 'version = "1"', 'source = { registry = "https://pypi.org/simple" }',
                  f'dependencies = [{", ".join(deps)}]', '']
    (tmp_path / "uv.lock").write_text("\n".join(lines))
    started = time.perf_counter()
    [manifest] = parse_file(tmp_path / "uv.lock", tmp_path)
    assert time.perf_counter() - started < 20  # about 0.4 s on an idle core
    assert len(manifest.pins) == count
    # past the step budget every package reached counts as installed everywhere: never "nowhere"
    assert all(p.markers is None for p in manifest.pins)
