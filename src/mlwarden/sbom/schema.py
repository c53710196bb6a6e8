"""A JSON Schema draft-07 validator for the keywords the bundled CycloneDX 1.5/1.6 schemas use, with formats.

Bundled rather than jsonschema because jsonschema is an optional extra here (it pulls referencing and the
compiled rpds-py, and checks formats only with more optional packages installed): `sbom validate` must be
strict in a bare install. Keywords outside the schemas' vocabulary are refused when the schema is loaded, so a
future schema cannot be half-checked silently. tests/sbom/test_schema.py checks it agrees with jsonschema.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlwarden.sbom.formats import CHECKERS

SCHEMA_DIR = Path(__file__).parent / "schemas"
SPECS = ("1.5", "1.6")
_FILES = ("spdx.schema.json", "jsf-0.82.schema.json", "bom-1.5.schema.json", "bom-1.6.schema.json")
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "examples",
                          "deprecated", "meta:enum", "definitions", "readOnly", "writeOnly"})
_KEYWORDS = frozenset({"$ref", "type", "enum", "const", "format", "pattern", "minLength", "maxLength", "minimum",
                       "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
                       "uniqueItems", "items", "additionalItems", "contains", "properties", "patternProperties",
                       "additionalProperties", "required", "minProperties", "maxProperties", "propertyNames",
                       "dependencies", "allOf", "anyOf", "oneOf", "not", "if", "then", "else"})


@dataclass(frozen=True)
class SchemaError:
    path: tuple[str | int, ...]
    message: str

    def where(self) -> str:
        return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)


class _Store:
    """The bundled schema documents by file name and $id; resolves `file#/json/pointer` references."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        for name in _FILES:
            doc = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
            _check_vocabulary(doc, name)
            self.docs[name] = doc
            self.docs[str(doc.get("$id", name))] = doc
        self.patterns: dict[str, re.Pattern[str]] = {}
        self.resolved: dict[tuple[str, str], tuple[Any, str]] = {}
        self.enums: dict[int, frozenset[Any]] = {}  # id of an enum list (the schemas live as long as the store)

    def enum(self, values: list[Any]) -> frozenset[Any]:
        key = id(values)
        if key not in self.enums:
            self.enums[key] = frozenset(_canonical(v) for v in values)
        return self.enums[key]

    def resolve(self, ref: str, base: str) -> tuple[Any, str]:
        key = (ref, base)
        if key not in self.resolved:
            self.resolved[key] = self._resolve(ref, base)
        return self.resolved[key]

    def _resolve(self, ref: str, base: str) -> tuple[Any, str]:
        target, _, pointer = ref.partition("#")
        name = target.rsplit("/", 1)[-1] if target else base
        doc = self.docs[name]
        node: Any = doc
        for part in filter(None, pointer.split("/")):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node, name

    def pattern(self, text: str) -> re.Pattern[str]:
        if text not in self.patterns:
            self.patterns[text] = re.compile(text)
        return self.patterns[text]


def _check_vocabulary(node: Any, name: str) -> None:
    if isinstance(node, dict):
        unknown = set(node) - _KEYWORDS - _ANNOTATIONS
        if unknown:
            raise ValueError(f"{name}: schema keyword(s) this validator does not implement: {sorted(unknown)}")
        for key, value in node.items():
            if key in ("properties", "patternProperties", "definitions", "dependencies"):
                for sub in value.values():
                    _check_vocabulary(sub, name)
            elif key in ("items", "allOf", "anyOf", "oneOf") and isinstance(value, list):
                for sub in value:
                    _check_vocabulary(sub, name)
            elif key in ("items", "additionalItems", "additionalProperties", "contains", "propertyNames", "not",
                         "if", "then", "else") and isinstance(value, dict):
                _check_vocabulary(value, name)


@lru_cache(maxsize=1)
def _store() -> _Store:
    return _Store()


def _is_type(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, (int, float))
    return False


def _canonical(value: Any) -> Any:
    """A hashable form in which JSON-equal values are equal (1 == 1.0, but true != 1, key order ignored)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, (int, float)):
        return ("number", float(value) if isinstance(value, float) and not value.is_integer() else int(value))
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        # sorted by the key's text: a document built in Python (not parsed JSON) may mix int and str keys
        return ("object", tuple(sorted(((k, _canonical(v)) for k, v in value.items()), key=lambda kv: repr(kv[0]))))
    return ("other", repr(value))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Validator:
    def __init__(self, store: _Store) -> None:
        self.store = store

    def errors(self, value: Any, schema: Any, base: str, path: tuple[str | int, ...], out: list[SchemaError]) -> None:
        if schema is True or schema == {}:
            return
        if schema is False:
            out.append(SchemaError(path, "no value is allowed here"))
            return
        if "$ref" in schema:  # draft-07: $ref siblings are ignored
            target, name = self.store.resolve(schema["$ref"], base)
            self.errors(value, target, name, path, out)
            return
        kinds = schema.get("type")
        if kinds is not None:
            allowed = [kinds] if isinstance(kinds, str) else kinds
            if not any(_is_type(value, k) for k in allowed):
                out.append(SchemaError(path, f"{_short(value)} is not of type {' or '.join(map(repr, allowed))}"))
                return  # the other keywords would only repeat the type error
        if "enum" in schema and _canonical(value) not in self.store.enum(schema["enum"]):
            out.append(SchemaError(path, f"{_short(value)} is not one of {_short(schema['enum'])}"))
        if "const" in schema and _canonical(value) != _canonical(schema["const"]):
            out.append(SchemaError(path, f"{_short(schema['const'])} was expected"))
        if isinstance(value, str):
            self._string(value, schema, path, out)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._number(value, schema, path, out)
        elif isinstance(value, list):
            self._array(value, schema, base, path, out)
        elif isinstance(value, dict):
            self._object(value, schema, base, path, out)
        self._combinators(value, schema, base, path, out)

    def _string(self, value: str, schema: dict[str, Any], path: tuple[str | int, ...], out: list[SchemaError]) -> None:
        length = len(value)  # code points, as JSON Schema counts
        if "minLength" in schema and length < schema["minLength"]:
            out.append(SchemaError(path, f"{_short(value)} is too short"))
        if "maxLength" in schema and length > schema["maxLength"]:
            out.append(SchemaError(path, f"{_short(value)} is too long"))
        if "pattern" in schema and not self.store.pattern(schema["pattern"]).search(value):
            out.append(SchemaError(path, f"{_short(value)} does not match {schema['pattern']!r}"))
        checker = CHECKERS.get(schema.get("format", ""))
        if checker is not None and not checker(value):
            out.append(SchemaError(path, f"{_short(value)} is not a valid {schema['format']}"))

    def _number(self, value: float, schema: dict[str, Any], path: tuple[str | int, ...],
                out: list[SchemaError]) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            out.append(SchemaError(path, f"{_short(value)} is less than the minimum of {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            out.append(SchemaError(path, f"{_short(value)} is greater than the maximum of {schema['maximum']}"))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(SchemaError(path, f"{_short(value)} must be greater than {schema['exclusiveMinimum']}"))
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            out.append(SchemaError(path, f"{_short(value)} must be less than {schema['exclusiveMaximum']}"))
        if "multipleOf" in schema and (value / schema["multipleOf"]) % 1:
            out.append(SchemaError(path, f"{_short(value)} is not a multiple of {schema['multipleOf']}"))

    def _array(self, value: list[Any], schema: dict[str, Any], base: str,
               path: tuple[str | int, ...], out: list[SchemaError]) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(SchemaError(path, f"should have at least {schema['minItems']} item(s)"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(SchemaError(path, f"should have at most {schema['maxItems']} item(s)"))
        if schema.get("uniqueItems"):
            seen: set[Any] = set()
            for index, item in enumerate(value):
                key = _canonical(item)
                if key in seen:
                    out.append(SchemaError((*path, index), "duplicate item (the array's items must be unique)"))
                    break
                seen.add(key)
        items = schema.get("items")
        if isinstance(items, list):
            for index, (item, sub) in enumerate(zip(value, items, strict=False)):
                self.errors(item, sub, base, (*path, index), out)
            extra = schema.get("additionalItems", True)
            for index in range(len(items), len(value)):
                self.errors(value[index], extra, base, (*path, index), out)
        elif items is not None:
            for index, item in enumerate(value):
                self.errors(item, items, base, (*path, index), out)
        if "contains" in schema and not any(self._ok(item, schema["contains"], base) for item in value):
            out.append(SchemaError(path, "no item matches the schema of 'contains'"))

    def _object(self, value: dict[str, Any], schema: dict[str, Any], base: str,
                path: tuple[str | int, ...], out: list[SchemaError]) -> None:
        for name in schema.get("required", ()):
            if name not in value:
                out.append(SchemaError(path, f"{name!r} is a required property"))
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            out.append(SchemaError(path, f"should have at least {schema['minProperties']} properties"))
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            out.append(SchemaError(path, f"should have at most {schema['maxProperties']} properties"))
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            matched = False
            if key in properties:
                matched = True
                self.errors(item, properties[key], base, (*path, key), out)
            for pattern, sub in patterns.items():
                if self.store.pattern(pattern).search(key):
                    matched = True
                    self.errors(item, sub, base, (*path, key), out)
            if not matched and extra is not True:
                if extra is False:
                    out.append(SchemaError(path, f"additional property {_short(key)} is not allowed"))
                else:
                    self.errors(item, extra, base, (*path, key), out)
            if "propertyNames" in schema:
                self.errors(key, schema["propertyNames"], base, (*path, key), out)
        for key, needed in schema.get("dependencies", {}).items():
            if key in value:
                if isinstance(needed, list):
                    for name in needed:
                        if name not in value:
                            out.append(SchemaError(path, f"{name!r} is required when {key!r} is present"))
                else:
                    self.errors(value, needed, base, path, out)

    def _combinators(self, value: Any, schema: dict[str, Any], base: str,
                     path: tuple[str | int, ...], out: list[SchemaError]) -> None:
        for sub in schema.get("allOf", ()):
            self.errors(value, sub, base, path, out)
        if "anyOf" in schema:
            self._alternatives(value, schema["anyOf"], base, path, out, exactly_one=False)
        if "oneOf" in schema:
            self._alternatives(value, schema["oneOf"], base, path, out, exactly_one=True)
        if "not" in schema and self._ok(value, schema["not"], base):
            out.append(SchemaError(path, f"{_short(value)} should not be valid under {_short(schema['not'])}"))
        if "if" in schema:
            branch = "then" if self._ok(value, schema["if"], base) else "else"
            if branch in schema:
                self.errors(value, schema[branch], base, path, out)

    def _alternatives(self, value: Any, options: list[Any], base: str, path: tuple[str | int, ...],
                      out: list[SchemaError], *, exactly_one: bool) -> None:
        results: list[list[SchemaError]] = []
        for sub in options:
            found: list[SchemaError] = []
            self.errors(value, sub, base, path, found)
            results.append(found)
        valid = sum(1 for errors in results if not errors)
        if valid == 0:
            # The alternative that got furthest (errors deepest in the value, then fewest) explains it best.
            closest = min(results, key=lambda errors: (-max(len(e.path) for e in errors), len(errors)))
            out.append(SchemaError(path, f"not valid under any of the {len(options)} allowed shapes "
                                         f"(closest: {closest[0].where()}: {closest[0].message})"))
        elif exactly_one and valid > 1:
            out.append(SchemaError(path, f"valid under {valid} of the allowed shapes, exactly one is required"))

    def _ok(self, value: Any, schema: Any, base: str) -> bool:
        found: list[SchemaError] = []
        self.errors(value, schema, base, (), found)
        return not found


def schema_errors(doc: Any, spec: str) -> list[SchemaError]:
    """Every schema violation of `doc` against the bundled CycloneDX `spec` JSON schema, in document order."""
    if spec not in SPECS:
        raise ValueError(f"unsupported CycloneDX version {spec!r}")
    store = _store()
    out: list[SchemaError] = []
    _Validator(store).errors(doc, store.docs[f"bom-{spec}.schema.json"], f"bom-{spec}.schema.json", (), out)
    return out
