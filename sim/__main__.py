"""``python -m sim``: the same as the ``cityres`` console script."""

from sim.cli import main

main()
