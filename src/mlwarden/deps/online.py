"""The online path: pip-audit's vulnerability services, behind this one thin adapter.

pip-audit has no public API (every module is private), so it is pinned to one minor release in the
`online` extra and touched only here.
"""

from __future__ import annotations

from mlwarden.deps.osv import Advisory


class Unreachable(Exception):
    """The service could not be asked (network, DNS, HTTP error, pip-audit not installed)."""


def query(name: str, version: str, *, service: str = "osv", osv_url: str | None = None,
          timeout: int = 15) -> list[Advisory]:
    try:
        from packaging.version import Version
        from pip_audit._service import interface
        from pip_audit._service.osv import OsvService
        from pip_audit._service.pypi import PyPIService
    except ImportError as exc:
        raise Unreachable(f"pip-audit is not installed (pip install 'mlwarden[online]'): {exc}") from None
    svc: interface.VulnerabilityService
    if service == "osv":
        svc = OsvService(timeout=timeout, **({"osv_url": osv_url} if osv_url else {}))
    else:
        svc = PyPIService(timeout=timeout)
    try:
        _, results = svc.query(interface.ResolvedDependency(name=name, version=Version(version)))
    except interface.ServiceError as exc:
        raise Unreachable(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - requests' ConnectionError escapes pip-audit's OSV service (research note §1.5)
        raise Unreachable(f"{type(exc).__name__}: {exc}") from None
    return [Advisory(str(r.id), tuple(sorted(str(a) for a in r.aliases)), (r.description or "").split("\n")[0][:200],
                     tuple(str(v) for v in r.fix_versions), None, str(r.id).startswith("MAL-")) for r in results]
