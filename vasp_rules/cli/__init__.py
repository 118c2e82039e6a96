"""The `vasp-rules` command line (click): one module per command group, `main` in main.py."""
