"""The reference interpreter: the oracle every compiled rule agrees with, and its batch plans."""
