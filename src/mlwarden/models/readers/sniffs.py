"""Which blobs each reader wants, decided from the first bytes and the name alone. Kept apart from the readers
so that sniffing (done on every file a hook sees) imports none of them; a reader module is imported only when
its sniff matched (registry.py)."""

from __future__ import annotations

import re

SAVEDMODEL_NAMES = ("saved_model.pb", "keras_metadata.pb", "saved_model.pbtxt")
TEMPLATE_NAMES = frozenset({"tokenizer_config.json", "chat_template.json", "processor_config.json",
                            "preprocessor_config.json", "chat_template.jinja"})
MAX_TEMPLATE_FILE = 16 << 20
_JINJA_EXPRESSION = re.compile(rb"(?<!\$)\{\{")


def basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def savedmodel(head: bytes, name: str, size: int | None) -> bool:
    """By name: TF's loaders open these files by name, and a protobuf has no magic number."""
    base = basename(name)
    return base in SAVEDMODEL_NAMES or (base.endswith(".pb") and head[:1] in (b"\x08", b"\x0a"))


def onnx(head: bytes, name: str, size: int | None) -> bool:
    """``*.onnx`` by name; by content, a ModelProto opens with ir_version (3 and up) then a string field."""
    if basename(name).lower().endswith(".onnx"):
        return True
    return len(head) > 3 and head[0] == 0x08 and 3 <= head[1] <= 15 and head[2] in (0x12, 0x1A, 0x22, 0x3A, 0x42)


def template(head: bytes, name: str, size: int | None) -> bool:
    base = basename(name).lower()
    if base in TEMPLATE_NAMES or base.endswith((".jinja", ".j2", ".template")):
        return True
    # Any other JSON/YAML only when its start shows a template (a chat_template key or Jinja syntax): every
    # configuration file of a repository is not a model, and reading each one in full would cost every scan.
    # GitHub Actions' `${{ github.x }}` is not Jinja: a workflow is not a template a model loader renders.
    return base.endswith((".json", ".yaml", ".yml")) and (size is None or size <= MAX_TEMPLATE_FILE) and \
        (b"chat_template" in head or b"{%" in head or _JINJA_EXPRESSION.search(head) is not None)


def skops(head: bytes, name: str, size: int | None) -> bool:
    """Any zip: skops.io.load opens a file of any name (model.bin, model.pkl); the reader decides from the
    members (a schema.json of skops nodes) and fails closed only for files named *.skops."""
    return head[:4] == b"PK\x03\x04"


def torchserve(head: bytes, name: str, size: int | None) -> bool:
    return head[:4] == b"PK\x03\x04" and name.lower().endswith(".mar")


def torchserve_manifest(head: bytes, name: str, size: int | None) -> bool:
    """MAR-INF/MANIFEST.json below a folder (tgz or no-archive form); at a zip's root check_mar reads it."""
    return name.replace("\\", "/").endswith("/MAR-INF/MANIFEST.json")


def torchscript(head: bytes, name: str, size: int | None) -> bool:
    """Any zip: TorchScript archives carry any name (.pt, .pth, .bin, .zip); the check needs the member list."""
    return head[:4] == b"PK\x03\x04"


def distcp(head: bytes, name: str, size: int | None) -> bool:
    return basename(name).endswith(".distcp")
