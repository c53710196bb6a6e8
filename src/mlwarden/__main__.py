from __future__ import annotations

from mlwarden._entry import main

raise SystemExit(main())
