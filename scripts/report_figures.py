#!/usr/bin/env python3
"""Compares the figures of two `vramscope report --json` files: what a job
did, not when or where in memory. Times, addresses, process and thread ids,
paths and rates are left out; counts, bytes, peaks, leaks, failures,
categories, calls by API and the functions of every site are compared.
Of a stack, only the frames outside /lib and /usr (the job's own code)
count: the system libraries' names depend on the debug symbols each
machine has installed.
With --totals, peaks and categories are left out too: for jobs whose threads
interleave differently on every run, where only the totals are the same.
Prints each difference; exits 1 if there is one, 2 if a file is unreadable.

usage: report_figures.py [--totals] A.json B.json
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


def figures(value, where, out, totals):
    """Flattens `value` into out[path] = leaf, without the varying keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "stack" and isinstance(item, list):
                item = [f for f in item if not (isinstance(f, dict) and str(f.get("module", "")).startswith(("/lib", "/usr/")))]
            if not VARYING.search(key) and not (totals and "peak" in key):
                figures(item, f"{where}.{key}", out, totals)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            figures(item, f"{where}[{index}]", out, totals)
    else:
        out[where] = value


def load(path, totals):
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"report_figures.py: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)
    out = {}
    for part in PARTS:
        if not (totals and part == "categories"):
            figures(report.get(part), part, out, totals)
    return out


def main():
    args = sys.argv[1:]
    if any(a in ("-h", "--help") for a in args):
        print(__doc__.strip())
        sys.exit(0)
    totals = "--totals" in args
    files = [a for a in args if a != "--totals"]
    if len(files) != 2 or any(a.startswith("-") for a in files):
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    a, b = load(files[0], totals), load(files[1], totals)
    differences = 0
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            print(f"{key}: {a.get(key, '(absent)')} != {b.get(key, '(absent)')}")
            differences += 1
    print(f"{len(a)} figures compared, {differences} differ")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
