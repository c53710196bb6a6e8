"""`mlwarden sbom generate|check|validate|diff`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _common(func: Any) -> Any:
    func = click.option("--hf-cache", type=click.Path(file_okay=False, path_type=Path),
                        help="Also list the repositories of this Hugging Face cache.")(func)
    func = click.option("--db", type=click.Path(path_type=Path),
                        help="OSV database for the vulnerabilities (default: osv-db in the configuration).")(func)
    func = click.option("--spec", type=click.Choice(["1.6", "1.5"]), default="1.6", show_default=True,
                        help="CycloneDX specification version.")(func)
    return func


def _build(hf_cache: Path | None, db: Path | None, spec: str, *, timestamp: bool = False,
           serial: bool = False) -> tuple[dict[str, Any], Path]:
    import datetime as dt

    from mlwarden.cli._common import Options as RunOptions
    from mlwarden.cli._common import load_run, targets_for
    from mlwarden.sbom.build import Options, generate, project_identity

    run = load_run(RunOptions())
    root, config, policy = run.root, run.config, run.policy
    target = root / (config.sbom or f"sbom/{project_identity(root)[0]}.cdx.json")
    found = targets_for((), run, default_to_root=True).found  # what git holds, not every file on disk
    files = [f for f in found if f.resolve() != target.resolve()]
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if timestamp else None
    options = Options(spec=spec, hf_cache=hf_cache, osv_db=str(db) if db else config.osv_db, timestamp=now,
                      serial=serial)
    return generate(root, files, config, policy, options), target


@click.group(short_help="CycloneDX SBOM: generate, check freshness, validate, diff.")
def sbom() -> None:
    """A CycloneDX SBOM of the project: Python dependencies, models and datasets, vulnerabilities."""


@sbom.command(short_help="Write the SBOM (reproducible: same inputs, same bytes).")
@_common
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write (default: sbom/<project>.cdx.json, or sbom in the configuration); - for stdout.")
@click.option("--timestamp", is_flag=True, help="Add the generation time (the output then changes every run).")
@click.option("--serial-number", is_flag=True, help="Add a random serial number (changes every run).")
@click.option("--format", "fmt", type=click.Choice(["json", "xml"]), default="json", show_default=True)
def generate(hf_cache: Path | None, db: Path | None, spec: str, output: Path | None, timestamp: bool,
             serial_number: bool, fmt: str) -> int:
    """Generate a CycloneDX JSON SBOM: the Python dependencies of the project's lock files (else
    requirements, else pyproject.toml) with hashes and purls; the models (with the scanner's verdict) and
    datasets in the tree with sha256; with --hf-cache the cached Hugging Face repositories
    (pkg:huggingface purls); with an OSV database, known vulnerabilities and the policy's waivers as VEX."""
    from mlwarden.cli._common import write_atomic
    from mlwarden.sbom.build import dumps, to_xml

    bom, target = _build(hf_cache, db, spec, timestamp=timestamp, serial=serial_number)
    text = dumps(bom) if fmt == "json" else to_xml(bom)
    if fmt == "xml" and output is None:
        target = target.with_name(target.name.removesuffix(".json") + ".xml")
    if output is not None and str(output) == "-":
        click.echo(text, nl=False)
        return 0
    destination = output or target
    write_atomic(destination, text)
    click.echo(f"mlwarden: wrote {destination} ({len(bom['components'])} components)", err=True)
    return 0


@sbom.command(short_help="Regenerate and compare with the committed SBOM (the mlwarden-sbom hook).")
@_common
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path),
              help="The committed SBOM (default: sbom/<project>.cdx.json, or sbom in the configuration).")
@click.option("--check", "check_only", is_flag=True, help="Fail when stale without rewriting it (for CI).")
def check(hf_cache: Path | None, db: Path | None, spec: str, file_: Path | None, check_only: bool) -> int:
    """Regenerate the SBOM and compare it with the committed one. Up to date: exit 0, nothing written.
    Stale, missing or not a valid CycloneDX document: rewrite it (unless --check), say so, exit 1."""
    from mlwarden.cli._common import write_atomic
    from mlwarden.sbom.build import dumps

    bom, target = _build(hf_cache, db, spec)
    path = file_ or target
    fresh = dumps(bom)
    problem = None
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current, problem = None, "does not exist"
    except (OSError, UnicodeDecodeError) as exc:
        current, problem = None, f"cannot be read ({exc}); replace it"
    if current is not None and current != fresh:
        try:
            doc = json.loads(current)
            problem = "is stale" if isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX" else \
                "is not a CycloneDX document; replace it"
        except ValueError:
            problem = "is not valid JSON; replace it"
    if problem is None:
        click.echo(f"mlwarden: {path} is up to date", err=True)
        return 0
    if check_only:
        click.echo(f"mlwarden: {path} {problem}: run `mlwarden sbom generate` and commit it", err=True)
        return 1
    write_atomic(path, fresh)
    click.echo(f"mlwarden: {path} {problem}: rewrote it; review and `git add {path}`", err=True)
    return 1


@sbom.command(short_help="Validate a CycloneDX JSON document against the schema.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def validate(path: Path) -> int:
    """Validate a CycloneDX 1.5/1.6 JSON document against the schema cyclonedx-python-lib ships
    (structure only; formats are advisory in JSON Schema). Exit 1 with every problem when invalid."""
    from mlwarden.errors import InputError
    from mlwarden.sbom.validate import validate as run

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read: {exc}") from None
    except ValueError as exc:
        click.echo(f"{path}: not valid JSON: {exc}")
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
    """What changed between two SBOMs: components added, removed and changed (version, hashes, verdict),
    vulnerabilities gained and lost. Markdown suits a pull-request comment."""
    from mlwarden.errors import InputError
    from mlwarden.sbom.diff import diff as run
    from mlwarden.sbom.diff import render

    docs = []
    for path in (old, new):
        try:
            docs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{path}: not a readable JSON SBOM: {exc}") from None
    click.echo(render(run(docs[0], docs[1]), fmt), nl=False)
    return 0
