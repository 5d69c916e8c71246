"""`python app.py` starts heard-local exactly like `heard-local serve` (same flags)."""

import sys

from heard_local.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve", *sys.argv[1:]]))
