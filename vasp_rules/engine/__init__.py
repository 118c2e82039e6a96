"""Stage 3: matching (durable-rules, and the reference interpreter) and findings."""
