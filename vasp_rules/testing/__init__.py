"""Scenario files: expected decisions for documents, run by `vasp-rules test` and pytest."""
