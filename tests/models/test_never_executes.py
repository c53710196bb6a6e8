"""A folder of every hostile sample, scanned through the CLI: findings, and the marker never appears."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests import payloads


def test_scanning_every_payload_runs_none_of_them(tmp_path: Path, marker: Path) -> None:
    folder = tmp_path / "samples"
    folder.mkdir()
    for name, build in payloads.PICKLE_PAYLOADS.items():
        data = build(marker)
        (folder / f"{name}.bin").write_bytes(data)
        (folder / f"{name}.pt").write_bytes(payloads.torch_like_zip(data))
    proc = subprocess.run([sys.executable, "-m", "mlwarden", "models", str(folder), "--format", "json"],
                          capture_output=True, text=True, cwd=tmp_path, check=False, timeout=300)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    flagged = {Path(r["path"]).name for r in report["results"] if r["severity"] in ("high", "critical")}
    expected = {p.name for p in folder.iterdir()}
    assert flagged == expected
    assert not marker.exists()
