"""Where the shared real data lives for tests: $VOCABX_SHARED_DATA, else ../shared/data beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ.get("VOCABX_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
