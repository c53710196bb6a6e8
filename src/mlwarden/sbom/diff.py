"""What changed between two CycloneDX SBOMs: components added, removed and changed, field by field (version,
purl, hashes, licences, repository and VCS URLs, properties, model card, dependencies, and any other field), the
project's own metadata, and vulnerabilities gained, lost or re-assessed.

Input is untrusted: `components_of` checks the structure it relies on and raises InputError naming the field;
every other value is compared through a canonical text form, whatever its type.
"""

from __future__ import annotations

import json
from typing import Any

from mlwarden.errors import InputError
from mlwarden.policy.model import canonicalize_name
from mlwarden.sbom.validate import cyclonedx_problem

_SKIP = frozenset({"bom-ref", "name", "type", "components"})
_MAX_COMPONENTS = 200_000


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _named_list(items: Any, name_key: str, value_key: str, prefix: str) -> dict[str, str]:
    """[{name, value}] (properties) or [{type, url}] (references) as {prefix.name: sorted values}."""
    grouped: dict[str, list[str]] = {}
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, dict):
            grouped.setdefault(f"{prefix}.{_text(item.get(name_key))}", []).append(_text(item.get(value_key)))
        else:
            grouped.setdefault(prefix, []).append(_text(item))
    return {key: ", ".join(sorted(values)) for key, values in grouped.items()}


def _licences(value: Any) -> str:
    out = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and "expression" in item:
            out.append(_text(item["expression"]))
        elif isinstance(item, dict) and isinstance(item.get("license"), dict):
            lic = item["license"]
            out.append(_text(lic.get("id") if "id" in lic else lic.get("name", lic)))
        else:
            out.append(_text(item))
    return ", ".join(sorted(out))


def fields_of(component: dict[str, Any]) -> dict[str, str]:
    """Every field of a component as {field: canonical text}; lists that are sets are sorted."""
    out: dict[str, str] = {}
    for key, value in component.items():
        if key in _SKIP:
            continue
        if key == "properties":
            out.update(_named_list(value, "name", "value", "properties"))
        elif key == "externalReferences":
            out.update(_named_list(value, "type", "url", "externalReferences"))
        elif key == "hashes":
            out["hashes"] = ", ".join(sorted(f"{_text(h.get('alg'))}:{_text(h.get('content'))}"
                                             if isinstance(h, dict) else _text(h)
                                             for h in (value if isinstance(value, list) else [value])))
        elif key == "licenses":
            out["licenses"] = _licences(value)
        elif key == "modelCard" and isinstance(value, dict):
            for sub, item in value.items():
                if sub == "properties":
                    out.update(_named_list(item, "name", "value", "modelCard.properties"))
                elif sub != "bom-ref":
                    out[f"modelCard.{sub}"] = _text(item)
        else:
            out[str(key)] = _text(value)
    return out


def components_of(doc: Any, label: str) -> list[dict[str, Any]]:
    """The components of a CycloneDX document (nested ones included), or InputError naming what is wrong."""
    problem = cyclonedx_problem(doc)
    if problem is not None:
        raise InputError(f"{label}: {problem}")
    out: list[dict[str, Any]] = []
    stack: list[tuple[Any, str]] = [(doc.get("components", []), "$.components")]
    while stack:
        items, where = stack.pop()
        if not isinstance(items, list):
            raise InputError(f"{label}: {where} is not a list")
        for index, component in enumerate(items):
            if not isinstance(component, dict):
                raise InputError(f"{label}: {where}[{index}] is not an object")
            if not isinstance(component.get("name"), str) or not isinstance(component.get("type", ""), str):
                raise InputError(f"{label}: {where}[{index}]: name and type must be strings")
            out.append(component)
            if len(out) > _MAX_COMPONENTS:
                raise InputError(f"{label}: more than {_MAX_COMPONENTS} components")
            if "components" in component:
                stack.append((component["components"], f"{where}[{index}].components"))
    return out


def _dependency_names(doc: dict[str, Any], components: list[dict[str, Any]]) -> dict[str, str]:
    """bom-ref -> the names of what it depends on (names, so a dependency's upgrade is not its dependents')."""
    names = {str(c.get("bom-ref")): str(c["name"]) for c in components if "bom-ref" in c}
    out: dict[str, str] = {}
    for entry in doc.get("dependencies", []) if isinstance(doc.get("dependencies"), list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("dependsOn", []), list):
            targets = sorted({names.get(_text(t), _text(t)) for t in entry.get("dependsOn", [])})
            out[_text(entry.get("ref"))] = ", ".join(targets)
    return out


def _index(components: list[dict[str, Any]], deps: dict[str, str]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Components by (type, canonical name, discriminator): the discriminator is empty for the only component
    of a name, else its version (a lock may hold two versions of one package)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for component in components:
        groups.setdefault((str(component.get("type", "")), canonicalize_name(component["name"])), []).append(component)
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for (kind, name), members in groups.items():
        for component in members:
            tag = "" if len(members) == 1 else _text(component.get("version", "")) + "#" + _text(
                component.get("bom-ref"))
            entry = dict(component)
            ref = component.get("bom-ref")
            if isinstance(ref, str) and ref in deps:
                entry["dependsOn"] = deps[ref]
            out[(kind, name, tag)] = entry
    return out


def _vulnerabilities(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for vuln in doc.get("vulnerabilities", []) if isinstance(doc.get("vulnerabilities"), list) else []:
        if isinstance(vuln, dict) and vuln.get("id") is not None:
            out[_text(vuln["id"])] = vuln
    return out


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, str]]:
    a, b = fields_of(before), fields_of(after)
    return {field: {"old": a.get(field, ""), "new": b.get(field, "")}
            for field in sorted(a.keys() | b.keys()) if a.get(field, "") != b.get(field, "")}


def diff(old: Any, new: Any, labels: tuple[str, str] = ("old", "new")) -> dict[str, Any]:
    """Raises InputError when either document is not CycloneDX or its components are malformed."""
    old_components, new_components = components_of(old, labels[0]), components_of(new, labels[1])
    before = _index(old_components, _dependency_names(old, old_components))
    after = _index(new_components, _dependency_names(new, new_components))
    changed = []
    for key in sorted(before.keys() & after.keys()):
        fields = _changes(before[key], after[key])
        if fields:
            changed.append({"type": key[0], "name": after[key]["name"], "changes": fields})
    project_before, project_after = (doc.get("metadata", {}) if isinstance(doc.get("metadata"), dict) else {}
                                     for doc in (old, new))
    metadata = _changes({k: v for k, v in project_before.items() if k not in ("timestamp", "tools")},
                        {k: v for k, v in project_after.items() if k not in ("timestamp", "tools")})
    vulns_before, vulns_after = _vulnerabilities(old), _vulnerabilities(new)
    reassessed = []
    for vid in sorted(vulns_before.keys() & vulns_after.keys()):
        fields = {f: {"old": _text(vulns_before[vid].get(f, "")), "new": _text(vulns_after[vid].get(f, ""))}
                  for f in ("analysis", "affects", "ratings", "recommendation")
                  if _text(vulns_before[vid].get(f, "")) != _text(vulns_after[vid].get(f, ""))}
        if fields:
            reassessed.append({"id": vid, "changes": fields})
    return {
        "added": [_brief(after[k]) for k in sorted(after.keys() - before.keys())],
        "removed": [_brief(before[k]) for k in sorted(before.keys() - after.keys())],
        "changed": changed,
        "metadata_changed": metadata,
        "vulnerabilities_added": sorted(vulns_after.keys() - vulns_before.keys()),
        "vulnerabilities_removed": sorted(vulns_before.keys() - vulns_after.keys()),
        "vulnerabilities_changed": reassessed,
    }


def _brief(component: dict[str, Any]) -> dict[str, str]:
    return {"type": str(component.get("type", "")), "name": str(component.get("name")),
            "version": _text(component.get("version", ""))}


def _escape(text: str) -> str:
    """Control characters shown, not obeyed: a crafted name cannot forge a line of the report."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                   for c in text)


def _redacted(value: Any) -> Any:
    """Every string of the result with its credentials masked: an SBOM's values (purls, URLs, bom-refs,
    properties) are quoted as they are, and a crafted one carries a password (issue #15)."""
    from mlwarden.redact import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_redacted(k): _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
    return value


def render(result: dict[str, Any], fmt: str) -> str:
    result = _redacted(result)
    if fmt == "json":
        # json escapes control characters but not format ones: an RTL override would reorder a terminal line.
        # Outside strings json writes only printable characters and newlines, so this stays valid JSON.
        text = json.dumps(result, indent=2, ensure_ascii=False)
        return "".join(c if c.isprintable() or c == "\n" else f"\\u{ord(c):04x}" if ord(c) < 0x10000
                       else json.dumps(c)[1:-1] for c in text) + "\n"
    md = fmt == "markdown"

    def name(text: str) -> str:
        text = _escape(text)
        return "`" + text.replace("`", "'") + "`" if md else text

    lines = ["### SBOM changes" if md else "SBOM changes"]
    for title, key in (("Added", "added"), ("Removed", "removed")):
        for item in result[key]:
            lines.append(f"- {title}: {_escape(item['type'])} {name(item['name'])} {_escape(item['version'])}".rstrip())
    for item in result["changed"]:
        parts = "; ".join(f"{_escape(f)} {_escape(c['old']) or '-'} → {_escape(c['new']) or '-'}"
                          for f, c in item["changes"].items())
        lines.append(f"- Changed: {_escape(item['type'])} {name(str(item['name']))}: {parts}")
    for field, change in result["metadata_changed"].items():
        lines.append(f"- Project {_escape(field)}: {_escape(change['old']) or '-'} → {_escape(change['new']) or '-'}")
    for vuln in result["vulnerabilities_added"]:
        lines.append(f"- New vulnerability: {_escape(vuln)}")
    for vuln in result["vulnerabilities_removed"]:
        lines.append(f"- Vulnerability gone: {_escape(vuln)}")
    for item in result["vulnerabilities_changed"]:
        lines.append(f"- Vulnerability {_escape(item['id'])} re-assessed: {', '.join(map(_escape, item['changes']))}")
    if len(lines) == 1:
        lines.append("- No change")
    return "\n".join(lines) + "\n"
