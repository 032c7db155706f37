#!/usr/bin/env python3
"""Compares the figures of two `vramscope report --json` files: what a job
did, not when or where in memory. Times, addresses, process and thread ids,
paths and rates are left out; counts, bytes, peaks, leaks, failures,
categories, calls by API and the functions of every site are compared.
Of a stack, only the frames outside /lib and /usr (the job's own code)
count: the system libraries' names depend on the debug symbols each
machine has installed.
Prints each difference; exits 1 if there is one, 2 if a file is unreadable.

usage: report_figures.py A.json B.json
"""
import json
import re
import sys

# Keys whose values depend on the run's moment, its addresses or its machine.
VARYING = re.compile(
    r"time|_ns$|_s$|duration|rate|per_second|address|pid|tid|thread|host|program|path|module|file|line|"
    r"^name$|^trace$|^id$|offset|fraction|percent|mean|schema_version"
)
# The report's parts that say what the job did.
PARTS = ["devices", "counts", "kinds", "apis", "leaks", "failed_allocations", "categories", "forks"]


def figures(value, where, out):
    """Flattens `value` into out[path] = leaf, without the varying keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "stack" and isinstance(item, list):
                item = [f for f in item if not (isinstance(f, dict) and str(f.get("module", "")).startswith(("/lib", "/usr/")))]
            if not VARYING.search(key):
                figures(item, f"{where}.{key}", out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            figures(item, f"{where}[{index}]", out)
    else:
        out[where] = value


def load(path):
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"report_figures.py: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)
    out = {}
    for part in PARTS:
        figures(report.get(part), part, out)
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(sys.argv) != 2 else sys.stdout)
        sys.exit(0 if len(sys.argv) == 2 else 2)
    a, b = load(sys.argv[1]), load(sys.argv[2])
    differences = 0
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            print(f"{key}: {a.get(key, '(absent)')} != {b.get(key, '(absent)')}")
            differences += 1
    print(f"{len(a)} figures compared, {differences} differ")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
