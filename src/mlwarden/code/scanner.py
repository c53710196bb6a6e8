"""Check .py files and notebooks (cell by cell, lines pointing into the cell) and turn issues into findings."""

from __future__ import annotations

from pathlib import Path

from mlwarden.code.checks import CheckResult, CodeIssue, HubReference, check_source
from mlwarden.findings import Finding, Location
from mlwarden.policy.model import Policy
from mlwarden.rules import make_finding

MAX_SOURCE_BYTES = 20 * 1024 * 1024


def is_code_file(path: Path) -> bool:
    return path.suffix in (".py", ".pyi", ".ipynb")


def check_code_file(path: Path, display: str, policy: Policy) -> tuple[list[Finding], list[HubReference]]:
    """Findings for one file; a file that cannot be read or parsed is itself a finding (MW710)."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            return [_finding("MW710", display, None, None, f"larger than {MAX_SOURCE_BYTES} bytes; not checked",
                             "size")], []
        raw = path.read_bytes()
    except OSError as exc:
        return [_finding("MW710", display, None, None, f"cannot be read: {exc.strerror or exc}", "read")], []
    text = raw.decode("utf-8", errors="replace")
    if path.suffix == ".ipynb":
        return _check_notebook(text, display, policy)
    try:
        result = check_source(text)
    except (SyntaxError, ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        return [_finding("MW710", display, line, None, f"does not parse: {getattr(exc, 'msg', exc)}",
                         "syntax")], []
    return _findings(result, display, None, policy), result.hub_refs


def _check_notebook(text: str, display: str, policy: Policy) -> tuple[list[Finding], list[HubReference]]:
    from mlwarden.notebook import NotebookError, read_notebook, strip_magics

    try:
        notebook = read_notebook(text)
    except NotebookError as exc:
        return [_finding("MW710", display, None, None, f"notebook cannot be read: {exc}", "notebook")], []
    findings: list[Finding] = []
    refs: list[HubReference] = []
    aliases: dict[str, str] = {}  # imports carry over from one cell to the next, as in the kernel
    for cell in notebook.code_cells():
        member = cell.label
        try:
            result = check_source(strip_magics(cell.source), aliases)
        except (SyntaxError, ValueError, RecursionError) as exc:
            findings.append(_finding("MW710", display, getattr(exc, "lineno", None), member,
                                     f"does not parse: {getattr(exc, 'msg', exc)}", f"syntax:{cell.index}"))
            continue
        findings.extend(_findings(result, display, member, policy))
        refs.extend(result.hub_refs)
    return findings, refs


def _findings(result: CheckResult, display: str, member: str | None, policy: Policy) -> list[Finding]:
    findings = [_issue(issue, display, member) for issue in result.issues]
    if policy.of_kind("hf"):
        from mlwarden.hub.policy import hf_entry, revision_allowed

        for ref in result.hub_refs:
            entry = hf_entry(policy, ref.repo_id)
            if entry is None:
                findings.append(_finding("MW702", display, ref.line, member,
                                         f"{ref.repo_id} is not allowed by any [[hf]] entry", f"repo:{ref.repo_id}"))
            elif not revision_allowed(entry, ref.revision):
                findings.append(_finding("MW702", display, ref.line, member,
                                         f"{ref.repo_id} at revision {ref.revision or '(none)'} is not an approved "
                                         f"commit of [[hf]] {entry.key} ({entry.origin})", f"rev:{ref.repo_id}"))
    return findings


def _issue(issue: CodeIssue, display: str, member: str | None) -> Finding:
    return _finding(issue.rule, display, issue.line, member, issue.message, issue.key)


def _finding(rule_id: str, display: str, line: int | None, member: str | None, message: str, key: str) -> Finding:
    return make_finding(rule_id, Location(display, line=line, member=member), message, key)
