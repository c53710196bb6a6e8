"""mlwarden: guards the software supply chain of data-science and ML repositories."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
