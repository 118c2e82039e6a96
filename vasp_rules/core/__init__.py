"""Stage 0, the foundations: errors (one base class), limits, document paths, canonical JSON and
the digests, the text helpers every stage above shares."""
