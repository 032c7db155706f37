"""What --python-stacks costs a Python job (docs/performance.md, "Python stacks").

    python3 bench/python_stacks_bench.py [--build build] [--rounds 5] [--markdown FILE]

Runs a workload three ways on simcuda, interleaved round by round, and keeps
each one's median: without the profiler, under `vramscope run` (native
stacks), and under `vramscope run --python-stacks`. The workload times itself
(start-up is not counted):
  calls:  a recursive Python function, 1,000,000 calls and returns;
  events: 20,000 cudaMalloc/cudaFree pairs of 1 MiB through ctypes, each
          made 10 Python frames deep.
Prints, per configuration, ns per Python call and ns per event, and the
ratios to the plain run.
"""
import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import time


def workload():
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    start = time.perf_counter()
    calls = 0
    while calls < 1_000_000:
        fib(20)
        calls += 21891  # fib(20) makes 21,891 calls
    calls_s = time.perf_counter() - start

    lib = ctypes.CDLL("libcudart.so.13")
    lib.cudaMalloc.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t]
    lib.cudaFree.argtypes = [ctypes.c_void_p]
    pointer = ctypes.c_void_p()

    def deep(n):
        if n:
            return deep(n - 1)
        for _ in range(100):
            lib.cudaMalloc(ctypes.byref(pointer), 1 << 20)
            lib.cudaFree(pointer)

    start = time.perf_counter()
    for _ in range(200):
        deep(10)
    events_s = time.perf_counter() - start
    print(f"calls {calls} {calls_s:.6f} events 40000 {events_s:.6f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--markdown")
    parser.add_argument("--workload", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workload:
        return workload()
    vramscope = os.path.join(args.build, "bin", "vramscope")
    simcuda = os.path.join(args.build, "lib", "vramscope", "simcuda")
    me = [sys.executable, os.path.abspath(__file__), "--workload"]
    trace = f"/tmp/vramscope-python-stacks-bench.{os.getpid()}.vstrace"
    configurations = {
        "plain": me,
        "vramscope run": [vramscope, "run", "-q", "--simulate", "-o", trace, "--"] + me,
        "vramscope run --python-stacks": [vramscope, "run", "-q", "--simulate", "--python-stacks", "-o", trace,
                                          "--"] + me,
    }
    env = dict(os.environ, LD_LIBRARY_PATH=simcuda + ":" + os.environ.get("LD_LIBRARY_PATH", ""))
    results = {name: ([], []) for name in configurations}
    for round_ in range(args.rounds):
        for name, command in configurations.items():
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout.split()
            results[name][0].append(float(out[2]) / int(out[1]) * 1e9)
            results[name][1].append(float(out[5]) / int(out[4]) * 1e9)
        print(f"round {round_ + 1}/{args.rounds}", file=sys.stderr)
    if os.path.exists(trace):
        os.remove(trace)
    plain_call = statistics.median(results["plain"][0])
    plain_event = statistics.median(results["plain"][1])
    lines = ["| configuration | ns per Python call | × plain | ns per event | × plain |", "|---|---:|---:|---:|---:|"]
    for name, (calls, events) in results.items():
        call, event = statistics.median(calls), statistics.median(events)
        lines.append(f"| {name} | {call:.1f} | {call / plain_call:.2f} | {event:.0f} | {event / plain_event:.2f} |")
    print("\n".join(lines))
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
