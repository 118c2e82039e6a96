"""Reading and checking rule packs (manifest, parameters, rules); RulePack is in runtime/."""
