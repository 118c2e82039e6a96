"""`python -m vasp_rules.cli`: the `vasp-rules` command."""

from .main import main

main()
