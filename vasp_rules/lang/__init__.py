"""The condition language: syntax tree, parser, types and checker."""
