"""Benchmark: offline audit of a 200-pin lock file against the whole advisory snapshot.

Usage: .venv/bin/python benchmarks/audit.py [--db ../shared/advisory-db]

Builds benchmarks/_work/audit/pylock.toml with 200 real packages and versions taken from the snapshot
(the first PEP 440 version each advisory lists, so the audit has work to do), then measures, each as its own
process:
- `mlwarden audit --db SNAPSHOT` cold (index built into an empty cache folder) and warm (index cached);
- `pip-audit --locked DIR -s osv --osv-url LOOPBACK`, with a loopback OSV server answering from the same
  records (pip-audit has no offline database), started in this process before timing.
Results go to stdout and are appended to benchmarks/results.md.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work" / "audit"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import advisory_snapshot, median_of, record, timed  # type: ignore[import-not-found]  # noqa: E402


def build_lock(db: Path, count: int = 200) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    lock = WORK / "pylock.toml"
    pins: list[tuple[str, str]] = []
    for folder in sorted((db / "vulns").iterdir()):
        for record_path in sorted(folder.glob("*.yaml")):
            record = yaml.safe_load(record_path.read_text())
            versions = record.get("affected", [{}])[0].get("versions") or []
            good = [v for v in map(str, versions) if _pep440(v)]
            if good:
                pins.append((folder.name, good[0]))
                break
        if len(pins) == count:
            break
    body = 'lock-version = "1.0"\ncreated-by = "mlwarden-benchmark"\n'
    for name, version in pins:
        body += f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\nindex = "https://pypi.org/simple"\n'
    lock.write_text(body)
    return lock


def _pep440(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def main() -> int:
    db = advisory_snapshot()
    if db is None:
        return 2
    lock = build_lock(db)
    bin_dir = Path(sys.executable).parent
    cache = WORK / "cache"
    audit = [sys.executable, "-m", "mlwarden", "audit", str(lock), "--db", str(db), "--cache-dir", str(cache),
             "--format", "json"]
    shutil.rmtree(cache, ignore_errors=True)
    cold, code, _ = timed(audit, WORK)
    warm, _ = median_of(audit, WORK, 5)
    lines = [f"offline audit, {lock.name} with 200 pins, snapshot {db.name}:",
             f"  mlwarden audit, cold (index built):   {cold:.2f} s (exit {code})",
             f"  mlwarden audit, warm (index cached):  {warm:.2f} s (median of 5; target <= 0.5 s)"]
    pip_audit = bin_dir / "pip-audit"
    if pip_audit.exists():
        from tests.deps.osv_server import serve

        from mlwarden.deps.osv import OsvDatabase

        with serve(OsvDatabase.load(db, cache)) as url:
            seconds, code = median_of([str(pip_audit), "--locked", str(WORK), "-s", "osv", "--osv-url", url,
                                       "--progress-spinner", "off", "-f", "json"], WORK, 3)
        lines.append(f"  pip-audit --locked, loopback OSV:     {seconds:.2f} s (median of 3, exit {code})")
        lines.append(f"  warm mlwarden is {seconds / warm:.1f}x faster")
    lines += agreement(db, cache, bin_dir)
    record("audit (benchmarks/audit.py)", lines)
    return 0


def agreement(db: Path, cache: Path, bin_dir: Path) -> list[str]:
    """Same inputs, both tools, on real lock files (tests/data/locks): mlwarden reads the lock itself; pip-audit
    (which reads neither uv.lock nor poetry.lock) gets the same releases as a hashed, pinned requirements file
    (uv's own export for uv.lock; [[package]] + [metadata.files] read with tomllib for poetry.lock) and runs with
    --no-deps --disable-pip against a loopback OSV server holding the same records. Components, hashes and
    (package, advisory) pairs are compared."""
    if not (bin_dir / "pip-audit").exists():
        return ["  agreement: pip-audit is not installed"]
    locks = ROOT / "tests" / "data" / "locks"
    lines = []
    for project, lock in ((locks / "uv-spectree", "uv.lock"), (locks / "poetry-1.x-metadata-files", "poetry.lock")):
        requirements = WORK / f"{project.name}-requirements.txt"
        if lock == "uv.lock":
            shutil.copy(project / "uv-export.txt", requirements)
        else:
            requirements.write_text(_poetry_requirements(project / lock))
        lines += _compare(project, lock, requirements, db, cache, bin_dir)
    return lines


def _poetry_requirements(lock: Path) -> str:
    import tomllib

    data = tomllib.loads(lock.read_text())
    files = data.get("metadata", {}).get("files", {})
    out = []
    for package in data["package"]:
        hashes = [f["hash"] for f in package.get("files") or files.get(package["name"], [])]
        out.append(f"{package['name']}=={package['version']}" + "".join(f" --hash={h}" for h in hashes))
    return "\n".join(out) + "\n"


def _compare(project: Path, lock: str, requirements: Path, db: Path, cache: Path, bin_dir: Path) -> list[str]:
    import json
    import subprocess

    from tests.deps.osv_server import serve

    from mlwarden.deps.formats import parse_file
    from mlwarden.deps.osv import OsvDatabase

    ours = subprocess.run([sys.executable, "-m", "mlwarden", "audit", lock, "--db", str(db), "--cache-dir", str(cache),
                           "--format", "json", "--fail-on", "critical"], cwd=project, capture_output=True, text=True)
    results = json.loads(ours.stdout)["results"]
    our_pairs = {(r["details"]["key"].split(":", 1)[1].lower(), r["details"]["key"].split(":", 1)[0])
                 for r in results if r["rule_id"] in ("MW311", "MW313")}
    [manifest] = parse_file(project / lock, project)
    with serve(OsvDatabase.load(db, cache)) as url:
        theirs = subprocess.run([str(bin_dir / "pip-audit"), "-r", str(requirements), "--no-deps", "--disable-pip",
                                 "-s", "osv", "--osv-url", url, "--progress-spinner", "off", "-f", "json"],
                                cwd=WORK, capture_output=True, text=True)
    deps = json.loads(theirs.stdout).get("dependencies", [])
    their_pairs = {(d["name"].lower(), v["id"]) for d in deps for v in d.get("vulns", [])}
    return [f"  {project.name}/{lock} (real lock): components mlwarden {len(manifest.pins)} / pip-audit {len(deps)}; "
            f"hashes mlwarden {sum(len(p.hashes) for p in manifest.pins)} / requirements "
            f"{requirements.read_text().count('--hash=')}; (package, advisory) pairs mlwarden {len(our_pairs)} / "
            f"pip-audit {len(their_pairs)} / both {len(our_pairs & their_pairs)}"]


if __name__ == "__main__":
    raise SystemExit(main())
