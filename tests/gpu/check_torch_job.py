"""Checks `vramscope run -- python3 samples/torch_leak_oom.py` against PyTorch's own figures.

    check_torch_job.py JOB_STDOUT JOB_STDERR REPORT_JSON

One PASS or FAIL line per check (tests/gpu/run.sh counts the FAILs): our peak
allocated and reserved against torch.cuda.max_memory_allocated() and
max_memory_reserved() as the job prints them; the planted leak's line and
bytes; our out-of-memory figures against PyTorch's own message. The
integration tests run it on simcuda with simtorch too.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "simtorch"))
from torch_format import format_size  # noqa: E402  (PyTorch's own way of printing sizes)


def main(out_path, err_path, report_path):
    out, err = open(out_path).read(), open(err_path).read()
    report = json.load(open(report_path))
    kinds = {k["kind"]: k for k in report["kinds"]}
    failed = 0

    def check(what, ours, theirs):
        nonlocal failed
        ok = ours == theirs and ours is not None
        failed += not ok
        print(("PASS" if ok else "FAIL") + f"  b. {what}: ours {ours}, PyTorch's {theirs}")

    m = re.search(r"max_memory_allocated (\d+) max_memory_reserved (\d+)", out)
    check("peak allocated", kinds.get("tensor block", {}).get("peak_bytes"), int(m.group(1)) if m else None)
    check("peak reserved", kinds.get("device", {}).get("peak_bytes"), int(m.group(2)) if m else None)
    blocks = [g for g in report["leaks"]["groups"] if g["kind"] == "tensor block"]
    frame = blocks[0]["stack"][0] if blocks and blocks[0]["stack"] else None
    check("the leak's site", (frame["file"].rsplit("/", 1)[-1], frame["line"]) if frame else None,
          ("torch_leak_oom.py", 43))
    check("the leak's bytes", blocks[0]["bytes"] if blocks else None, 4 << 20)
    ooms = [f for f in report["failed_allocations"] if f["api"] == "caching allocator"]
    oom = ooms[0] if ooms else {}
    m = re.search(r"Tried to allocate (.+?)\. GPU \d+ has a total capacity of (.+?) of which (.+?) is free", err)
    def size(key):
        return format_size(oom[key]) if key in oom else None

    check("out-of-memory request", size("requested_bytes"), m.group(1) if m else None)
    check("out-of-memory capacity", size("total_bytes"), m.group(2) if m else None)
    check("out-of-memory free", size("free_bytes"), m.group(3) if m else None)
    print(f"      verdict: {oom.get('diagnosis', {}).get('verdict', 'none')}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    sys.exit(main(*sys.argv[1:]))
