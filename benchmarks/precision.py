"""Precision and recall of mlwarden's medium-and-above findings on real public repositories (issue 13).

Usage:
    .venv/bin/python benchmarks/precision.py --corpus DIR            # the table, per rule and per repository
    .venv/bin/python benchmarks/precision.py --corpus DIR --unjudged  # also list findings nobody judged yet

DIR holds one checkout per repository of benchmarks/precision/corpus.toml (each at its pinned commit; see the
comment at the top of that file). Each repository is scanned as its own root (`mlwarden scan --format json`,
no policy, the default configuration), and every finding at medium or above is matched with the hand verdicts
in benchmarks/precision/verdicts.jsonl by (repository, rule, path, fingerprint):

* "true"   a real problem a developer should act on (a live secret, a real vulnerable pin, a pickle that runs code)
* "policy" correct, but a matter of the team's policy (an unpinned requirement in a course repository)
* "false"  wrong: the tool misread the file

Precision is true+policy over judged findings, and "false rate" is false over judged findings. Recall is
computed over the findings once judged "true": each must still be reported (same rule, path and fingerprint),
so a fix that removes false alarms cannot silently remove real ones. Results are printed as a Markdown table
and appended to benchmarks/results.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks" / "precision"
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import record  # type: ignore[import-not-found]  # noqa: E402

SEVERE = {"medium", "high", "critical"}


def load_corpus() -> list[dict[str, str]]:
    import tomllib

    repos: list[dict[str, str]] = tomllib.loads((HERE / "corpus.toml").read_text())["repo"]
    return repos


def load_verdicts() -> dict[tuple[str, str, str, str], dict[str, Any]]:
    verdicts = {}
    path = HERE / "verdicts.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                v = json.loads(line)
                verdicts[(v["repo"], v["rule"], v["path"], v["fingerprint"])] = v
    return verdicts


def scan(folder: Path) -> tuple[list[dict[str, Any]], float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mlwarden", "scan", "--format", "json", "--quiet"],
                          cwd=folder, capture_output=True, text=True, check=False, timeout=3600)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1, 2) or not proc.stdout.strip():
        raise SystemExit(f"{folder.name}: mlwarden failed ({proc.returncode}): {proc.stderr[-400:]}")
    results: list[dict[str, Any]] = json.loads(proc.stdout)["results"]
    return [r for r in results if r["severity"] in SEVERE], seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder with one checkout per repository")
    parser.add_argument("--unjudged", action="store_true", help="list findings without a verdict")
    parser.add_argument("--dump", type=Path, help="write every medium+ finding as JSON lines (for judging)")
    args = parser.parse_args()
    verdicts = load_verdicts()
    per_rule: dict[str, Counter[str]] = defaultdict(Counter)
    per_repo: dict[str, Counter[str]] = defaultdict(Counter)
    seen: set[tuple[str, str, str, str]] = set()
    unjudged: list[str] = []
    dump: list[dict[str, Any]] = []
    for repo in load_corpus():
        folder = args.corpus / repo["name"]
        if not folder.is_dir():
            print(f"skipped {repo['name']}: no checkout at {folder}", file=sys.stderr)
            continue
        findings, seconds = scan(folder)
        per_repo[repo["name"]]["seconds"] = round(seconds)
        for f in findings:
            key = (repo["name"], f["rule_id"], f["path"], f["fingerprint"])
            seen.add(key)
            verdict = verdicts.get(key, {}).get("verdict", "unjudged")
            per_rule[f["rule_id"]][verdict] += 1
            per_repo[repo["name"]][verdict] += 1
            if verdict == "unjudged":
                unjudged.append(f"{repo['name']}: {f['path']}:{f['line']}: {f['rule_id']} {f['severity']}: "
                                f"{f['message'][:160]}")
            dump.append({"repo": repo["name"], **f})
    missed = [k for k, v in verdicts.items() if v["verdict"] == "true" and k not in seen
              and (args.corpus / k[0]).is_dir()]
    for repo_name, rule, _path, _fp in missed:
        per_rule[rule]["missed"] += 1
        per_repo[repo_name]["missed"] += 1
    lines = ["| rule | findings | true | policy | false | unjudged | false rate | recall of true |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    total: Counter[str] = Counter()
    for rule in sorted(per_rule):
        c = per_rule[rule]
        total.update(c)
        lines.append(_row(rule, c))
    lines.append(_row("**all**", total))
    repo_lines = ["| repository | findings | true | policy | false | unjudged | seconds |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, c in per_repo.items():
        found = c["true"] + c["policy"] + c["false"] + c["unjudged"]
        repo_lines.append(f"| {name} | {found} | {c['true']} | {c['policy']} | {c['false']} | {c['unjudged']} "
                          f"| {c['seconds']} |")
    text = "\n".join(lines) + "\n\n" + "\n".join(repo_lines)
    if missed:
        print("missed (judged true, no longer reported):")
        for key in missed:
            print("  ", *key)
    if args.unjudged:
        print("\n".join(unjudged))
    if args.dump:
        args.dump.write_text("".join(json.dumps(d) + "\n" for d in dump))
    record("precision on the real-repository corpus", text.splitlines())
    return 0


def _row(rule: str, c: Counter[str]) -> str:
    found = c["true"] + c["policy"] + c["false"] + c["unjudged"]
    judged = c["true"] + c["policy"] + c["false"]
    false_rate = f"{c['false'] / judged:.0%}" if judged else "–"
    known_true = c["true"] + c["missed"]
    recall = f"{c['true']}/{known_true}" if known_true else "–"
    return (f"| {rule} | {found} | {c['true']} | {c['policy']} | {c['false']} | {c['unjudged']} | {false_rate} "
            f"| {recall} |")


if __name__ == "__main__":
    sys.exit(main())
