"""Check .py files and notebooks (cell by cell, lines pointing into the cell) and turn issues into findings."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from mlwarden.code.checks import TRIGGERS, CheckResult, CodeIssue, HubReference, check_source
from mlwarden.findings import Finding, Location
from mlwarden.policy.model import Policy
from mlwarden.rules import CODE_UNPARSABLE, HUB_REPO_NOT_ALLOWED, make_finding

MAX_SOURCE_BYTES = 20 * 1024 * 1024


def is_code_file(path: Path) -> bool:
    return path.suffix in (".py", ".pyi", ".ipynb")


def check_code_file(path: Path, display: str, policy: Policy) -> tuple[list[Finding], list[HubReference]]:
    """Findings for one file; a file that cannot be read or parsed is itself a finding (MW710)."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return [_finding(CODE_UNPARSABLE, display, None, None, f"larger than {MAX_SOURCE_BYTES} bytes; not checked",
                             "size")], []
        raw = path.read_bytes()
    except OSError as exc:
        return [_finding(CODE_UNPARSABLE, display, None, None, f"cannot be read: {exc.strerror or exc}", "read")], []
    text = raw.decode("utf-8", errors="replace")
    if path.suffix != ".ipynb" and not TRIGGERS.search(text) and _compiles(text):
        return [], []  # valid Python with nothing any check looks for: no finding is possible (see TRIGGERS)
    if "{{" in display and "}}" in display:
        text = _fill_template(text)
    is_dir = _folder_test(path.parent)
    if path.suffix == ".ipynb":
        return _check_notebook(text, display, policy, is_dir)
    try:
        result = check_source(text, is_local_dir=is_dir)
    except (SyntaxError, ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        return [_finding(CODE_UNPARSABLE, display, line, None, f"does not parse: {getattr(exc, 'msg', exc)}",
                         "syntax")], []
    return _findings(result, display, None, policy) + _skipped(result, display, None), result.hub_refs


def _compiles(text: str) -> bool:
    """Whether the source is valid Python, by compiling it to a code object that is never run: 4x faster than
    building the syntax tree (ast.parse makes a Python object of every node). False sends the file down the full
    path, which reports what does not parse (MW710) as before."""
    try:
        compile(text, "<checked>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def _fill_template(text: str) -> str:
    """A file of a project template (cookiecutter, copier: ``{{ cookiecutter.module_name }}/__init__.py``) is
    Python once rendered: each ``{{ ... }}`` on one line becomes a name of the same width, so the rest parses
    with its lines and columns; what still does not parse (``{% if %}`` blocks) is skipped as usual."""
    import re

    return re.sub(r"\{\{[^{}\n]*\}\}", lambda m: "_" * len(m.group(0)), text)


def _folder_test(base: Path) -> Callable[[str], bool]:
    """Whether a bare name in the code is a folder next to the file or in the working directory (then
    from_pretrained("my-model") loads it instead of downloading)."""
    def is_dir(name: str) -> bool:
        try:
            return any((root / name).is_dir() for root in (base, Path.cwd()))
        except (OSError, ValueError):
            return False

    return is_dir


def _skipped(result: CheckResult, display: str, member: str | None) -> list[Finding]:
    """Statements the running Python could not parse, as one finding per file or cell: the rest was checked,
    so this is low, not MW710's medium."""
    from mlwarden.findings import Severity

    if not result.skipped:
        return []
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    spans = [f"{s.first}" if s.first == s.last else f"{s.first}-{s.last}" for s in result.skipped]
    shown = ", ".join(spans[:5]) + (f" and {len(spans) - 5} more" if len(spans) > 5 else "")
    first = result.skipped[0]
    return [make_finding(CODE_UNPARSABLE, Location(display, line=first.first, member=member),
                         f"line{'s' if len(spans) > 1 or '-' in spans[0] else ''} {shown} do not parse with Python "
                         f"{version} ({first.message}; newer syntax?) and were not checked; the rest was",
                         "skipped", severity=Severity.LOW)]


def _check_notebook(text: str, display: str, policy: Policy,
                    is_dir: Callable[[str], bool]) -> tuple[list[Finding], list[HubReference]]:
    from mlwarden.notebook import NotebookError, read_notebook, strip_magics

    try:
        notebook = read_notebook(text)
    except NotebookError as exc:
        return [_finding(CODE_UNPARSABLE, display, None, None, f"notebook cannot be read: {exc}", "notebook")], []
    findings: list[Finding] = []
    refs: list[HubReference] = []
    aliases: dict[str, str] = {}  # imports and names carry over from one cell to the next, as in the kernel
    env: dict[str, str | None] = {}
    for cell in notebook.code_cells():
        member = cell.label
        try:
            result = check_source(strip_magics(cell.source), aliases, env=env, is_local_dir=is_dir)
        except (SyntaxError, ValueError, RecursionError) as exc:
            line = getattr(exc, "lineno", None)
            findings.append(_in_file(_finding(CODE_UNPARSABLE, display, line, member,
                                              f"does not parse: {getattr(exc, 'msg', exc)}", f"syntax:{cell.index}"),
                                     cell.file_line(line or 1)))
            continue
        found = _findings(result, display, member, policy) + _skipped(result, display, member)
        findings.extend(_in_file(f, cell.file_line(f.location.line or 1)) for f in found)
        refs.extend(result.hub_refs)
    return findings, refs


def _in_file(finding: Finding, file_line: int | None) -> Finding:
    """The finding with the notebook's JSON line of its cell line, for SARIF regions inside the cell."""
    import dataclasses

    if file_line is None:
        return finding
    return dataclasses.replace(finding, location=dataclasses.replace(finding.location, file_line=file_line))


def _findings(result: CheckResult, display: str, member: str | None, policy: Policy) -> list[Finding]:
    findings = [_issue(issue, display, member) for issue in result.issues]
    if policy.of_kind("hf"):
        from mlwarden.hub.policy import hf_entry, revision_allowed

        for ref in result.hub_refs:
            entry = hf_entry(policy, ref.repo_id)
            if entry is None:
                findings.append(_finding(HUB_REPO_NOT_ALLOWED, display, ref.line, member,
                                         f"{ref.repo_id} is not allowed by any [[hf]] entry", f"repo:{ref.repo_id}"))
            elif not revision_allowed(entry, ref.revision):
                findings.append(_finding(HUB_REPO_NOT_ALLOWED, display, ref.line, member,
                                         f"{ref.repo_id} at revision {ref.revision or '(none)'} is not an approved "
                                         f"commit of [[hf]] {entry.key} ({entry.origin})", f"rev:{ref.repo_id}"))
    return findings


def _issue(issue: CodeIssue, display: str, member: str | None) -> Finding:
    from mlwarden.findings import Severity

    return make_finding(issue.rule, Location(display, line=issue.line, member=member), issue.message, issue.key,
                        severity=Severity.LOW if issue.low else None)


def _finding(rule_id: str, display: str, line: int | None, member: str | None, message: str, key: str) -> Finding:
    return make_finding(rule_id, Location(display, line=line, member=member), message, key)
