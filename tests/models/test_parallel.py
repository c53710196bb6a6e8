"""Large framed pickles: the two-core shortcut never changes a verdict."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mlwarden.findings import Severity
from mlwarden.models import parallel
from mlwarden.models.pickle import analyse
from tests import payloads
from tests.conftest import worst
from tests.models.test_formats import Evil


@pytest.fixture(autouse=True)
def _small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN_SIZE", 0)


def _rows(n: int) -> list[dict[str, object]]:
    return [{"id": i, "name": f"user{i}", "score": i / 7, "ok": i % 2 == 0} for i in range(n)]


def _analyse(path: Path) -> tuple[object, object]:
    with path.open("rb") as f:
        fast = parallel.analyse_file(f, path.stat().st_size, max_memo=10**6, max_stack=10**7, deadline=None)
    with path.open("rb") as f:
        slow = analyse(f)
    return fast, slow


def test_pure_data_tail_gives_the_sequential_answer(tmp_path: Path) -> None:
    path = tmp_path / "rows.pkl"
    path.write_bytes(pickle.dumps(_rows(60_000), protocol=4))
    with path.open("rb") as f:
        assert parallel.frame_split(f.fileno(), path.stat().st_size) is not None
    fast, slow = _analyse(path)
    assert fast.globals == slow.globals == {}  # type: ignore[attr-defined]
    assert fast.problems == slow.problems == []  # type: ignore[attr-defined]
    assert fast.pickles == slow.pickles == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("where", ["head", "tail"])
def test_payload_in_either_half_is_found(tmp_path: Path, marker: Path, where: str) -> None:
    rows: list[object] = list(_rows(60_000))
    rows.insert(10 if where == "head" else len(rows) - 10, Evil(marker))
    path = tmp_path / "rows.pkl"
    path.write_bytes(pickle.dumps(rows, protocol=5))
    fast, slow = _analyse(path)
    assert set(fast.globals) == set(slow.globals)  # type: ignore[attr-defined]
    assert any(name.endswith(".system") for name in fast.globals)  # type: ignore[attr-defined]


def test_truncated_tail_is_reported(tmp_path: Path) -> None:
    data = pickle.dumps(_rows(60_000), protocol=4)
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[:-3000])
    fast, slow = _analyse(path)
    assert [p.kind for p in fast.problems] == [p.kind for p in slow.problems] == ["unparsable"]  # type: ignore[attr-defined]


def test_scanner_uses_it_for_top_level_pickles(tmp_path: Path, marker: Path) -> None:
    from mlwarden.models.scanner import scan_model_file

    path = tmp_path / "big.pkl"
    path.write_bytes(pickle.dumps(_rows(30_000), protocol=4) + payloads.os_system(marker))
    result, _ = scan_model_file(path)
    assert worst(result.findings) == Severity.CRITICAL


def test_the_shortcut_is_taken_on_a_pure_data_tail(tmp_path: Path) -> None:
    from mlwarden.models.pickle import check_detached_tail
    from mlwarden.models.streams import RangeReader

    path = tmp_path / "rows.pkl"
    path.write_bytes(pickle.dumps(_rows(60_000), protocol=4))
    size = path.stat().st_size
    with path.open("rb") as f:
        split = parallel.frame_split(f.fileno(), size)
        assert split is not None
        assert check_detached_tail(RangeReader(f.fileno(), split, size - split))
