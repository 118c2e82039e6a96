"""Specialising a checked pack for a date: folding parameters, lowering conditions to
durable-rules patterns, generating Python for projection and findings (docs/architecture.md)."""
