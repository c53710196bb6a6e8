"""Matching Hugging Face repositories and revisions against the policy's [[hf]] entries."""

from __future__ import annotations

from mlwarden.policy.model import Entry, Policy


def hf_entry(policy: Policy, repo_id: str, repo_type: str = "model") -> Entry | None:
    """The most specific live [[hf]] entry for a repository: an exact repo before its organisation.

    A legacy id without a namespace (``gpt2``, ``bert-base-uncased``) has no organisation: only an entry with
    that exact ``repo`` allows it."""
    wanted = repo_id.lower()
    org = wanted.split("/", 1)[0] if "/" in wanted else None
    by_org: Entry | None = None
    for entry in policy.live("hf"):
        if entry.get("type", "model") != repo_type:
            continue
        if str(entry.get("repo", "")).lower() == wanted:
            return entry
        if org is not None and str(entry.get("org", "")).lower() == org and by_org is None:
            by_org = entry
    return by_org


def revision_allowed(entry: Entry, commit: str | None) -> bool:
    revisions = entry.get("revisions")
    if not revisions:
        return True
    return commit is not None and commit.lower() in {str(r).lower() for r in revisions}
