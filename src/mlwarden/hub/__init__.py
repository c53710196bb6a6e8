"""Hugging Face artefacts: the hub cache and local_dir downloads, verified offline, scanned, and held
against the policy's [[hf]] entries."""
