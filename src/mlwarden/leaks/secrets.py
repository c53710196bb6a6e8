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

from mlwarden.findings import Severity
from mlwarden.leaks import triage
from mlwarden.leaks.triage import Place

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
    index: int = -1  # into the scanned lines, to read the line's inline suppression
    severity: Severity = Severity.HIGH

    @property
    def masked(self) -> str:
        return f"{self.value[:4]}… ({len(self.value)} characters)"


# detect-secrets' default filters, less one: `is_indirect_reference` drops whole lines such as
# `client = OpenAI(api_key="sk-…")`, so its token plugins miss the commonest way keys are written in ML code.
# It is meant for `password = get_password()`, so triage applies it to keyword findings only.
_LINE_FILTER_FOR_KEYWORDS_ONLY = "detect_secrets.filters.heuristic.is_indirect_reference"


class Detector:
    """detect-secrets with every default plugin and filter, configured once per process, plus our plugins."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._ours: list[Any] = []
        self._by_type: dict[str, Any] = {}

    def __enter__(self) -> Detector:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.settings import Settings, transient_settings

        from mlwarden.leaks import plugins

        mapping: dict[str, Any] = get_mapping_from_secret_type_to_class()
        names = [plugin.__name__ for plugin in mapping.values()]
        defaults = [{"name": name} for name in names if name not in _SKIPPED_PLUGINS]
        filters = [{"path": path} for path in sorted(Settings().filters) if path != _LINE_FILTER_FOR_KEYWORDS_ONLY]
        self._stack.enter_context(transient_settings({"plugins_used": defaults, "filters_used": filters}))
        from detect_secrets.settings import get_plugins

        self._by_type = {plugin.secret_type: plugin for plugin in get_plugins()}
        # Our detectors are detect-secrets plugins too; its settings loader cannot register plugins from a
        # file while it validates the list (it looks them up before reading their path), so we call them
        # through the same plugin interface and the same filters (`_filtered`).
        self._ours = [plugins.HuggingFaceDetector(), plugins.WeightsAndBiasesDetector(), plugins.KaggleDetector(),
                      plugins.AnthropicDetector(), plugins.OpenAIProjectKeyDetector(), plugins.CloudMLTokenDetector()]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def scan(self, lines: list[str], filename: str, first_line: int = 1, *, place: Place | None = None,
             numbers: list[int] | None = None) -> list[Secret]:
        """Candidates of every plugin that pass detect-secrets' filters and ours (`triage`), each with the
        severity its place and evidence give it. ``numbers`` gives each line's number when they are not
        consecutive (a long line cut in pieces)."""
        from detect_secrets.core.scan import _process_line_based_plugins
        from detect_secrets.util.code_snippet import get_code_snippet

        place = place or Place()
        indexes = sorted(set(candidate_lines(lines, CANDIDATE)) | set(candidate_lines(lines, KEYWORDS, lower=True)))
        if not indexes:
            return []
        # detect-secrets numbers lines itself and reads its context snippet by that number: number the
        # candidates 1..n among themselves, and map back to the file's numbering at the end.
        candidates = [(position + 1, lines[i][:MAX_LINE].rstrip()) for position, i in enumerate(indexes)]
        content = [line for _, line in candidates]
        raw = [(s.type, s.line_number - 1, *self._whole(s.type, s.secret_value or "", content[s.line_number - 1],
                                                           s.secret_hash))
               for s in _process_line_based_plugins(candidates, filename)]
        for position, line in enumerate(content):
            hits = [(plugin, secret) for plugin in self._ours
                    for secret in plugin.analyze_line(filename=filename, line=line, line_number=position + 1)]
            if not hits:
                continue
            context = get_code_snippet(lines=content, line_number=position + 1)
            for plugin, secret in hits:
                if not _filtered(plugin, secret.secret_value or "", filename, line, context):
                    raw.append((secret.type, position, secret.secret_value or "", secret.secret_hash))
        found: dict[tuple[int, str], Secret] = {}
        typed = {(position, value) for kind, position, value, _ in raw if kind not in triage.ENTROPY}
        # The most specific name first: a typed token, then a keyword, then entropy alone.
        raw.sort(key=lambda r: (r[1], 2 if r[0] in triage.ENTROPY else 1 if r[0] in triage.GENERIC else 0))
        for kind, position, value, hashed in raw:
            if kind in triage.ENTROPY and any(p == position and (value in v or v in value) for p, v in typed):
                continue  # the same token, already named by the detector that knows its type
            line = content[position]
            if kind == "Hex High Entropy String" and _COMMIT_OR_DIGEST.match(value):
                continue  # a git commit or a sha256: what pinning asks people to write, not a credential
            if triage.is_noise(kind, value, line):
                continue
            if kind in triage.GENERIC and triage.named_fake(lines, indexes[position]):
                continue  # DUMMY_SIGNATURE = "…", FAKE_TOKEN = ("…" "…"): named fake by its author
            if kind == "Private Key" and not triage.pem_body(lines, indexes[position]):
                continue  # "-----BEGIN PRIVATE KEY-----\n...\n-----END…" in docs: a header, no key
            severity = triage.severity(kind, value, place)
            if severity is None:
                continue
            index = indexes[position]
            number = numbers[index] if numbers else first_line + index
            # One finding per value and line: the overlapping pieces of a long line see a token twice, and
            # two plugins may know the same token (detect-secrets' is listed first and named).
            found.setdefault((number, hashed), Secret(kind, number, value, hashed, index, severity))
        return sorted(found.values(), key=lambda s: (s.line, s.type))

    def _whole(self, secret_type: str, value: str, line: str, hashed: str) -> tuple[str, str]:
        """The whole token and its hash. Some detect-secrets patterns capture only a group: its GitHub
        detector reports `ghp` for every GitHub token, so one baseline entry would waive them all."""
        plugin = self._by_type.get(secret_type)
        for pattern in getattr(plugin, "denylist", ()):
            if not pattern.groups:
                continue
            for match in pattern.finditer(line):
                whole = match.group(0)
                if value in match.groups() and whole != value and whole.startswith(value):
                    import hashlib

                    return whole, hashlib.sha1(whole.encode("utf-8")).hexdigest()  # noqa: S324 - as detect-secrets
        return value, hashed


def _filtered(plugin: Any, secret: str, filename: str, line: str, context: Any) -> bool:
    """detect-secrets' filters, in the order its own scan applies them: line, then secret, then context."""
    from detect_secrets.core.scan import _is_filtered_out

    return _is_filtered_out(required_filter_parameters=["line"], filename=filename, line=line, context=context) \
        or _is_filtered_out(required_filter_parameters=["secret"], filename=filename, secret=secret, plugin=plugin,
                            line=line) \
        or _is_filtered_out(required_filter_parameters=["context"], filename=filename, secret=secret,
                            plugin=plugin, line=line, context=context)


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

