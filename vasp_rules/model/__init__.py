"""The output contract: Decision, Finding, Citation and the Explanation they carry."""
