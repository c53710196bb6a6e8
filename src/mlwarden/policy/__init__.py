"""The advisor's policy: allowlists, deny lists and time-boxed waivers, layered and validated."""

from __future__ import annotations

from mlwarden.policy.load import load_policy, parse_policy_text
from mlwarden.policy.model import KINDS, Entry, Origin, Policy, Settings

__all__ = ["KINDS", "Entry", "Origin", "Policy", "Settings", "load_policy", "parse_policy_text"]
