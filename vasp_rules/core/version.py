"""The library's version, in one place below every stage that reports it (decisions' engine
reference, generated schemas, `vasp-rules version`); ``vasp_rules.__version__`` re-exports it."""

__version__ = "0.1.0"
