"""`python -m vasp_rules.cli`: the `vasp-rules` command."""

from .commands import main

main()
