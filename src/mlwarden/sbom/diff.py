"""What changed between two SBOMs: components added, removed and changed (version, hashes, verdict),
vulnerabilities gained and lost."""

from __future__ import annotations

import json
from typing import Any


def _key(component: dict[str, Any]) -> tuple[str, str]:
    return (str(component.get("type", "")), str(component.get("name", "")).lower())


def _props(component: dict[str, Any]) -> dict[str, str]:
    return {str(p.get("name")): str(p.get("value")) for p in component.get("properties", [])}


def _summary(component: dict[str, Any]) -> dict[str, str]:
    hashes = ",".join(sorted(f"{h.get('alg')}:{h.get('content')}" for h in component.get("hashes", [])))
    return {"version": str(component.get("version", "")), "hashes": hashes,
            "verdict": _props(component).get("mlwarden:verdict", "")}


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    before = {_key(c): c for c in old.get("components", [])}
    after = {_key(c): c for c in new.get("components", [])}
    changed = []
    for key in sorted(before.keys() & after.keys()):
        a, b = _summary(before[key]), _summary(after[key])
        fields = {f: {"old": a[f], "new": b[f]} for f in a if a[f] != b[f]}
        if fields:
            changed.append({"type": key[0], "name": after[key].get("name"), "changes": fields})
    vulns_before = {v.get("id") for v in old.get("vulnerabilities", [])}
    vulns_after = {v.get("id") for v in new.get("vulnerabilities", [])}
    return {
        "added": [_brief(after[k]) for k in sorted(after.keys() - before.keys())],
        "removed": [_brief(before[k]) for k in sorted(before.keys() - after.keys())],
        "changed": changed,
        "vulnerabilities_added": sorted(str(v) for v in vulns_after - vulns_before),
        "vulnerabilities_removed": sorted(str(v) for v in vulns_before - vulns_after),
    }


def _brief(component: dict[str, Any]) -> dict[str, str]:
    return {"type": str(component.get("type")), "name": str(component.get("name")),
            "version": str(component.get("version", ""))}


def render(result: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result, indent=2) + "\n"
    md = fmt == "markdown"
    lines = ["### SBOM changes" if md else "SBOM changes"]
    for title, key in (("Added", "added"), ("Removed", "removed")):
        for item in result[key]:
            name = f"`{item['name']}`" if md else item["name"]
            lines.append(f"- {title}: {item['type']} {name} {item['version']}".rstrip())
    for item in result["changed"]:
        parts = ", ".join(f"{f} {c['old'] or '-'} → {c['new'] or '-'}" for f, c in item["changes"].items())
        name = f"`{item['name']}`" if md else str(item["name"])
        lines.append(f"- Changed: {item['type']} {name}: {parts}")
    for vuln in result["vulnerabilities_added"]:
        lines.append(f"- New vulnerability: {vuln}")
    for vuln in result["vulnerabilities_removed"]:
        lines.append(f"- Vulnerability gone: {vuln}")
    if len(lines) == 1:
        lines.append("- No change")
    return "\n".join(lines) + "\n"
