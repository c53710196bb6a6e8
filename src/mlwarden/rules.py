"""The rule registry: one table that every output format reads. Rule ids are public and never renumbered."""

from __future__ import annotations

from dataclasses import dataclass

from mlwarden.findings import Severity


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    title: str
    severity: Severity
    help: str
    remediation: str


_RULES = (
    # --- MW1xx: model files -------------------------------------------------------------------
    Rule("MW101", "pickle-dangerous-callable", "Pickle references a known code-execution callable",
         Severity.CRITICAL,
         "The pickle imports a function or module that runs commands, evaluates code, opens files or "
         "resolves arbitrary names (os.system, builtins.eval, subprocess, pkgutil.resolve_name …). "
         "Loading it with pickle, torch.load or joblib.load runs that code.",
         "Do not load this file. Ask for a safetensors export, or rebuild the model from trusted code."),
    Rule("MW102", "pickle-unknown-callable", "Pickle calls a callable outside the safe list",
         Severity.HIGH,
         "The pickle invokes (REDUCE, INST, OBJ) a global that is not on the safe list. Unknown callables "
         "are how scanners that rely on deny lists get bypassed.",
         "Review the callable. If it is harmless, add it to a [[pickle]] entry of the policy."),
    Rule("MW103", "pickle-unknown-import", "Pickle imports a global outside the safe list",
         Severity.MEDIUM,
         "The pickle imports a global that is not on the safe list but never calls it.",
         "Review the global; add it to a [[pickle]] entry of the policy if it is expected."),
    Rule("MW104", "pickle-unresolved-global", "Pickle uses a global or callable that cannot be resolved",
         Severity.HIGH,
         "A STACK_GLOBAL whose operands are not constant strings, an EXT code that is not registered, "
         "or a call of something that is not a resolved global. A loader resolves it at run time; "
         "a scanner cannot, so it fails closed.",
         "Treat the file as untrusted."),
    Rule("MW105", "pickle-unparsable", "Pickle stream cannot be parsed",
         Severity.HIGH,
         "The opcode stream is truncated or corrupt. Loaders execute everything before the break, "
         "so the globals seen before it are still reported.",
         "Do not load the file; obtain an intact copy."),
    Rule("MW106", "pickle-nested-loader", "Pickle passes data to a deserialiser (nested pickle)",
         Severity.HIGH,
         "The pickle calls pickle.loads, torch.load, joblib.load or similar on embedded bytes. The embedded "
         "payload is scanned too and reported with its own findings.",
         "Do not load the file unless the nested payload is understood."),
    Rule("MW107", "scan-budget-exceeded", "A scanning budget was exceeded",
         Severity.HIGH,
         "Decompressed size, archive depth, member count, memo size, stack size or time per file went past "
         "its budget. The rest of the file was not inspected.",
         "Inspect the file by hand, or raise the budget in [tool.mlwarden] if the file is trusted."),
    Rule("MW108", "torchscript-code", "TorchScript archive carries code run by torch.jit.load",
         Severity.MEDIUM,
         "TorchScript archives contain Python-like source that torch.jit.load compiles and runs.",
         "Load TorchScript only from trusted sources; prefer a state dict in safetensors."),
    Rule("MW109", "keras-lambda", "Keras model contains a Lambda layer or code outside Keras",
         Severity.HIGH,
         "A Lambda layer stores Python bytecode (or a function reference) that runs when the model is "
         "loaded with safe_mode disabled; references to modules outside Keras run arbitrary code.",
         "Rebuild the layer in code; load with safe_mode=True."),
    Rule("MW110", "gguf-template-escape", "GGUF chat template tries to escape the Jinja sandbox",
         Severity.CRITICAL,
         "The chat template reaches Python internals (__class__, __globals__, __subclasses__, os …) as in "
         "CVE-2024-34359 (llama-cpp-python).",
         "Do not load the model with an unsandboxed Jinja environment; remove the template."),
    Rule("MW111", "safetensors-malformed", "safetensors header is malformed",
         Severity.HIGH,
         "The header length, JSON, dtypes, shapes or offsets are inconsistent (overlaps, out of range).",
         "Obtain an intact file; a malformed header can crash or mislead loaders."),
    Rule("MW112", "format-not-inspected", "A container could not be inspected",
         Severity.HIGH,
         "The file is a container whose reader is not installed (py7zr for 7z, h5py for HDF5) or that "
         "cannot be opened; its content was not scanned.",
         "If the message names a reader, install it (pip install 'mlwarden[all]') and scan again; "
         "otherwise obtain an intact copy."),
    Rule("MW113", "numpy-object-array", "NumPy file holds an object array (needs allow_pickle)",
         Severity.LOW,
         "Object arrays are stored as a pickle and need allow_pickle=True to load; the pickle is scanned.",
         "Prefer plain dtypes; load object arrays only from trusted sources."),
    Rule("MW114", "archive-suspicious-member", "Archive member has a suspicious name or header",
         Severity.MEDIUM,
         "A member path escapes the archive (absolute or '..'), is a link, or the zip's local header "
         "disagrees with its central directory (a trick that makes scanners and loaders see different files).",
         "Do not extract the archive; obtain a clean copy."),
    Rule("MW115", "pickle-unknown-class-instantiated", "Pickle instantiates a class outside the safe list",
         Severity.LOW,
         "NEWOBJ creates an instance of a class that is not on the safe list (for example the user's own "
         "nn.Module subclass in a whole-model torch.save). Only the class's __new__/__setstate__ run.",
         "Expected for whole saved modules; add the class to a [[pickle]] entry to silence it."),
    # --- MW6xx: policy -----------------------------------------------------------------------
    Rule("MW601", "policy-entry-expired", "Policy entry has expired",
         Severity.HIGH,
         "An allowlist entry or waiver is past its expiry date (and past the grace period).",
         "Renew the entry with a new expiry after review, or remove it."),
    Rule("MW602", "policy-entry-expiring", "Policy entry expires soon or is in its grace period",
         Severity.LOW,
         "An allowlist entry or waiver expires within the warning window, or has expired but is still "
         "inside the grace period.",
         "Review and renew the entry, or plan its removal."),
    Rule("MW603", "policy-invalid", "Policy file is invalid",
         Severity.HIGH,
         "A policy file does not parse or does not follow the schema.",
         "Fix the file; `mlwarden allowlist check` lists every problem with file and line."),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def get(rule_id: str) -> Rule:
    return RULES[rule_id]
