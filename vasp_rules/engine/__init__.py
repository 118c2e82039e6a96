"""durable-rules behind one module (durable_backend.py), below the compiler that targets it;
running compiled packs is runtime/evaluate.py (docs/architecture.md)."""
