"""The sample pack's tests reuse the console's simulated user (tests/console/console_fixtures.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# Test folders are not packages: make the console's fixture module importable by name, as it is there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "console"))
