"""A longer fuzz run than the test suite's: mutate real seed inputs for every reader for --minutes, and save one
reproducer per distinct failure (exception type and innermost mlwarden frame, or the broken property).

    PYTHONPATH=src python scripts/fuzz.py --minutes 10                  # every target
    PYTHONPATH=src python scripts/fuzz.py --minutes 5 --target deps --target osv --out /tmp/fz

Targets, seeds and properties are those of tests/fuzz/ (see tests/fuzz/targets.py). Failures are written to
--out/<area>/<target>__<signature>__<digest>__<file name>.repro, with a .txt beside it holding the traceback;
move the ones worth keeping to tests/corpus/<area>/ (tests/fuzz/test_corpus.py replays everything there).
Deterministic for a given --seed. With atheris installed (`pip install atheris`) and --atheris,
coverage-guided mutation (libFuzzer) drives one target instead.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.fuzz.mutate import RandomChooser, dump, mutate_bytes, mutate_value, to_corpus  # noqa: E402
from tests.fuzz.targets import TARGETS, Target, load_structured, signature  # noqa: E402


def mutate(target: Target, name: str, seed: bytes, chooser: RandomChooser) -> bytes:
    kind = target.structured.get(name)
    if kind is not None and chooser.integer(0, 1):
        with contextlib.suppress(Exception):  # a value the dumper cannot write: fall back to bytes
            return dump(mutate_value(load_structured(seed, kind), chooser, toml=kind == "toml"), kind).encode()
    return mutate_bytes(seed, chooser)


def run_one(target: Target, name: str, data: bytes) -> BaseException | None:
    with tempfile.TemporaryDirectory(prefix="mlwarden-fuzz-") as tmp:
        try:
            target.run(Path(tmp), name, data)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, none stops the run
            return exc
    return None


def save(out: Path, target: Target, name: str, data: bytes, exc: BaseException, sig: str) -> Path:
    folder = out / target.area
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:10]
    path = folder / f"{target.name}__{sig}__{digest}__{name.replace('/', '~')}.repro"
    path.write_bytes(to_corpus(data))
    path.with_name(path.name + ".txt").write_text(
        f"target: {target.name}\nfile: {name}\n\n" + "".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def random_run(targets: list[Target], minutes: float, seed: int, out: Path) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 - reproducible mutations, not secrets
    chooser = RandomChooser(rng)
    seen: dict[str, int] = {}
    deadline = time.monotonic() + minutes * 60
    runs = 0
    seed_cache = {t.name: t.seeds() for t in targets}
    while time.monotonic() < deadline:
        target = rng.choice(targets)
        name = rng.choice(sorted(seed_cache[target.name]))
        data = mutate(target, name, seed_cache[target.name][name], chooser)
        exc = run_one(target, name, data)
        runs += 1
        if exc is not None:
            sig = f"{target.name}:{signature(exc)}"
            if sig not in seen:
                path = save(out, target, name, data, exc, signature(exc))
                print(f"new failure {sig}\n  -> {path}", flush=True)
            seen[sig] = seen.get(sig, 0) + 1
    print(f"{runs} inputs, {len(seen)} distinct failures", flush=True)
    return seen


def atheris_run(target: Target, minutes: float, out: Path) -> dict[str, int]:  # pragma: no cover - optional
    """libFuzzer's coverage-guided mutation over one target. The first byte of an input picks the seed file; the
    rest is that file's content. Failures are saved (one per signature) and fuzzing goes on."""
    import atheris  # type: ignore[import-untyped,unused-ignore]

    atheris.instrument_all()  # coverage of every loaded module, mlwarden included
    os.environ["MLWARDEN_FUZZ_ALARM"] = "0"  # libFuzzer's -timeout replaces the per-run SIGALRM
    seeds = target.seeds()
    names = sorted(seeds)
    seen: dict[str, int] = {}

    def one(data: bytes) -> None:
        if not data:
            return
        name = names[data[0] % len(names)]
        payload = data[1:]
        exc = run_one(target, name, payload)
        if exc is not None:
            sig = signature(exc)
            if sig not in seen:
                print(f"new failure {target.name}:{sig}\n  -> {save(out, target, name, payload, exc, sig)}",
                      flush=True)
            seen[sig] = seen.get(sig, 0) + 1

    corpus = Path(tempfile.mkdtemp(prefix="mlwarden-atheris-"))
    for index, name in enumerate(names):
        (corpus / f"seed{index}").write_bytes(bytes([index]) + seeds[name])
    atheris.Setup([sys.argv[0], f"-max_total_time={max(1, int(minutes * 60))}", "-rss_limit_mb=4096", "-timeout=20",
                   str(corpus)], one)
    try:
        atheris.Fuzz()
    except SystemExit:
        pass
    finally:
        shutil.rmtree(corpus, ignore_errors=True)
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="repeatable; default: all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "mlwarden-fuzz")
    parser.add_argument("--clean", action="store_true", help="empty --out first")
    parser.add_argument("--atheris", action="store_true", help="coverage-guided, one target (needs atheris)")
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_COLOR", "1")
    if args.clean and args.out.exists():
        shutil.rmtree(args.out)
    # a target without seeds (tree: replays scripts/hostile_campaign.py's specs) has nothing to mutate
    targets = [TARGETS[n] for n in (args.target or sorted(TARGETS)) if TARGETS[n].seeds()]
    if args.atheris:
        seen = atheris_run(targets[0], args.minutes, args.out)
    else:
        seen = random_run(targets, args.minutes, args.seed, args.out)
    for sig, count in sorted(seen.items()):
        print(f"{count:6d}  {sig}")
    return 1 if seen else 0


if __name__ == "__main__":
    sys.exit(main())
