"""The `vasp-rules` command line (click, which only this package imports): the command groups
in commands.py, one module per feature's commands beside it."""

from .commands import main

__all__ = ["main"]
