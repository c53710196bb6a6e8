"""A CycloneDX 1.6 (or 1.5) JSON document for a project: Python dependencies, the models and datasets in the
tree (and, on request, in the Hugging Face cache), known vulnerabilities with the policy's waivers as VEX.

We write the JSON ourselves rather than through cyclonedx-python-lib's model: its Bom stamps a random serial
number and the current time into every document, has no model card, and its JSON validation spends seconds on
format checks; cyclonedx-py (the CLI) reads an environment or one requirements file, not our lock formats,
models or verdicts. The schema the library ships is what `sbom validate` and the tests check against.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mlwarden import __version__
from mlwarden.config import Config
from mlwarden.deps.model import Manifest, Pin
from mlwarden.paths import display_path
from mlwarden.policy.model import Policy, canonicalize_name

DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".arrow", ".feather", ".orc", ".avro")
_LOCK_KINDS = ("uv.lock", "poetry.lock", "Pipfile.lock", "pylock")
_HASH_ALGS = {"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512", "md5": "MD5", "sha1": "SHA-1"}


@dataclass(frozen=True)
class Options:
    spec: str = "1.6"
    hf_cache: Path | None = None
    osv_db: str | None = None
    timestamp: str | None = None  # only when asked: a timestamp makes the output change on every run
    serial: bool = False


def project_identity(root: Path) -> tuple[str, str | None]:
    from mlwarden import _toml

    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = _toml.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
            if project.get("name"):
                return str(project["name"]), str(project["version"]) if project.get("version") else None
        except (OSError, UnicodeDecodeError, _toml.TOMLDecodeError):
            pass
    return root.resolve().name, None


def generate(root: Path, files: list[Path], config: Config, policy: Policy, options: Options) -> dict[str, Any]:
    from mlwarden.deps.run import dependency_files, parse_all

    name, version = project_identity(root)
    manifests = parse_all(dependency_files(files), root)
    components = _python_components(manifests)
    components += _file_components(root, files, config, policy)
    if options.hf_cache is not None:
        components += _hf_components(options.hf_cache, root, config, policy)
    components.sort(key=lambda c: (c["type"], c["name"], c.get("version", ""), c["bom-ref"]))
    refs = set()
    unique = []
    for component in components:
        if component["bom-ref"] not in refs:
            refs.add(component["bom-ref"])
            unique.append(component)
    metadata: dict[str, Any] = {
        "tools": {"components": [{"type": "application", "name": "mlwarden", "version": __version__}]},
        "component": {"type": "application", "bom-ref": f"project:{name}", "name": name,
                      **({"version": version} if version else {})},
    }
    if options.timestamp:
        metadata = {"timestamp": options.timestamp, **metadata}
    bom: dict[str, Any] = {
        "$schema": f"http://cyclonedx.org/schema/bom-{options.spec}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": options.spec,
        "version": 1,
        "metadata": metadata,
        "components": unique,
        "dependencies": [{"ref": f"project:{name}", "dependsOn": sorted(c["bom-ref"] for c in unique)}],
    }
    if options.serial:
        bom = {**{k: bom[k] for k in ("$schema", "bomFormat", "specVersion")},
               "serialNumber": f"urn:uuid:{uuid.uuid4()}", **{k: v for k, v in bom.items()
                                                             if k not in ("$schema", "bomFormat", "specVersion")}}
    if options.osv_db:
        vulnerabilities = _vulnerabilities(manifests, options.osv_db, policy)
        if vulnerabilities:
            bom["vulnerabilities"] = vulnerabilities
    return bom


def dumps(bom: dict[str, Any]) -> str:
    return json.dumps(bom, indent=2, ensure_ascii=False) + "\n"


# --- Python dependencies -------------------------------------------------------------------------------------
def _chosen_manifests(manifests: list[Manifest]) -> list[Manifest]:
    """Lock files when there are any (they say what is installed), else requirements, else pyproject."""
    for kinds in (_LOCK_KINDS, ("requirements", "conda"), ("pyproject",)):
        chosen = [m for m in manifests if m.kind in kinds]
        if chosen:
            return chosen
    return []


def purl_for(pin: Pin) -> str:
    name = canonicalize_name(pin.name)
    purl = f"pkg:{'conda' if pin.ecosystem == 'conda' else 'pypi'}/{quote(name)}"
    if pin.version:
        purl += f"@{quote(pin.version)}"
    source = pin.source
    if source is not None and source.kind == "index" and "pypi.org" not in source.url:
        purl += f"?repository_url={quote(source.url, safe='')}"
    elif source is not None and source.kind == "vcs":
        ref = source.commit or source.ref
        purl += f"?vcs_url={quote('git+' + source.url + ('@' + ref if ref else ''), safe='')}"
    elif source is not None and source.kind == "url":
        purl += f"?download_url={quote(source.url, safe='')}"
    return purl


def _python_components(manifests: list[Manifest]) -> list[dict[str, Any]]:
    out = []
    for manifest in _chosen_manifests(manifests):
        for pin in manifest.pins:
            if pin.source is not None and pin.source.kind == "path":
                continue
            component: dict[str, Any] = {"type": "library", "bom-ref": purl_for(pin), "name": pin.name}
            if pin.version:
                component["version"] = pin.version
            hashes = _hashes(pin.hashes)
            if hashes:
                component["hashes"] = hashes
            component["purl"] = purl_for(pin)
            component["properties"] = sorted([{"name": "mlwarden:declared-in", "value": manifest.file},
                                              *([{"name": "mlwarden:specifier", "value": pin.specifier}]
                                                if pin.specifier and not pin.version else [])],
                                             key=lambda p: p["name"])
            out.append(component)
    return out


def _hashes(raw: tuple[str, ...]) -> list[dict[str, str]]:
    seen = []
    for item in raw:
        alg, _, digest = item.partition(":")
        name = _HASH_ALGS.get(alg.lower())
        if name and digest and {"alg": name, "content": digest.lower()} not in seen:
            seen.append({"alg": name, "content": digest.lower()})
    return sorted(seen, key=lambda h: (h["alg"], h["content"]))[:8]


# --- models and datasets in the tree -----------------------------------------------------------------------------
def _file_components(root: Path, files: list[Path], config: Config, policy: Policy) -> list[dict[str, Any]]:
    from mlwarden.hub.hashing import HashJob, hash_files
    from mlwarden.models.scanner import is_model_candidate, scan_model_file

    chosen: list[tuple[Path, str]] = []
    for path in files:
        if path.suffix.lower() in DATA_SUFFIXES:
            chosen.append((path, "data"))
        elif is_model_candidate(path) and path.suffix not in (".py", ".toml", ".json", ".yaml", ".yml", ".lock"):
            chosen.append((path, "machine-learning-model"))
    digests = hash_files([HashJob(p, "sha256") for p, _ in chosen], progress=False)
    out = []
    extra = policy.extra_safe_globals()
    for path, kind in chosen:
        rel = display_path(path, root)
        props = [{"name": "mlwarden:path", "value": rel}]
        component: dict[str, Any] = {"type": kind, "bom-ref": f"file:{rel}", "name": rel}
        result = digests.get(path)
        if result is not None and result.digest:
            component["hashes"] = [{"alg": "SHA-256", "content": result.digest}]
        elif result is not None and result.error:
            props.append({"name": "mlwarden:error", "value": result.error})
        if kind == "machine-learning-model":
            scanned, _ = scan_model_file(path, rel, budgets=config.budgets, extra_safe=extra)
            worst = max((f.severity for f in scanned.findings), default=None)
            props.append({"name": "mlwarden:format", "value": "+".join(dict.fromkeys(scanned.formats)) or "unknown"})
            props.append({"name": "mlwarden:verdict", "value": worst.label if worst is not None else "clean"})
            rules = sorted({f.rule for f in scanned.findings})
            if rules:
                props.append({"name": "mlwarden:rules", "value": ",".join(rules)})
            if scanned.error:
                props.append({"name": "mlwarden:error", "value": scanned.error.message})
        else:
            props.append({"name": "mlwarden:format", "value": path.suffix.lower().lstrip(".")})
        component["properties"] = sorted(props, key=lambda p: p["name"])
        out.append(component)
    return out


def _hf_components(cache: Path, root: Path, config: Config, policy: Policy) -> list[dict[str, Any]]:
    from mlwarden.hub.scan import scan_hf
    from mlwarden.hub.verify import resolve_targets

    targets, _ = resolve_targets([cache])
    report = scan_hf(targets, root, policy, config.budgets)
    out = []
    for item in report.inventory.get("hf", []):
        repo, commit = item["repo_id"], item["commit"]
        purl = f"pkg:huggingface/{quote(repo)}" + (f"@{commit}" if commit else "")
        component: dict[str, Any] = {
            "type": "data" if item["repo_type"] == "dataset" else "machine-learning-model",
            "bom-ref": purl, "name": repo, "purl": purl,
            "properties": sorted([{"name": "mlwarden:verdict", "value": item["verdict"]},
                                  {"name": "mlwarden:files", "value": str(item["files"])},
                                  *([{"name": "mlwarden:refs", "value": ",".join(item["refs"])}]
                                    if item["refs"] else [])],
                                 key=lambda p: p["name"]),
        }
        if commit:
            component["version"] = commit
        out.append(component)
    return out


# --- vulnerabilities -------------------------------------------------------------------------------------------
def _vulnerabilities(manifests: list[Manifest], osv_db: str, policy: Policy) -> list[dict[str, Any]]:
    from mlwarden.deps.audit import auditable_pins
    from mlwarden.deps.osv import OsvDatabase

    database = OsvDatabase.load(Path(osv_db))
    pins, _ = auditable_pins(_chosen_manifests(manifests))
    by_id: dict[str, dict[str, Any]] = {}
    for pin in pins:
        assert pin.version is not None
        for advisory in database.matches(pin.name, pin.version):
            entry = by_id.setdefault(advisory.id, {
                "bom-ref": f"vuln:{advisory.id}", "id": advisory.id, "source": {"name": "OSV"},
                **({"references": [{"id": a, "source": {"name": "OSV"}} for a in advisory.aliases]}
                   if advisory.aliases else {}),
                **({"ratings": [{"score": advisory.score, "method": "CVSSv31"}]} if advisory.score is not None else {}),
                "description": advisory.summary,
                **({"recommendation": "Upgrade to " + " or ".join(advisory.fixed)} if advisory.fixed else {}),
                "affects": [],
            })
            entry["affects"].append({"ref": purl_for(pin)})
            waiver = policy.vulnerability_waiver({advisory.id, *advisory.aliases})
            if waiver is not None:
                entry["analysis"] = {"state": "not_affected", "justification": "protected_by_mitigating_control",
                                     "detail": f"Waived by {waiver.owner} until {waiver.expires}: {waiver.reason}"}
    for entry in by_id.values():
        entry["affects"] = sorted({a["ref"]: a for a in entry["affects"]}.values(), key=lambda a: a["ref"])
    return [by_id[key] for key in sorted(by_id)]


def to_xml(bom: dict[str, Any]) -> str:
    """The same document as CycloneDX XML, through cyclonedx-python-lib's model and serialiser.

    The library stamps a random serial number and the current time on every Bom; both are taken out again
    (the serial is derived from the content instead) so that XML is as reproducible as JSON.
    """
    import hashlib
    import re

    try:
        from cyclonedx.model.bom import Bom
        from cyclonedx.output import make_outputter
        from cyclonedx.schema import OutputFormat, SchemaVersion
    except ImportError as exc:
        from mlwarden.errors import ConfigError

        raise ConfigError(f"XML output needs cyclonedx-python-lib (pip install 'mlwarden[sbom]'): {exc}") from None
    version = SchemaVersion.V1_6 if bom["specVersion"] == "1.6" else SchemaVersion.V1_5
    model = Bom.from_json(bom)  # type: ignore[attr-defined]  # added by the serializable decorator
    text = make_outputter(model, OutputFormat.XML, version).output_as_string(indent=2)
    if "timestamp" not in bom.get("metadata", {}):
        text = re.sub(r"\s*<timestamp>[^<]*</timestamp>", "", text, count=1)
    if "serialNumber" not in bom:
        stable = uuid.UUID(hashlib.sha256(dumps(bom).encode()).hexdigest()[:32], version=4)
        text = re.sub(r'serialNumber="urn:uuid:[0-9a-f-]+"', f'serialNumber="urn:uuid:{stable}"', text, count=1)
    return text if text.endswith("\n") else text + "\n"
