"""The injector under load (docs/performance.md, "Under load").

    python3 bench/load_bench.py [--build build] [--threads 32] [--iterations 500000] [--rounds 3]

Runs `threads --threads T --iterations I` (each thread allocates and frees,
2 events an iteration) on simcuda without and with the injector (native
stacks and without), interleaved round by round, and keeps each one's median. Prints the
events per second sustained (wall time) and the CPU time added per event
(user + system, all threads).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def timed(command, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=500000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sample = [os.path.join(args.build, "samples", "threads"), "--threads", str(args.threads), "--iterations",
              str(args.iterations)]
    trace = f"/tmp/vramscope-load-bench.{os.getpid()}.vstrace"
    simcuda = os.path.join(args.build, "lib", "vramscope", "simcuda")
    env = dict(os.environ, LD_LIBRARY_PATH=simcuda)
    configurations = {
        "simcuda, no injector": sample,
        "injector, --stacks none": [os.path.join(args.build, "bin", "vramscope"), "run", "-q", "--simulate",
                                    "--stacks", "none", "-o", trace, "--"] + sample,
        "injector, native stacks": [os.path.join(args.build, "bin", "vramscope"), "run", "-q", "--simulate", "-o",
                                    trace, "--"] + sample,
    }
    results = {name: ([], []) for name in configurations}
    for round_ in range(args.rounds):
        for name, command in configurations.items():
            wall, cpu = timed(command, env)
            results[name][0].append(wall)
            results[name][1].append(cpu)
        print(f"round {round_ + 1}/{args.rounds}", file=sys.stderr)
    if os.path.exists(trace):
        os.remove(trace)
    events = 2 * args.threads * args.iterations
    plain_cpu = statistics.median(results["simcuda, no injector"][1])
    print(f"{args.threads} threads, {events:,} events, median of {args.rounds} rounds")
    print("| configuration | wall s | events per second | CPU s | CPU ns added per event |")
    print("|---|---:|---:|---:|---:|")
    for name, (walls, cpus) in results.items():
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        added = "—" if cpu == plain_cpu else f"{(cpu - plain_cpu) / events * 1e9:.0f}"
        print(f"| {name} | {wall:.2f} | {events / wall:,.0f} | {cpu:.2f} | {added} |")


if __name__ == "__main__":
    sys.exit(main())
