"""A CycloneDX 1.6 (or 1.5) JSON document for a project: Python dependencies with every hash, their purls and the
dependency graph the lock records; the models and datasets in the tree (and, on request, in the Hugging Face
cache) as `machine-learning-model` / `data` components with a model card; known vulnerabilities with the
policy's waivers as VEX.

We write the JSON ourselves rather than through cyclonedx-python-lib's model: its Bom stamps a random serial
number and the current time into every document, has no model card, and its JSON validation spends seconds on
format checks; cyclonedx-py (the CLI) reads an environment or one requirements file, not our lock formats,
models or verdicts. `sbom validate` and the tests check the output against the official schema (sbom/schemas).
Same inputs, same bytes: no timestamp or serial number unless asked, everything sorted.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mlwarden import __version__
from mlwarden.config import Config
from mlwarden.deps.formats import LOCK_KINDS
from mlwarden.deps.model import Manifest, Pin, Source
from mlwarden.paths import display_path
from mlwarden.policy.model import Policy, canonicalize_name
from mlwarden.redact import redact
from mlwarden.sbom import purl as purls
from mlwarden.sbom.formats import is_iri_reference
from mlwarden.sbom.graph import Key, LockGraph, read_graph
from mlwarden.sbom.installed import installed_facts
from mlwarden.sbom.licenses import license_entries, project_license

DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".arrow", ".feather", ".orc", ".avro")
_HASH_ALGS = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512",
              "sha3-256": "SHA3-256", "sha3_256": "SHA3-256", "sha3-384": "SHA3-384", "sha3_384": "SHA3-384",
              "sha3-512": "SHA3-512", "sha3_512": "SHA3-512", "blake2b-256": "BLAKE2b-256",
              "blake2b-384": "BLAKE2b-384", "blake2b-512": "BLAKE2b-512", "blake3": "BLAKE3"}
_HEX = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128}")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_ORDER = ("type", "bom-ref", "name", "version", "hashes", "licenses", "purl", "externalReferences", "properties")
FLAT_NOTE = "flat: no dependency edges in {files}; every component is listed as direct"


@dataclass(frozen=True)
class Options:
    spec: str = "1.6"
    hf_cache: Path | None = None
    osv_db: str | None = None
    timestamp: str | None = None  # only when asked: a timestamp makes the output change on every run
    serial: bool = False
    installed: tuple[Path, ...] = ()  # environments (virtualenv or site-packages) to describe instead of files


def _pyproject(root: Path) -> dict[str, Any]:
    from mlwarden import _toml

    try:
        data = _toml.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    project = data.get("project")
    if isinstance(project, dict) and project.get("name"):
        return project
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None  # poetry 1.x keeps the metadata here
    return poetry if isinstance(poetry, dict) else {}


def project_identity(root: Path) -> tuple[str, str | None]:
    project = _pyproject(root)
    name, version = project.get("name"), project.get("version")
    if isinstance(name, str) and name.strip():
        return name.strip(), version if isinstance(version, str) and version else None
    return root.resolve().name, None


def generate(root: Path, files: list[Path], config: Config, policy: Policy, options: Options) -> dict[str, Any]:
    from mlwarden.deps.run import coverage_notes, dependency_files, parse_all

    name, version = project_identity(root)
    root_ref = f"project:{name}"
    manifests = parse_all(dependency_files(files), root, installed=options.installed)
    chosen = _chosen_manifests(manifests)
    _fail_closed(chosen)
    libraries = _Libraries(root)
    for manifest in chosen:
        libraries.add_manifest(manifest)
    others = _file_components(root, files, config, policy)
    if options.hf_cache is not None:
        others += _hf_components(options.hf_cache, root, config, policy)
    components = _unique([*libraries.components(), *others])
    components.sort(key=lambda c: (c["type"], c["name"], c.get("version", ""), c["bom-ref"]))
    dependencies, graph_note = libraries.graph(root, chosen, root_ref)
    dependencies[root_ref] |= {c["bom-ref"] for c in others}
    project: dict[str, Any] = {"type": "application", "bom-ref": root_ref, "name": name}
    if version:
        project["version"] = version
    licenses = project_license(_pyproject(root))
    if licenses:
        project["licenses"] = licenses
    metadata: dict[str, Any] = {
        "tools": {"components": [{"type": "application", "name": "mlwarden", "version": __version__}]},
        "component": project,
    }
    notes = [("mlwarden:dependency-graph", graph_note)] if graph_note else []
    notes += [("mlwarden:unread", redact(f"{p.file}:{p.line}: {p.message}" if p.line else f"{p.file}: {p.message}"))
              for m in chosen for p in m.problems]
    # What no check could judge (local code, conda packages, an empty file), and a project with no dependency
    # file at all: said in the document, so an SBOM without Python components is never mistaken for a full one.
    notes += [("mlwarden:not-covered", redact(note)) for note in coverage_notes(chosen)]
    if not chosen:
        notes.append(("mlwarden:not-covered", "no dependency file found (requirements, pyproject.toml, lock "
                      "files, conda environments): the SBOM lists no Python dependencies"))
    if notes:
        metadata["properties"] = _properties(notes)
    if options.timestamp:
        metadata = {"timestamp": options.timestamp, **metadata}
    bom: dict[str, Any] = {"$schema": f"http://cyclonedx.org/schema/bom-{options.spec}.schema.json",
                           "bomFormat": "CycloneDX", "specVersion": options.spec}
    if options.serial:
        bom["serialNumber"] = f"urn:uuid:{uuid.uuid4()}"
    bom.update({
        "version": 1,
        "metadata": metadata,
        "components": components,
        "dependencies": [{"ref": ref, "dependsOn": sorted(targets)} if targets else {"ref": ref}
                         for ref, targets in sorted(dependencies.items())],
    })
    if options.osv_db:
        vulnerabilities, warnings = _vulnerabilities(manifests, options.osv_db, policy, libraries.ref_of,
                                                     max_age_days=config.osv_max_age_days)
        if warnings:  # records that could not be read: the vulnerability list may lack their advisories
            metadata["properties"] = _properties([*notes, *(("mlwarden:osv-unread", redact(w)) for w in warnings)])
        if vulnerabilities:
            bom["vulnerabilities"] = vulnerabilities
    return bom


def _fail_closed(manifests: list[Manifest]) -> None:
    """A dependency file (or environment) that could not be read fully would make an SBOM that silently lacks
    components: refuse, naming the file. Lines that could not be used are listed in the metadata instead."""
    from mlwarden.errors import InputError

    fatal = [p for m in manifests for p in m.problems if getattr(p, "fatal", False)]
    if fatal:
        first = fatal[0]
        more = f" (and {len(fatal) - 1} more)" if len(fatal) > 1 else ""
        raise InputError(redact(f"{first.file}: {first.message}{more}; the SBOM would be incomplete"))


def dumps(bom: dict[str, Any]) -> str:
    return json.dumps(bom, indent=2, ensure_ascii=False) + "\n"


def _unique(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for component in components:
        if component["bom-ref"] not in seen:
            seen.add(component["bom-ref"])
            out.append(component)
    return out


def _url(value: str) -> str | None:
    """`value` redacted, or None when it is not an IRI the schema accepts (an scp-like git address)."""
    clean = redact(value)
    return clean if is_iri_reference(clean) else None


# --- Python dependencies -------------------------------------------------------------------------------------
def _chosen_manifests(manifests: list[Manifest]) -> list[Manifest]:
    """An installed environment when one was named (--installed), else lock files (they say what gets
    installed), else requirements, else pyproject."""
    for kinds in (("installed",), LOCK_KINDS, ("requirements", "conda", "Pipfile"), ("pyproject", "setup.cfg")):
        chosen = [m for m in manifests if m.kind in kinds]
        if chosen:
            return chosen
    return []


def _vcs_url(url: str, ref: str | None) -> str:
    url = url if url.startswith(_VCS_PREFIXES) else "git+" + url
    return url + (f"@{ref}" if ref else "")


def purl_for(pin: Pin) -> str | None:
    """The pin's purl; None for a local path (a file on this machine is no package URL)."""
    source = pin.source
    if source is not None and source.kind == "path":
        return None
    qualifiers: dict[str, str | None] = {}
    if pin.ecosystem == "conda":
        if source is not None and source.kind == "conda-channel":
            qualifiers["channel"] = source.url
        return purls.build("conda", pin.name, pin.version, qualifiers=qualifiers)
    if source is not None and source.kind == "index" and not _is_pypi(source.url):
        qualifiers["repository_url"] = source.url
    elif source is not None and source.kind == "vcs":
        qualifiers["vcs_url"] = _vcs_url(source.url, source.commit or source.ref)
    elif source is not None and source.kind == "url":
        qualifiers["download_url"] = source.url
    return purls.build("pypi", pin.name, pin.version, qualifiers=qualifiers)


def _is_pypi(url: str) -> bool:
    return re.fullmatch(r"https?://(pypi\.org|pypi\.python\.org|files\.pythonhosted\.org)(/.*)?", url) is not None


def ref_for(pin: Pin) -> str:
    purl = purl_for(pin)
    if purl is not None:
        return purl
    return "local:" + quote(canonicalize_name(pin.name)) + (f"@{quote(pin.version)}" if pin.version else "")


def hashes_of(raw: tuple[Any, ...] | list[Any]) -> list[dict[str, str]]:
    """Every hash the lock records (no cap), in CycloneDX's algorithm names, sorted, without repeats."""
    seen: set[tuple[str, str]] = set()
    for item in raw:
        if not isinstance(item, str):
            continue
        alg, _, digest = item.partition(":")
        name = _HASH_ALGS.get(alg.strip().lower())
        digest = digest.strip().lower()
        if name and _HEX.fullmatch(digest):
            seen.add((name, digest))
    return [{"alg": alg, "content": digest} for alg, digest in sorted(seen)]


def _properties(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in sorted(set(pairs))]


def _sole_index(manifest: Manifest) -> str | None:
    """The index every pin of a requirements file comes from: its --index-url when it is not PyPI and no
    --extra-index-url or --find-links offers another source."""
    if len(manifest.indexes) != 1 or manifest.extra_indexes or manifest.find_links:
        return None
    url = manifest.indexes[0][0]
    return None if _is_pypi(url) else url


class _Libraries:
    """The Python (and conda) components of the chosen manifests, merged by bom-ref."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.installed_graphs: dict[int, LockGraph] = {}
        self.by_ref: dict[str, dict[str, Any]] = {}
        self.hashes: dict[str, set[str]] = {}
        self.props: dict[str, set[tuple[str, str]]] = {}
        self.refs: dict[int, dict[Key, str]] = {}  # per manifest: (canonical name, version) -> bom-ref
        self.ref_of: dict[tuple[str, str, str | None], str] = {}  # (file, canonical name, version) -> bom-ref

    def add_manifest(self, manifest: Manifest) -> None:
        keys: dict[Key, str] = {}
        index = _sole_index(manifest)
        licences, graph = installed_facts(manifest, self.root)
        if graph is not None:
            self.installed_graphs[id(manifest)] = graph
        for pin in manifest.pins:
            if pin.source is None and index is not None:
                pin = dataclasses.replace(pin, source=Source("index", index))
            ref = self._add(pin, manifest, licences.get(pin.file, []))
            keys[(canonicalize_name(pin.name), pin.version)] = ref
            self.ref_of[(pin.file, canonicalize_name(pin.name), pin.version)] = ref
        self.refs[id(manifest)] = keys

    def _add(self, pin: Pin, manifest: Manifest, known_licences: list[dict[str, Any]]) -> str:
        ref = ref_for(pin)
        component = self.by_ref.get(ref)
        if component is None:
            component = {"type": "library", "bom-ref": ref, "name": pin.name}
            if pin.version:
                component["version"] = pin.version
            licenses = license_entries(getattr(pin, "license", None)) or known_licences
            if licenses:
                component["licenses"] = licenses
            purl = purl_for(pin)
            if purl is not None:
                component["purl"] = purl
            references = self._references(pin)
            if references:
                component["externalReferences"] = references
            self.by_ref[ref] = component
        self.hashes.setdefault(ref, set()).update(h for h in pin.hashes if isinstance(h, str))
        props = self.props.setdefault(ref, set())
        props.add(("mlwarden:declared-in", manifest.file))
        if pin.specifier and not pin.version:
            props.add(("mlwarden:specifier", pin.specifier))
        if pin.markers:
            props.add(("mlwarden:marker", str(pin.markers)))
        source = pin.source
        if source is not None and source.kind == "vcs" and source.ref and source.commit and source.ref != source.commit:
            props.add(("mlwarden:vcs-requested-ref", redact(source.ref)))
        if source is not None and source.kind == "path":
            props.add(("mlwarden:local-path", redact(source.url)))
        if source is not None and source.kind in ("vcs", "url", "index") and _url(source.url) is None:
            props.add(("mlwarden:source", redact(source.url)))  # not an IRI (an scp-like git address)
        return ref

    @staticmethod
    def _references(pin: Pin) -> list[dict[str, str]]:
        source = pin.source
        if source is None:
            return []
        url = _url(source.url)
        if url is None:
            return []
        if source.kind == "vcs":
            return [{"type": "vcs", "url": url}]
        if source.kind == "url" or (source.kind == "index" and not _is_pypi(source.url)):
            return [{"type": "distribution", "url": url}]
        return []

    def components(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ref, component in self.by_ref.items():
            hashes = hashes_of(sorted(self.hashes.get(ref, ())))
            if hashes:
                component["hashes"] = hashes
            component["properties"] = _properties(sorted(self.props.get(ref, ())))
            out.append({k: component[k] for k in _ORDER if k in component})
        return out

    def graph(self, root: Path, manifests: list[Manifest], root_ref: str) -> tuple[dict[str, set[str]], str | None]:
        """ref -> dependsOn, from each lock's recorded graph; flat (with a note naming the files) where there
        is none."""
        dependencies: dict[str, set[str]] = {root_ref: set()}
        flat: list[str] = []
        for manifest in manifests:
            keys = self.refs.get(id(manifest), {})
            lock = (_pin_graph(manifest) or self.installed_graphs.get(id(manifest))
                    or read_graph(root / manifest.file, manifest.kind))
            if lock is None:
                flat.append(manifest.file)
                dependencies[root_ref] |= set(keys.values())
                continue
            by_name: dict[str, set[str]] = {}
            for (name, _), ref in keys.items():
                by_name.setdefault(name, set()).add(ref)

            def resolve(key: Key, by_name: dict[str, set[str]] = by_name, keys: dict[Key, str] = keys) -> set[str]:
                return {keys[key]} if key[1] is not None and key in keys else set(by_name.get(key[0], ()))

            incoming: set[str] = set()
            for key, ref in keys.items():
                targets = lock.edges.get(key, lock.edges.get((key[0], None), set()))
                found = set().union(*(resolve(t) for t in targets)) - {ref} if targets else set()
                dependencies.setdefault(ref, set()).update(found)
                incoming |= found
            roots = set().union(*(resolve(k) for k in lock.roots)) if lock.roots else set()
            dependencies[root_ref] |= roots or (set(keys.values()) - incoming)
        note = FLAT_NOTE.format(files=", ".join(sorted(set(flat)))) if flat else None
        return dependencies, note


def _pin_graph(manifest: Manifest) -> LockGraph | None:
    """The graph from the pins themselves, when the dependency model records edges (`Pin.dependencies`)."""
    if not manifest.pins or all(getattr(pin, "dependencies", None) is None for pin in manifest.pins):
        return None
    graph = LockGraph()
    for pin in manifest.pins:
        names = getattr(pin, "dependencies", None) or ()
        graph.edges[(canonicalize_name(pin.name), pin.version)] = {
            (canonicalize_name(str(n)), None) for n in names if isinstance(n, str)}
    return graph


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
        props = [("mlwarden:path", rel)]
        component: dict[str, Any] = {"type": kind, "bom-ref": f"file:{rel}", "name": rel}
        result = digests.get(path)
        if result is not None and result.digest:
            component["hashes"] = [{"alg": "SHA-256", "content": result.digest}]
        elif result is not None and result.error:
            props.append(("mlwarden:error", result.error))
        if kind == "machine-learning-model":
            scanned, _ = scan_model_file(path, rel, budgets=config.budgets, extra_safe=extra)
            worst = max((f.severity for f in scanned.findings), default=None)
            fmt = "+".join(dict.fromkeys(scanned.formats)) or "unknown"
            props.append(("mlwarden:format", fmt))
            props.append(("mlwarden:verdict", worst.label if worst is not None else "clean"))
            rules = sorted({f.rule for f in scanned.findings})
            if rules:
                props.append(("mlwarden:rules", ",".join(rules)))
            if scanned.error:
                props.append(("mlwarden:error", scanned.error.message))
            card = [("mlwarden:format", fmt), ("mlwarden:file", rel)]
            component["modelCard"] = {"properties": _properties(card)}
        else:
            fmt = path.suffix.lower().lstrip(".")
            props.append(("mlwarden:format", fmt))
            component["data"] = [{"type": "dataset", "name": rel}]
        component["properties"] = _properties(props)
        out.append(component)
    return out


def _hf_components(cache: Path, root: Path, config: Config, policy: Policy) -> list[dict[str, Any]]:
    from mlwarden.hub.scan import scan_hf
    from mlwarden.hub.verify import resolve_targets

    targets, _ = resolve_targets([cache])
    report = scan_hf(targets, root, policy, config.budgets)
    out = []
    for item in report.inventory.get("hf", []):
        repo, commit, repo_type = str(item["repo_id"]), item["commit"], str(item["repo_type"])
        namespace, _, name = repo.rpartition("/")
        purl = purls.build("huggingface", name, commit, namespace=namespace or None)
        page = "https://huggingface.co/" + ("datasets/" if repo_type == "dataset" else "") + quote(repo)
        props = [("mlwarden:verdict", str(item["verdict"])), ("mlwarden:files", str(item["files"]))]
        if item["refs"]:
            props.append(("mlwarden:refs", ",".join(map(str, item["refs"]))))
        card = [("mlwarden:repo-type", repo_type), ("mlwarden:source-revision", str(commit or "unknown"))]
        if item.get("allowed_by"):
            card.append(("mlwarden:allowed-by", str(item["allowed_by"])))
        component: dict[str, Any] = {
            "type": "data" if repo_type == "dataset" else "machine-learning-model",
            "bom-ref": purl, "name": repo,
        }
        if commit:
            component["version"] = str(commit)
        component["purl"] = purl
        component["externalReferences"] = [{"type": "distribution", "url": page}]
        snapshot = Path(str(item.get("path", "")))
        files, formats = _hf_files(snapshot if snapshot.is_absolute() else root / snapshot, repo,
                                   namespace or None, name, commit)
        if formats:
            card.append(("mlwarden:formats", ",".join(formats)))
        if files:
            component["components"] = files
        if repo_type == "dataset":
            component["data"] = [{"type": "dataset", "name": repo, "contents": {"url": page}}]
        else:
            component["modelCard"] = {"properties": _properties(card)}
        component["properties"] = _properties(props + (card if repo_type == "dataset" else []))
        out.append(component)
    return out


_MODEL_SUFFIXES = {".safetensors": "safetensors", ".bin": "pytorch-bin", ".pt": "pytorch", ".pth": "pytorch",
                   ".ckpt": "checkpoint", ".onnx": "onnx", ".h5": "hdf5", ".keras": "keras", ".gguf": "gguf",
                   ".msgpack": "flax", ".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib", ".npz": "numpy",
                   ".npy": "numpy", ".tflite": "tflite", ".mlmodel": "coreml", ".pb": "tensorflow"}
_MAX_HF_FILES = 10_000
_HF_HASH_SOURCE = "Hugging Face cache blob name (checked by mlwarden hf verify)"


def _hf_files(snapshot: Path, repo: str, namespace: str | None, name: str,
              commit: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """The files of a cached revision whose blob is named by its SHA-256 (Git LFS files: the weights), as
    `file` sub-components, and the model formats present. Blob names are read from the links, never the
    content; `mlwarden hf verify` is what checks that each blob matches its name."""
    import os

    files: list[dict[str, Any]] = []
    formats: set[str] = set()
    seen = 0
    for folder, dirs, names in os.walk(snapshot):
        dirs.sort()
        for file_name in sorted(names):
            seen += 1
            if seen > _MAX_HF_FILES:
                return files, sorted(formats)
            path = Path(folder) / file_name
            rel = path.relative_to(snapshot).as_posix()
            suffix = path.suffix.lower()
            if suffix in _MODEL_SUFFIXES:
                formats.add(_MODEL_SUFFIXES[suffix])
            try:
                blob = os.path.basename(os.readlink(path)) if path.is_symlink() else ""
            except OSError:
                continue
            if _HEX.fullmatch(blob) and len(blob) == 64:
                ref = purls.build("huggingface", name, commit, namespace=namespace, subpath=rel)
                files.append({"type": "file", "bom-ref": ref, "name": f"{repo}/{rel}",
                              "hashes": [{"alg": "SHA-256", "content": blob}],
                              "properties": [{"name": "mlwarden:hash-source", "value": _HF_HASH_SOURCE}]})
    return files, sorted(formats)


# --- vulnerabilities -------------------------------------------------------------------------------------------
def _vulnerabilities(manifests: list[Manifest], osv_db: str, policy: Policy,
                     refs: dict[tuple[str, str, str | None], str], *,
                     max_age_days: int | None = None) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """VEX entries, and the database's warnings (records it could not read). The configuration's
    osv-max-age-days applies as it does to `audit`."""
    from mlwarden.deps.audit import auditable_pins
    from mlwarden.deps.osv import OsvDatabase

    database = OsvDatabase.load(Path(osv_db), max_age_days=max_age_days)
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
            entry["affects"].append({"ref": refs.get((pin.file, canonicalize_name(pin.name), pin.version),
                                                     ref_for(pin))})
            waiver = policy.vulnerability_waiver({advisory.id, *advisory.aliases})
            if waiver is not None:
                entry["analysis"] = {"state": "not_affected", "justification": "protected_by_mitigating_control",
                                     "detail": f"Waived by {waiver.owner} until {waiver.expires}: {waiver.reason}"}
    for entry in by_id.values():
        entry["affects"] = sorted({a["ref"]: a for a in entry["affects"]}.values(), key=lambda a: a["ref"])
    return [by_id[key] for key in sorted(by_id)], database.stats.warnings


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
