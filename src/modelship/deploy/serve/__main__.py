"""``python -m modelship.deploy.serve REGISTRY MODEL [REF] ...``."""

from __future__ import annotations

import sys

from modelship.deploy.serve._cli import main

if __name__ == "__main__":
    sys.exit(main())
