"""Build the site of the knowledge base in this repository: the same as `kb build`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb.cli import main

if __name__ == "__main__":
    sys.exit(main(["-C", str(Path(__file__).resolve().parent), "build", *sys.argv[1:]]))
