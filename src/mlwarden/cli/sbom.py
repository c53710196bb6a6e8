"""`mlwarden sbom generate|check|validate|diff`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlwarden.paths import resolved


def _common(func: Any, spec_default: str | None = "1.6") -> Any:
    func = click.option("--hf-cache", type=click.Path(file_okay=False, path_type=Path),
                        help="Also list the repositories of this Hugging Face cache.")(func)
    func = click.option("--db", type=click.Path(path_type=Path),
                        help="OSV database for the vulnerabilities (default: osv-db in the configuration).")(func)
    func = click.option("--spec", type=click.Choice(["1.6", "1.5"]), default=spec_default,
                        show_default=spec_default is not None,
                        help="CycloneDX specification version" + (
                            "." if spec_default else " (default: the committed SBOM's, else 1.6).")
                        )(func)
    return func


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _build(hf_cache: Path | None, db: Path | None, spec: str, *, timestamp: bool = False,
           serial: bool = False, installed: tuple[Path, ...] = (), staged: bool = False) -> tuple[dict[str, Any], Path]:
    from mlwarden.cli._common import Options as RunOptions
    from mlwarden.cli._common import load_run, targets_for
    from mlwarden.sbom.build import Options, generate

    run = load_run(RunOptions())
    root, config, policy = run.root, run.config, run.policy
    target = _target(root, config)
    # Only what git tracks (an untracked scratch file is not part of the project); outside git, a walk.
    found = targets_for((), run, default_to_root=True, untracked=False).found
    options = Options(spec=spec, hf_cache=hf_cache, osv_db=str(db) if db else config.osv_db,
                      timestamp=_now() if timestamp else None, serial=serial, installed=installed)
    if not staged:
        files = [f for f in found if resolved(f) != resolved(target)]
        return generate(root, files, config, policy, options), target
    import tempfile

    from mlwarden.discover import index_snapshot

    with tempfile.TemporaryDirectory(prefix="mlwarden-sbom-") as tmp:
        # --staged: every tracked file as the index holds it, laid out like the repository.
        # The copy keeps the repository's folder name: a project without metadata is named after it.
        copy = Path(tmp) / root.name
        snapshot = index_snapshot(root, copy)
        relative = target.relative_to(root) if target.is_relative_to(root) else None
        files = [f for f in snapshot if relative is None or f != copy / relative]
        return generate(copy, files, config, policy, options), target


@click.group(short_help="CycloneDX SBOM: generate, check freshness, validate, diff.")
def sbom() -> None:
    """A CycloneDX SBOM of the project: Python dependencies, models and datasets, vulnerabilities."""


_staged_option = click.option(
    "--staged", is_flag=True, help="Only the files in git's index (what the commit will hold; untracked files are "
    "left out). The mlwarden-sbom hook uses it.")


@sbom.command(short_help="Write the SBOM (reproducible: same inputs, same bytes).")
@_common
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write (default: sbom/<project>.cdx.json, or sbom in the configuration); - for stdout.")
@click.option("--timestamp", is_flag=True, help="Add the generation time (the output then changes every run).")
@click.option("--serial-number", is_flag=True, help="Add a random serial number (changes every run).")
@click.option("--format", "fmt", type=click.Choice(["json", "xml"]), default="json", show_default=True)
@click.option("--installed", "installed", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Describe an installed environment (a virtualenv or site-packages folder: its *.dist-info, with "
                   "licences and the Requires-Dist graph) instead of the dependency files. Repeatable.")
@_staged_option
def generate(hf_cache: Path | None, db: Path | None, spec: str, output: Path | None, timestamp: bool,
             serial_number: bool, fmt: str, installed: tuple[Path, ...], staged: bool) -> int:
    """Generate a CycloneDX JSON SBOM: the Python dependencies of the project's lock files (else
    requirements, else pyproject.toml) with every hash, purls and the dependency graph the lock records; the
    models (with the scanner's verdict and a model card) and datasets in the tree with sha256; with --hf-cache
    the cached Hugging Face repositories (pkg:huggingface purls at their commit); with an OSV database, known
    vulnerabilities and the policy's waivers as VEX."""
    from mlwarden.sbom.build import dumps, to_xml
    from mlwarden.sbom.freshness import write_sbom

    bom, target = _build(hf_cache, db, spec, timestamp=timestamp, serial=serial_number, installed=installed,
                         staged=staged)
    text = dumps(bom) if fmt == "json" else to_xml(bom)
    if fmt == "xml" and output is None:
        target = target.with_name(target.name.removesuffix(".json") + ".xml")
    if output is not None and str(output) == "-":
        click.echo(text, nl=False)
        return 0
    destination = output or target
    write_sbom(destination, text)
    click.echo(f"mlwarden: wrote {destination} ({len(bom['components'])} components)", err=True)
    return 0


def _check_options(func: Any) -> Any:
    return _common(func, spec_default=None)


@sbom.command(short_help="Regenerate and compare with the committed SBOM (the mlwarden-sbom hook).")
@_check_options
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path),
              help="The committed SBOM (default: sbom/<project>.cdx.json, or sbom in the configuration).")
@click.option("--check", "check_only", is_flag=True, help="Fail when stale without rewriting it (for CI).")
@_staged_option
def check(hf_cache: Path | None, db: Path | None, spec: str | None, file_: Path | None, check_only: bool,
          staged: bool) -> int:
    """Regenerate the SBOM and compare its CONTENT with the committed one (formatting, order, timestamp and
    serial number do not count). Up to date: exit 0, nothing written. Stale, missing or not a valid CycloneDX
    document: rewrite it (unless --check), say so, exit 1."""
    from mlwarden.sbom.build import dumps
    from mlwarden.sbom.freshness import committed, stale_reason, write_sbom

    config_target = _build_target()
    path = file_ or config_target
    current, _ = committed(path)
    if spec is None:
        spec = str(current["specVersion"]) if current is not None else "1.6"
    stamped = current is not None and isinstance(current.get("metadata"), dict) and "timestamp" in current["metadata"]
    bom, _ = _build(hf_cache, db, spec, timestamp=stamped, serial=current is not None and "serialNumber" in current,
                    staged=staged)
    problem = stale_reason(path, bom)
    if problem is None:
        click.echo(f"mlwarden: {path} is up to date", err=True)
        return 0
    if check_only:
        click.echo(f"mlwarden: {path} {problem}: run `mlwarden sbom generate` and commit it", err=True)
        return 1
    write_sbom(path, dumps(bom))
    click.echo(f"mlwarden: {path} {problem}: rewrote it; review and `git add {path}`", err=True)
    return 1


def _build_target() -> Path:
    from mlwarden.cli._common import Options as RunOptions
    from mlwarden.cli._common import load_run

    run = load_run(RunOptions())
    return _target(run.root, run.config)


def _target(root: Path, config: Any) -> Path:
    from mlwarden.sbom.build import project_identity

    return root / (config.sbom or f"sbom/{project_identity(root)[0]}.cdx.json")


@sbom.command(short_help="Validate a CycloneDX JSON document against the official schema.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def validate(path: Path) -> int:
    """Validate a CycloneDX 1.5/1.6 JSON document against the official schema (bundled), formats included:
    date-times, e-mail addresses and URLs must be well-formed. Exit 1 with every problem when invalid, 2 when
    the file cannot be read."""
    from mlwarden.sbom.validate import NotJson, load_document
    from mlwarden.sbom.validate import validate as run

    try:
        doc = load_document(path)
    except NotJson as exc:
        click.echo(str(exc))
        click.echo(f"mlwarden: {path} is invalid CycloneDX", err=True)
        return 1
    errors = run(doc)
    for error in errors:
        click.echo(f"{path}: {error}")
    click.echo(f"mlwarden: {path} is {'invalid' if errors else 'valid'} CycloneDX", err=True)
    return 1 if errors else 0


@sbom.command(short_help="Components and vulnerabilities added, removed and changed.")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def diff(old: Path, new: Path, fmt: str) -> int:
    """What changed between two CycloneDX SBOMs: components added, removed and changed field by field
    (version, purl, hashes, licences, repository and VCS URLs, properties, model card, dependencies),
    project metadata, vulnerabilities gained, lost and re-assessed. Markdown suits a pull-request comment.
    A document that is not CycloneDX 1.5/1.6 JSON is refused (exit 2)."""
    from mlwarden.sbom.diff import diff as run
    from mlwarden.sbom.diff import render
    from mlwarden.sbom.validate import load_document

    docs = [load_document(path) for path in (old, new)]
    click.echo(render(run(docs[0], docs[1], (str(old), str(new))), fmt), nl=False)
    return 0
