"""Tools for writing rule packs and scenario files: the formatter (`vasp-rules fmt`), JSON
Schemas of the files (`vasp-rules schema pack|rule|parameters|scenario`) and the extra checks
of `vasp-rules check` (warnings a valid pack may still deserve)."""
