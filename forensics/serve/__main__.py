"""`python -m forensics.serve DUMP [PORT]` for quick use."""

from __future__ import annotations

import sys
from pathlib import Path

from forensics.serve.server import serve

serve(
    Path(sys.argv[1]),
    int(sys.argv[2]) if len(sys.argv) > 2 else 0,
    ready=lambda u: print(f"serving on {u}", flush=True),
)
