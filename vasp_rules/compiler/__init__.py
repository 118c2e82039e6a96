"""Stage 2: specialising checked rules for a date and lowering them to matcher patterns."""
