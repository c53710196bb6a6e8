"""Builds realistic Hugging Face caches on the fly: content-addressed blobs, relative snapshot links, refs
without newline, trees/<commit>.json manifests, and local_dir downloads with .metadata files."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_repo(cache: Path, repo_id: str, files: dict[str, bytes], *, lfs: set[str] | None = None,
               commit: str = "0123456789abcdef0123456789abcdef01234567", refs: dict[str, str] | None = None,
               repo_type: str = "models", trees: bool = True) -> Path:
    """A repository folder as huggingface_hub 2.x writes it; returns the snapshot folder."""
    lfs = lfs if lfs is not None else {p for p in files if p.endswith((".bin", ".safetensors", ".pt", ".h5"))}
    repo = cache / f"{repo_type}--{repo_id.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot = repo / "snapshots" / commit
    manifest: dict[str, dict[str, object]] = {}
    for rel, data in files.items():
        etag = sha256(data) if rel in lfs else git_sha1(data)
        (repo / "blobs" / etag).write_bytes(data)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        depth = rel.count("/")
        os.symlink("../../" + "../" * depth + f"blobs/{etag}", link)
        entry: dict[str, object] = {"size": len(data), "blob_id": git_sha1(data)}
        if rel in lfs:
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{etag}\nsize {len(data)}\n"
            entry = {"size": len(data), "blob_id": git_sha1(pointer.encode()), "lfs_sha256": etag,
                     "lfs_size": len(data)}
        manifest[rel] = entry
    for name, target in (refs if refs is not None else {"main": commit}).items():
        ref = repo / "refs" / name
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(target)  # no trailing newline, as huggingface_hub writes it
    if trees:
        (repo / "trees").mkdir(exist_ok=True)
        (repo / "trees" / f"{commit}.json").write_text(json.dumps({"format_version": 1, "files": manifest}))
    return snapshot


def build_local_dir(folder: Path, files: dict[str, bytes], *, lfs: set[str] | None = None,
                    commit: str = "0123456789abcdef0123456789abcdef01234567") -> Path:
    lfs = lfs if lfs is not None else {p for p in files if p.endswith((".bin", ".safetensors"))}
    meta_root = folder / ".cache" / "huggingface" / "download"
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
        etag = sha256(data) if rel in lfs else git_sha1(data)
        meta = meta_root / f"{rel}.metadata"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(f"{commit}\n{etag}\n{time.time()}\n")
    (folder / ".cache" / "huggingface" / ".gitignore").write_text("*")
    return folder
