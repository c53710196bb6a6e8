"""Benchmark: `mlwarden sbom generate` / `sbom validate` side by side with cyclonedx-py on the same inputs:
components, purls, hashes, time.

Usage: .venv/bin/python benchmarks/sbom.py [--db ../shared/advisory-db]

Inputs, each in its own folder under a temporary directory outside the repository (inside it, mlwarden would
find the repository's root and describe mlwarden itself):
1. `pins`: 200 pinned requirements (real names and versions from the advisory snapshot, as in audit.py);
2. `hashed`: the requirements file `uv export` writes for the real uv.lock in tests/data/sbom/uv-duck-pypi
   (85 packages, 334 hashes), when uv is installed;
3. `uvlock`: that uv.lock itself, compared with `uv export --format cyclonedx1.5` (uv's own SBOM);
4. the benchmark's own virtualenv: `mlwarden sbom generate --installed` against `cyclonedx-py environment`
   (components, licences, graph edges; cyclonedx-py ignores Requires-Dist markers, extras included).
Each command runs as its own process; medians of three runs. cyclonedx-py validates its output by default
(with jsonschema's format checkers); `--no-validate` is timed too. Results are printed and appended to
benchmarks/results.md.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UV_PROJECT = ROOT / "tests" / "data" / "sbom" / "uv-duck-pypi"
sys.path.insert(0, str(ROOT / "benchmarks"))


def _components(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    doc = json.loads(path.read_text())
    root = doc.get("metadata", {}).get("component", {}).get("name")
    return {(c["name"].lower().replace("_", "-"), c.get("version", "")): c for c in doc.get("components", [])
            if c.get("name") != root}


def _hashes(component: dict[str, Any]) -> set[str]:
    """Hashes on the component (ours) or on its distribution references (cyclonedx-py's and uv's)."""
    found = {h["content"] for h in component.get("hashes", [])}
    for ref in component.get("externalReferences", []):
        found |= {h["content"] for h in ref.get("hashes", [])}
    return found


def _licence_ids(component: dict[str, Any]) -> set[str]:
    ids = set()
    for entry in component.get("licenses", []):
        if "expression" in entry:
            ids.add(entry["expression"])
        elif "id" in entry.get("license", {}):
            ids.add(entry["license"]["id"])
    return ids


def _edges(path: Path) -> int:
    return sum(len(d.get("dependsOn", [])) for d in json.loads(path.read_text()).get("dependencies", [])
               if not d["ref"].startswith("project:"))


def _compare(ours: Path, theirs: Path) -> list[str]:
    a, b = _components(ours), _components(theirs)
    purls_a = {c.get("purl") for c in a.values()}
    purls_b = {c.get("purl") for c in b.values()}
    hashes_a = sum(len(_hashes(c)) for c in a.values())
    hashes_b = sum(len(_hashes(c)) for c in b.values())
    same_hashes = sum(1 for k in a.keys() & b.keys() if _hashes(a[k]) == _hashes(b[k]))
    return [f"    components: mlwarden {len(a)}, other {len(b)}, same (name, version) {len(a.keys() & b.keys())}",
            f"    purls identical: {len(purls_a & purls_b)} of {len(purls_b)}",
            f"    hashes: mlwarden {hashes_a}, other {hashes_b}; components with the same hash set: "
            f"{same_hashes} of {len(a.keys() & b.keys())}"]


def main() -> int:
    import tempfile

    from audit import build_lock  # type: ignore[import-not-found]
    from common import advisory_snapshot, median_of, record, timed  # type: ignore[import-not-found]

    db = advisory_snapshot()
    if db is None:
        return 2
    bin_dir = Path(sys.executable).parent
    mlwarden = [sys.executable, "-m", "mlwarden"]
    cyclonedx = bin_dir / "cyclonedx-py"
    uv = shutil.which("uv", path=str(bin_dir)) or shutil.which("uv")
    lines: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="mlwarden-sbom-bench-"))

    def ours(folder: Path) -> tuple[float, float]:
        gen = [timed([*mlwarden, "sbom", "generate", "-o", "mlwarden.cdx.json"], folder) for _ in range(3)]
        val = [timed([*mlwarden, "sbom", "validate", "mlwarden.cdx.json"], folder) for _ in range(3)]
        assert all(r[1] == 0 for r in gen + val), (gen, val)
        return statistics.median(r[0] for r in gen), statistics.median(r[0] for r in val)

    def cyclonedx_requirements(folder: Path) -> tuple[float, float]:
        base = [str(cyclonedx), "requirements", "requirements.txt", "--of", "JSON", "--sv", "1.6",
                "--output-reproducible"]
        fast, _ = median_of([*base, "--no-validate", "-o", "cyclonedx.cdx.json"], folder, 3)
        slow, code = median_of([*base, "-o", "cyclonedx.cdx.json"], folder, 3)
        assert code == 0
        return fast, slow

    def section(title: str, folder: Path) -> None:
        gen, val = ours(folder)
        lines.append(title)
        lines.append(f"  mlwarden sbom generate:                  {gen:.2f} s;  + sbom validate {val:.2f} s "
                     f"(formats checked)")
        if cyclonedx.exists():
            fast, slow = cyclonedx_requirements(folder)
            lines.append(f"  cyclonedx-py requirements --no-validate: {fast:.2f} s")
            lines.append(f"  cyclonedx-py requirements (validating):  {slow:.2f} s")
            lines.append(f"  generation: {slow / gen:.1f}x faster than cyclonedx-py's default (target >= 10x), "
                         f"{fast / gen:.1f}x without its validation; generate + validate {slow / (gen + val):.1f}x")
            lines.extend(_compare(folder / "mlwarden.cdx.json", folder / "cyclonedx.cdx.json"))

    # 1. 200 pinned requirements
    pins_dir = work / "pins"
    pins_dir.mkdir(parents=True, exist_ok=True)
    lock = build_lock(db)
    pins = [line.split('"')[1] for line in lock.read_text().splitlines() if line.startswith(("name", "version"))]
    (pins_dir / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "1.0"\n')
    (pins_dir / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in zip(pins[::2], pins[1::2],
                                                                                      strict=True)))
    section("SBOM of 200 pinned requirements (medians of 3):", pins_dir)

    if uv is not None:
        # 2. the hashed requirements uv exports from a real lock
        hashed = work / "hashed"
        hashed.mkdir(parents=True, exist_ok=True)
        project = work / "uvlock"
        project.mkdir(parents=True, exist_ok=True)
        for name in ("uv.lock", "pyproject.toml"):
            shutil.copy(UV_PROJECT / name, project / name)
        exported = timed([uv, "export", "--format", "requirements-txt", "--frozen", "--offline", "--no-progress",
                          "--no-emit-project", "--no-header"], project)
        (hashed / "requirements.txt").write_text(exported[2])
        (hashed / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "1.0"\n')
        section("SBOM of the hashed requirements `uv export` writes for a real uv.lock (85 packages):", hashed)
        # 3. the uv.lock itself against uv's own CycloneDX export
        gen, _ = ours(project)
        seconds, code = median_of([uv, "export", "--format", "cyclonedx1.5", "--frozen", "--offline", "--no-progress",
                                   "--preview-features", "sbom-export", "-o", "uv.cdx.json"], project, 3)
        lines.append("SBOM of that uv.lock, against `uv export --format cyclonedx1.5` (uv's own, Rust):")
        lines.append(f"  mlwarden sbom generate: {gen:.2f} s; uv export: {seconds:.2f} s (exit {code})")
        lines.extend(_compare(project / "mlwarden.cdx.json", project / "uv.cdx.json"))
        ours_doc = json.loads((project / "mlwarden.cdx.json").read_text())
        edges = sum(len(d.get("dependsOn", [])) for d in ours_doc["dependencies"])
        lines.append(f"    dependency graph: {edges} edges, identical to uv's (tests/sbom/test_fidelity.py)")
    if cyclonedx.exists():
        # 4. an installed environment: this interpreter's
        env_dir = work / "env"
        env_dir.mkdir(parents=True, exist_ok=True)
        venv = Path(sys.prefix)
        env_runs = [timed([*mlwarden, "sbom", "generate", "--installed", str(venv), "-o", "mlwarden.cdx.json"],
                          env_dir) for _ in range(3)]
        assert all(r[1] == 0 for r in env_runs), env_runs
        fast, _ = median_of([str(cyclonedx), "environment", sys.executable, "--of", "JSON", "--sv", "1.6",
                             "--output-reproducible", "--no-validate", "-o", "cyclonedx.cdx.json"], env_dir, 3)
        slow, _ = median_of([str(cyclonedx), "environment", sys.executable, "--of", "JSON", "--sv", "1.6",
                             "--output-reproducible", "-o", "cyclonedx.cdx.json"], env_dir, 3)
        mine = statistics.median(r[0] for r in env_runs)
        lines.append(f"Installed environment ({venv}):")
        lines.append(f"  mlwarden sbom generate --installed: {mine:.2f} s; cyclonedx-py environment: {slow:.2f} s "
                     f"(validating), {fast:.2f} s (--no-validate); {slow / mine:.1f}x / {fast / mine:.1f}x")
        lines.extend(_compare(env_dir / "mlwarden.cdx.json", env_dir / "cyclonedx.cdx.json"))
        a, b = _components(env_dir / "mlwarden.cdx.json"), _components(env_dir / "cyclonedx.cdx.json")
        both = a.keys() & b.keys()
        with_ids = [k for k in both if _licence_ids(a[k]) and _licence_ids(b[k])]
        agree = sum(1 for k in with_ids if _licence_ids(a[k]) <= _licence_ids(b[k]))
        lines.append(f"    licences: mlwarden {sum(1 for c in a.values() if c.get('licenses'))}, cyclonedx-py "
                     f"{sum(1 for c in b.values() if c.get('licenses'))} components with one; where both give SPDX "
                     f"ids, ours among theirs for {agree} of {len(with_ids)}")
        lines.append(f"    graph edges: mlwarden {_edges(env_dir / 'mlwarden.cdx.json')} (markers evaluated, no "
                     f"extras), cyclonedx-py {_edges(env_dir / 'cyclonedx.cdx.json')} (markers ignored)")
    record("sbom (benchmarks/sbom.py)", lines)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
