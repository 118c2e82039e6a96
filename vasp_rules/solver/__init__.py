"""The symbolic model of the rule language in Z3, shared by analysis and explain."""
