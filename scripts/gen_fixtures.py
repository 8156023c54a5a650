#!/usr/bin/python3
"""Writes the PyTorch reference fixtures that the tests and the conformance runner read.

Each module in scripts/fixtures/ (other than common.py) defines FILE (a file name) and cases() (a list of cases in the
format of docs/conformance.md). This script runs them all, or those named on the command line, and writes
Engine.Tests/Fixtures/FILE. Run with Debian's python3-torch: /usr/bin/python3 scripts/gen_fixtures.py [module ...]
"""
import importlib
import json
import os
import pkgutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
OUT = os.path.join(HERE, "..", "Engine.Tests", "Fixtures")


def main(names):
    import fixtures
    mods = [m.name for m in pkgutil.iter_modules(fixtures.__path__) if m.name != "common"]
    if names:
        unknown = [n for n in names if n not in mods]
        if unknown:
            sys.exit(f"unknown fixture modules: {unknown}; have {mods}")
        mods = names
    os.makedirs(OUT, exist_ok=True)
    for name in sorted(mods):
        mod = importlib.import_module(f"fixtures.{name}")
        cases = mod.cases()
        doc = {"generator": f"PyTorch {torch.__version__} (float64), scripts/fixtures/{name}.py", "cases": cases}
        path = os.path.join(OUT, mod.FILE)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, allow_nan=False, separators=(",", ":"))
        os.replace(path + ".tmp", path)
        print(f"{mod.FILE}: {len(cases)} cases")


if __name__ == "__main__":
    main(sys.argv[1:])
