"""Detectors for ML-platform tokens that detect-secrets does not know, written as detect-secrets plugins so
that its filters, baselines and allowlist pragmas apply to them as to its own (and `detect-secrets scan
--plugin` can load this file too)."""

from __future__ import annotations

import re
from typing import ClassVar

from detect_secrets.plugins.base import RegexBasedDetector


class HuggingFaceDetector(RegexBasedDetector):
    """Hugging Face user access tokens and organisation API tokens."""

    secret_type = "Hugging Face Token"  # noqa: S105  # pragma: allowlist secret
    denylist: ClassVar[list[re.Pattern[str]]] = [
        re.compile(r"\b(hf_[A-Za-z0-9]{34,40})\b"), re.compile(r"\b(api_org_[A-Za-z0-9]{34})\b")]


class WeightsAndBiasesDetector(RegexBasedDetector):
    """W&B API keys: 40 hex digits next to WANDB_API_KEY, wandb.login(key=…) or an api.wandb.ai netrc entry."""

    secret_type = "Weights & Biases API Key"  # noqa: S105  # pragma: allowlist secret
    denylist: ClassVar[list[re.Pattern[str]]] = [
        re.compile(r"(?i)wandb[\w.]*(?:api_key|login)[\"'\]]{0,3}\s*[=:(,]\s*(?:key\s*=\s*)?[\"']?([0-9a-f]{40})\b"),
        re.compile(r"(?i)api\.wandb\.ai.{0,40}?password\s+([0-9a-f]{40})\b"),
        re.compile(r"\b(local-[0-9a-f]{40})\b"),
    ]


class KaggleDetector(RegexBasedDetector):
    """kaggle.json's key (32 hex digits) and KAGGLE_KEY."""

    secret_type = "Kaggle API Key"  # noqa: S105  # pragma: allowlist secret
    denylist: ClassVar[list[re.Pattern[str]]] = [
        re.compile(r"(?i)[\"']?kaggle_?key[\"']?\s*[=:]\s*[\"']?([0-9a-f]{32})\b"),
                re.compile(r"\"username\"\s*:\s*\"[^\"]+\"\s*,\s*\"key\"\s*:\s*\"([0-9a-f]{32})\"")]


class AnthropicDetector(RegexBasedDetector):
    secret_type = "Anthropic API Key"  # noqa: S105  # pragma: allowlist secret
    denylist: ClassVar[list[re.Pattern[str]]] = [re.compile(r"\b(sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,100})")]


class OpenAIProjectKeyDetector(RegexBasedDetector):
    """Project and service-account keys (sk-proj-…, sk-svcacct-…), which detect-secrets' OpenAI plugin misses."""

    secret_type = "OpenAI Project Key"  # noqa: S105  # pragma: allowlist secret
    denylist: ClassVar[list[re.Pattern[str]]] = [re.compile(r"\b(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200})")]


class CloudMLTokenDetector(RegexBasedDetector):
    """Google API keys, Databricks, Replicate, Cohere-style and Groq tokens used from notebooks."""

    secret_type = "Cloud ML Platform Token"  # noqa: S105  # pragma: allowlist secret
    denylist: ClassVar[list[re.Pattern[str]]] = [
        re.compile(r"\b(AIza[0-9A-Za-z_-]{35})\b"),
        re.compile(r"\b(dapi[0-9a-f]{32}(?:-\d)?)\b"),
        re.compile(r"\b(r8_[A-Za-z0-9]{37})\b"),
        re.compile(r"\b(gsk_[A-Za-z0-9]{52})\b"),
    ]
