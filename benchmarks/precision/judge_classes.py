"""Verdicts by class for findings of the precision corpus, written after reading samples of every class.

Each rule below encodes a judgement made by reading the files at the findings' lines (issue 13): cassettes'
ids read as secrets, placeholders, floats read as card numbers, Hub loads without a commit in examples, and so
on. It only judges classes seen so far; anything else is printed as UNJUDGED and must be read by hand. Existing
verdicts in verdicts.jsonl are kept. Usage, after a merge changed findings or fingerprints:

    python benchmarks/precision.py --corpus DIR --dump findings.jsonl
    python benchmarks/precision/judge_classes.py findings.jsonl   # then read a sample of each class it judged
"""

from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path
from typing import Any

VERDICTS = Path(__file__).resolve().parent / "verdicts.jsonl"


def verdict(r: dict[str, Any]) -> tuple[str, str] | None:
    rule, path, msg = r["rule_id"], r["path"], r["message"]
    low = path.lower()
    if rule == "MW401":
        if path == "scripts/scrub_cassette.py" and msg.startswith("AWS Access Key"):
            return "true", "hard-coded AWS session key id ASIA… (the one the scrubber must remove from cassettes)"
        if "cassettes/" in path:
            return (
                "false",
                "recorded HTTP cassette: response/tool/message ids, reasoning"
                " signatures, encrypted_content, base64 media, ETags",
            )
        if path.endswith(".secrets.baseline"):
            return "false", "detect-secrets baseline: hashed_secret digests"
        if msg.startswith("Secret Keyword"):
            return (
                "false",
                "placeholder or test value (your-api-key, test-key, mock-api-key,"
                " example, secrets: inherit, env-var name list)",
            )
        if msg.startswith("Basic Auth"):
            return (
                "false",
                "documented default/local credentials"
                " (postgres:postgres@localhost, username:password, DB_USER:DB_PASSWORD)",
            )
        if msg.startswith("AWS Access Key"):
            if "dna_lm" in path:
                return "false", "DNA sequence (A, C, G, T) read as an AWS key id"
            if "test_bedrock.py" in path:
                return "false", "fake fixture: AKIA followed by sixteen 6s"
            return "false", "AWS key id pattern inside base64 audio/media"
        if msg.startswith("IBM Cloud IAM"):
            return "false", "logfire variable key name gh_aw_... read as IBM IAM key"
        if msg.startswith("GitHub Token"):
            return "false", "Gemini thoughtSignature (base64url) read as GitHub token"
        if msg.startswith("Hex High Entropy"):
            return "false", "hex id/digest (video id, ETag, schema id, content hash)"
        if msg.startswith("Base64 High Entropy"):
            if "integrity" in json.dumps(r) or low.endswith((".html",)):
                return "false", "subresource-integrity sha384/sha512 hash"
            return (
                "false",
                "identifier read as base64 secret (Hub repo id, tool/response id, base64 sample event, test string)",
            )
        return None
    if rule == "MW402":
        if low.endswith("pyproject.toml") and "email" in msg:
            return "policy", "maintainer email in package metadata: public on purpose"
        if "peft_lora_clm_with_additional_tokens" in path and "phone" in msg:
            return "policy", "a restaurant's public phone number in Schema-Guided Dialogue outputs: real, not personal"
        if low.endswith("wdbc.names.txt"):
            return "policy", "dataset donors' contact emails in the UCI dataset description: public"
        if "payment-card" in msg:
            return "false", "digits of floats/hashes/ids/coordinates/scaled features read as card numbers"
        if "phone" in msg:
            return "false", "digits of floats/timings/project ids/SVG paths read as phone numbers"
        if "ipv4" in msg:
            return "false", "version strings, server/SSRF test/documentation IPs: not personal"
        if "email" in msg:
            return "false", "text like thedecorator...@agent.instructions read as an email"
        return "false", "not personal data"
    if rule == "MW403":
        if "results/tables" in path or "catboost_info" in path:
            return "false", "training metrics/log table, not a dataset"
        return "policy", "course/sample dataset committed on purpose"
    if rule == "MW101":
        return (
            "policy",
            "dill pickle of the project's own sklearn model: globals are dill internals"
            " (_create_array, _load_type), not a payload; critical is too high",
        )
    if rule == "MW104":
        return "policy", "dill pickle of the project's own model: calls dill internals (_load_type), not a payload"
    if rule == "MW103":
        return (
            "policy",
            "sklearn model pickle importing numpy/sklearn names off the safe list: benign, a policy decision",
        )
    if rule == "MW105":
        return "false", "text file (.md, LICENSE) read as a protocol-0 pickle"
    if rule == "MW301":
        if "{{" in msg:
            return "false", "template requirement ({{ cookiecutter.* }})"
        return "policy", "unpinned requirement in a library/course/example requirements file"
    if rule in ("MW303", "MW304"):
        return "policy", "VCS requirement without a pinned commit / allowlist entry"
    if rule == "MW307":
        if re.search(r"'(httpx2|httpcore2)'", msg):
            return "false", "httpx2/httpcore2: the real successor packages anthropic>=1 is built on"
        return None
    if rule == "MW308":
        if "{{" in msg or "{{" in path:
            return "false", "cookiecutter template requirement, not a requirement until rendered"
        if "shape of a token" in msg:
            return "false", "hf_transfer, a real package, read as a token-shaped name (hf_ prefix)"
        return None
    if rule == "MW316":
        return (
            "false",
            "hatch uv-dynamic-versioning: dependencies are listed in"
            " [tool.hatch.metadata.hooks.uv-dynamic-versioning] and locked in uv.lock, which is checked",
        )
    if rule == "MW701":
        if "tests/" in path or path.startswith("tests"):
            return "policy", "test loads a Hub repository (often a tiny test model) without a pinned commit"
        return "policy", "example/script loads a Hub repository without a pinned commit"
    if rule == "MW703":
        return "policy", "example opts into trust_remote_code=True (runs Hub code, unpinned): team policy"
    if rule == "MW704":
        if "save_and_load.py" in path:
            return "false", "wrapper passes weights_only=weights_only, default True"
        return (
            "policy",
            "torch.load without weights_only= of a local cache/model the code saved (default True on torch>=2.6)",
        )
    if rule == "MW705":
        if "pickle.dumps" in json.dumps(r):
            return "false", "pickle.loads(pickle.dumps(x)) round trip"
        return "policy", "pickle/joblib/read_pickle of the project's own artifacts"
    if rule == "MW708":
        if "criteo.py" in path:
            return (
                "policy",
                "inside a hand-written safe_extract (commonprefix check,"
                " symlinks unchecked): filter='data' still better",
            )
        return "policy", "extractall of a downloaded dataset archive without filter= (aclImdb)"
    if rule == "MW710":
        if "{{" in path:
            return "false", "cookiecutter template file, not Python until rendered"
        return "policy", "notebook cell that is not valid Python (error demo or typo); the other cells were checked"
    return None


def main() -> int:
    verdicts: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    if VERDICTS.is_file():
        for line in VERDICTS.read_text().splitlines():
            if line.strip():
                v = json.loads(line)
                verdicts[(v["repo"], v["rule"], v["path"], v["fingerprint"])] = v
    for dump in sys.argv[1:]:
        for line in Path(dump).read_text().splitlines():
            r = json.loads(line)
            key = (r["repo"], r["rule_id"], r["path"], r["fingerprint"])
            if key in verdicts:
                continue
            judged = verdict(r)
            if judged is None:
                print("UNJUDGED", r["repo"], r["rule_id"], r["path"], r["line"], r["message"][:120], file=sys.stderr)
                continue
            verdicts[key] = {
                "repo": r["repo"],
                "rule": r["rule_id"],
                "path": r["path"],
                "fingerprint": r["fingerprint"],
                "line": r["line"],
                "verdict": judged[0],
                "note": judged[1],
            }
    VERDICTS.write_text("".join(json.dumps(verdicts[k]) + "\n" for k in sorted(verdicts)))
    print(collections.Counter((v["rule"], v["verdict"]) for v in verdicts.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
