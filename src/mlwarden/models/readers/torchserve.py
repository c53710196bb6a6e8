"""TorchServe model archives (``.mar``): a zip with ``MAR-INF/MANIFEST.json``, the serialized model and the
handler. TorchServe imports the handler module and any ``.py`` file the archive carries when it loads the
model, so shipped Python is code that runs, whatever the weights look like. The serialized model is a zip
member like any other: the zip reader scans it with the rest."""

from __future__ import annotations

from collections.abc import Callable

from mlwarden.findings import Severity
from mlwarden.models.readers import sniffs
from mlwarden.models.readers.base import Blob, ReaderFormat, Report, Scan, emit
from mlwarden.rules import TORCHSERVE_CODE

MANIFEST = "MAR-INF/MANIFEST.json"
# What Python imports from the model folder TorchServe puts on sys.path: sources, compiled modules found
# without their source (handler.pyc beside the manifest), extension modules.
_IMPORTABLE = (".py", ".pyc", ".pyo", ".so", ".pyd", ".pyw")


def check_mar(names: list[str], read: Callable[[str], bytes]) -> Report:
    import json  # lazily: the hook's start-up stays light

    report = Report(formats=["torchserve-mar"])
    if MANIFEST not in names:
        report.unverifiable(None, "TorchServe archive has no MAR-INF/MANIFEST.json", "mar-manifest")
        return report
    try:
        manifest = json.loads(read(MANIFEST))
        model = manifest.get("model", {}) if isinstance(manifest, dict) else {}
        if not isinstance(model, dict):
            raise ValueError("'model' is not an object")
    except (ValueError, OSError, RecursionError) as exc:
        report.unverifiable(MANIFEST, f"manifest cannot be read: {exc}", "mar-manifest")
        return report
    handler = str(model.get("handler", ""))
    code = sorted(n for n in names if n.lower().endswith(_IMPORTABLE))
    if code:
        named = f"handler {handler!r}; " if handler else ""
        shown = ", ".join(code[:8]) + (" …" if len(code) > 8 else "")
        report.add(TORCHSERVE_CODE, None, f"TorchServe archive ships Python that runs when the model is served "
                   f"({named}{len(code)} file(s): {shown})", "mar-code")
    elif handler.endswith(".py") or (":" in handler and handler.split(":", 1)[0].endswith(".py")):
        report.unverifiable(MANIFEST, f"handler {handler!r} is not in the archive", "mar-handler")
    requirements = model.get("requirementsFile")
    if requirements:
        report.add(
            TORCHSERVE_CODE,
            None,
            f"TorchServe archive lists pip requirements ({requirements!r}) that the server "
            "installs when install_py_dep_per_model is set",
            "mar-requirements",
            Severity.MEDIUM,
        )
    serialized = model.get("serializedFile")
    if serialized and serialized not in names:
        report.unverifiable(MANIFEST, f"serialized model {serialized!r} is not in the archive", "mar-model")
    return report


def check_manifest(data: bytes) -> Report:
    """A MANIFEST.json on its own: the tgz and no-archive forms of torch-model-archiver (a folder holding
    MAR-INF/ beside the handler), where the .py files are separate members the manifest points to."""
    import json

    report = Report(formats=["torchserve-mar"])
    try:
        manifest = json.loads(data)
        model = manifest.get("model", {}) if isinstance(manifest, dict) else {}
        if not isinstance(model, dict):
            raise ValueError("'model' is not an object")
    except (ValueError, RecursionError) as exc:
        report.unverifiable(None, f"TorchServe manifest cannot be read: {exc}", "mar-manifest")
        return report
    code = [str(model[k]) for k in ("handler", "modelFile") if str(model.get(k, "")).split(":", 1)[0].endswith(".py")]
    if code:
        report.add(
            TORCHSERVE_CODE,
            None,
            f"TorchServe manifest names Python that runs when the model is served ({', '.join(code)})",
            "mar-manifest-code",
        )
    if model.get("requirementsFile"):
        report.add(
            TORCHSERVE_CODE,
            None,
            f"TorchServe manifest lists pip requirements ({model['requirementsFile']!r})",
            "mar-requirements",
            Severity.MEDIUM,
        )
    return report


sniff = sniffs.torchserve

sniff_manifest = sniffs.torchserve_manifest


def scan_manifest(blob: Blob, scan: Scan) -> None:
    from mlwarden.models.readers.base import read_limited

    try:
        report = check_manifest(read_limited(blob.file, 1 << 20))
    except ValueError as exc:
        report = Report()
        report.unverifiable(None, f"TorchServe manifest {exc}", "mar-manifest")
    emit(report, scan, blob.member)


def scan(blob: Blob, scan: Scan) -> None:
    from mlwarden.models.readers.zipaccess import zip_report

    emit(zip_report(blob, check_mar), scan, blob.member)


FORMAT = ReaderFormat("torchserve-mar", sniff, scan, seekable=True)
MANIFEST_FORMAT = ReaderFormat("torchserve-manifest", sniff_manifest, scan_manifest, seekable=True)
