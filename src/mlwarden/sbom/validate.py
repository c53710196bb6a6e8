"""Validate a CycloneDX JSON document against the schema cyclonedx-python-lib ships, in well under a second.

cyclonedx-python-lib's own JSON validator enables jsonschema's format checkers, whose URI grammar alone takes
about 0.2 s per URL (13 to 30 s for an ordinary SBOM, research note §4). Formats are advisory in JSON
Schema; we validate the structure with the same schema files and no format checker.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

SPECS = ("1.5", "1.6")


def _schema_dir() -> Path:
    try:
        import cyclonedx.schema._res as res  # the library's shipped schema files
    except ImportError as exc:
        from mlwarden.errors import ConfigError

        raise ConfigError(f"validation needs cyclonedx-python-lib (pip install 'mlwarden[sbom]'): {exc}") from None
    return Path(res.__file__).parent


@lru_cache(maxsize=4)
def _validator(spec: str) -> Any:
    if "jsonschema" not in sys.modules:
        # jsonschema imports its format checkers eagerly, and the URI one builds a grammar (rfc3987-syntax,
        # pulled in by cyclonedx-python-lib's extras) for 1.6 s at import. No format is checked here: keep it
        # out of this process.
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import jsonschema
    from referencing import Registry, Resource

    folder = _schema_dir()
    registry: Registry[Any] = Registry()
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json", f"bom-{spec}.SNAPSHOT.schema.json"):
        contents = json.loads((folder / name).read_text(encoding="utf-8"))
        resource = Resource.from_contents(contents)
        registry = registry.with_resources([(f"http://cyclonedx.org/schema/{name}", resource),
                                            (str(contents.get("$id", name)), resource)])
    schema = json.loads((folder / f"bom-{spec}.SNAPSHOT.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, registry=registry)


def validate(doc: Any) -> list[str]:
    """Every problem, as "path: message"; empty when the document is valid CycloneDX JSON."""
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        return ["$: not a CycloneDX document (bomFormat is not 'CycloneDX')"]
    spec = str(doc.get("specVersion"))
    if spec not in SPECS:
        return [f"$.specVersion: {spec!r} is not supported (expected one of {', '.join(SPECS)})"]
    errors = []
    for error in sorted(_validator(spec).iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        errors.append(f"{where}: {error.message[:300]}")
    return errors
