"""The advisor's policy: allowlists, deny lists and time-boxed waivers, layered and validated.

Loading and validation live in submodules imported on first use, so a hook in a repository without
policy files pays for neither a TOML parser nor the schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlwarden.policy.model import Entry, Origin, Policy, Settings


def load_policy(root: Path, org_file: str | os.PathLike[str] | None = None,
                extra_files: Iterable[Path] = ()) -> Policy:
    """The merged policy: shipped default, then the organisation file, then allowlists/*.toml."""
    from mlwarden.policy.load import load_policy as _load

    return _load(root, org_file, extra_files)


def parse_policy_text(text: str, source: str) -> tuple[Settings | None, dict[str, Any], list[Entry], list[str]]:
    """Parse and validate one policy file: (settings, raw settings, entries, problems)."""
    from mlwarden.policy.schema import parse_policy_text as _parse

    return _parse(text, source)


__all__ = ["Entry", "Origin", "Policy", "Settings", "load_policy", "parse_policy_text"]
