"""Secrets (detect-secrets plus ML-platform tokens) and personal data in code, notebooks and data files."""
