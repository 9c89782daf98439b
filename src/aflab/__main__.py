"""``python -m aflab``: the same command line as ``aflab``."""

from aflab.cli import main

main()
