"""The runtime: RulePack (load, date cache, evaluate, evaluate_many) and the engine run."""
