"""`python -m vasp_rules.cli`: the `vasp-rules` command."""

from .commands import main

if __name__ == "__main__":  # not when a tool walks the package and imports every module
    main()
