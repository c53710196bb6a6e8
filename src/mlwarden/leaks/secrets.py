"""Secrets through detect-secrets' plugins and filters (plus ours in leaks/plugins.py).

detect-secrets runs every plugin and filter on every line, which is why it scans at a fraction of a MB/s. A
line can only produce a finding if it holds a keyword, a quoted high-entropy-looking string, or one of the
token shapes the plugins know; one compiled pattern finds those lines (in C, over the whole text), and only
they go through detect-secrets. Its line-level processing is internal (`_process_line_based_plugins`), so
this module is the one adapter, and the `secrets` extra pins its minor version.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Keywords are matched on the lower-cased text: a case-insensitive alternation is about sixty times slower.
KEYWORDS = re.compile(r"pass|pwd|secret|key|token|auth|cred|api|private|bearer|session|cookie|login|netrc")
CANDIDATE = re.compile(
    r"[\"'][A-Za-z0-9+/=_.\-]{16,}[\"']"
    r"|AKIA|ASIA|://[^/\s:@]+:[^/\s@]+@|-----BEGIN|eyJ|gh[pousr]_|glpat-|xox[abposr]-|sk_live|rk_live|sk_test"
    r"|SG\.|npm_|pypi-|sk-|hf_|api_org_|AIza|dapi|r8_|gsk_|sq0|SK[0-9a-f]{32}|AC[0-9a-z]{32}"
    r"|:[A-Za-z0-9_-]{35}|-us\d{1,2}\b|AKC|AP[0-9A-F]")
# Public IP addresses are personal data here (MW402), not secrets.
_SKIPPED_PLUGINS = {"IPPublicDetector"}
MAX_LINE = 4096  # longer lines (minified data, base64 images) are cut before the plugins see them
_COMMIT_OR_DIGEST = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


@dataclass(frozen=True)
class Secret:
    type: str
    line: int
    value: str
    hashed: str

    @property
    def masked(self) -> str:
        return f"{self.value[:4]}… ({len(self.value)} characters)"


class Detector:
    """detect-secrets with every default plugin and filter, configured once per process, plus our plugins."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._ours: list[Any] = []

    def __enter__(self) -> Detector:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.settings import transient_settings

        from mlwarden.leaks import plugins

        mapping: dict[str, Any] = get_mapping_from_secret_type_to_class()
        names = [plugin.__name__ for plugin in mapping.values()]
        defaults = [{"name": name} for name in names if name not in _SKIPPED_PLUGINS]
        self._stack.enter_context(transient_settings({"plugins_used": defaults}))
        # Our detectors are detect-secrets plugins too; its settings loader cannot register plugins from a
        # file while it validates the list (it looks them up before reading their path), so we call them
        # through the same plugin interface, with the same allowlist filter.
        self._ours = [plugins.HuggingFaceDetector(), plugins.WeightsAndBiasesDetector(), plugins.KaggleDetector(),
                      plugins.AnthropicDetector(), plugins.OpenAIProjectKeyDetector(), plugins.CloudMLTokenDetector()]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def scan(self, lines: list[str], filename: str, first_line: int = 1) -> list[Secret]:
        from detect_secrets.core.scan import _process_line_based_plugins
        from detect_secrets.filters.allowlist import is_line_allowlisted
        from detect_secrets.util.code_snippet import get_code_snippet

        indexes = sorted(set(candidate_lines(lines, CANDIDATE)) | set(candidate_lines(lines, KEYWORDS, lower=True)))
        candidates = [(first_line + i, lines[i][:MAX_LINE]) for i in indexes]
        if not candidates:
            return []
        found: dict[tuple[str, int, str], Secret] = {}
        for secret in _process_line_based_plugins(candidates, filename):
            if secret.type == "Hex High Entropy String" and _COMMIT_OR_DIGEST.match(secret.secret_value or ""):
                continue  # a git commit or a sha256: what pinning asks people to write, not a credential
            key = (secret.type, secret.line_number, secret.secret_hash)
            found[key] = Secret(secret.type, secret.line_number, secret.secret_value or "", secret.secret_hash)
        content = [line for _, line in candidates]
        for index, (number, line) in enumerate(candidates):
            hits = [s for plugin in self._ours for s in plugin.analyze_line(filename=filename, line=line,
                                                                            line_number=number)]
            if not hits:
                continue
            context = get_code_snippet(lines=content, line_number=index + 1)
            if is_line_allowlisted(filename, line, context):
                continue
            for secret in hits:
                key = (secret.type, number, secret.secret_hash)
                found[key] = Secret(secret.type, number, secret.secret_value or "", secret.secret_hash)
        return sorted(found.values(), key=lambda s: (s.line, s.type))


def candidate_lines(lines: list[str], pattern: re.Pattern[str], *, lower: bool = False) -> list[int]:
    """Indexes of the lines where ``pattern`` matches, found in one pass over the joined text (in C) instead
    of one search call per line."""
    import bisect

    if lower:  # per line, so that offsets stay right even where lower() changes a length
        lines = [line.lower() for line in lines]
    text = "\n".join(lines)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    found: list[int] = []
    position = 0
    while True:
        match = pattern.search(text, position)
        if match is None:
            return found
        index = bisect.bisect_right(starts, match.start()) - 1
        found.append(index)
        position = starts[index + 1] if index + 1 < len(starts) else len(text) + 1  # next line


def load_baseline(root: Path) -> dict[str, set[str]]:
    """filename -> hashed secrets known to an existing detect-secrets baseline (.secrets.baseline)."""
    path = root / ".secrets.baseline"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        results = data.get("results", {})
        return {str(name): {str(item["hashed_secret"]) for item in items if "hashed_secret" in item}
                for name, items in results.items() if isinstance(items, list)}
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError):
        return {}

