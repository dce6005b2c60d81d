"""``python -m modelship``."""

from __future__ import annotations

import sys

from modelship.cli import main

if __name__ == "__main__":
    sys.exit(main())
