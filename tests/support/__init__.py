"""Helpers shared by test files (no tests here): fake packs, small packs and documents."""
