from __future__ import annotations

from mlwarden.cli import main

raise SystemExit(main())
