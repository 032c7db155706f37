#!/usr/bin/env python3
"""Writes a synthetic PyTorch memory snapshot pickle of about a given size.

The current schema of torch.cuda.memory._dump_snapshot: a dict with
`segments` (their blocks), `device_traces` (one list of trace entries per
device), `allocator_settings` and `external_annotations`, written with
pickle.dump at protocol 4 as PyTorch does. Frames are dicts shared between
entries, as PyTorch's own frame cache shares them (or, with --distinct-frames,
new dicts in every entry); every entry has its own list of frames, drawn
from a pool of call paths that share their outer frames, as a program's
call paths do (a few thousand distinct stacks, as real snapshots hold a few
hundred). Addresses
are consistent: each alloc lies inside a live segment, each free frees a live
block, and the segments and blocks left at the end are those in `segments`.

usage: make_snapshot.py --size 1GiB --output PATH [--seed 1] [--devices 1] [--distinct-frames]
Prints the number of trace entries and the totals it wrote, one per line.
"""
import argparse
import pickle
import random
import re
import sys

SIZES = [512] * 8 + [1024] * 4 + [4096] * 8 + [16384] * 4 + [65536] * 3 + [262144] * 2 + [1 << 20] * 2 + [
    4 << 20, 16 << 20]
BYTES_PER_ENTRY = 175  # about what one trace entry takes in the pickle
BYTES_PER_ENTRY_DISTINCT = 750  # with a new dict for each of its frames
UNITS = {"": 1, "B": 1, "K": 1 << 10, "KB": 1000, "KIB": 1 << 10, "M": 1 << 20, "MB": 1000**2, "MIB": 1 << 20,
         "G": 1 << 30, "GB": 1000**3, "GIB": 1 << 30}


def parse_size(text):
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in UNITS:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size such as 1GiB or 200MB")
    return int(float(m.group(1)) * UNITS[m.group(2).upper()])


def frame_pool(rng, count):
    files = [f"/home/user/project/model/layer_{i}.py" for i in range(60)]
    files += [f"/usr/lib/python3.11/site-packages/torch/nn/modules/module_{i}.py" for i in range(40)]
    files += ["??"] * 10  # C++ frames, as PyTorch names them
    names = [f"forward_{i}" for i in range(300)] + [f"at::native::kernel_{i}(at::Tensor const&)" for i in range(300)]
    names += ["_call_impl", "backward", "step", "zero_grad", "<module>"]
    return [{"name": rng.choice(names), "filename": rng.choice(files), "line": rng.randrange(1, 5000)}
            for _ in range(count)]


def stack_pool(rng, frames, count):
    """Call paths, innermost frame first: a C++ tail inside PyTorch, a path
    through the model, and the program's outer frames, which all share."""
    outer = frames[:5]
    middles = [[rng.choice(frames) for _ in range(rng.randrange(3, 9))] for _ in range(max(10, count // 20))]
    tails = [[rng.choice(frames) for _ in range(rng.randrange(6, 16))] for _ in range(30)]
    return [rng.choice(tails) + rng.choice(middles) + outer for _ in range(count)]


def make(size, seed, devices, distinct_frames):
    rng = random.Random(seed)
    entries_wanted = max(1, size // (BYTES_PER_ENTRY_DISTINCT if distinct_frames else BYTES_PER_ENTRY))
    frames = frame_pool(rng, max(200, min(200_000, entries_wanted // 20)))
    stacks = stack_pool(rng, frames, max(200, min(5_000, entries_wanted // 100)))
    contexts = ["N/A", "forward", "backward"]
    traces = []
    segments = []
    totals = {"entries": 0, "alloc": 0, "free": 0, "segment_alloc": 0, "segment_free": 0, "oom": 0,
              "alloc_bytes": 0, "free_bytes": 0}
    time_us = 1_700_000_000_000_000
    per_device = max(1, entries_wanted // devices)
    for device in range(devices):
        trace = []
        live_segments = {}  # address -> [size, next free offset, {block address: size}]
        open_segment = None  # where new blocks go until it is full
        reusable = []  # segments emptied since, to fill again
        next_address = 0x7F00_0000_0000 + device * (1 << 40)

        def entry(action, addr, size_):
            nonlocal time_us
            time_us += rng.randrange(1, 200)
            # A list of its own, as PyTorch makes one for every entry.
            stack = [dict(f) for f in rng.choice(stacks)] if distinct_frames else list(rng.choice(stacks))
            trace.append({"action": action, "addr": addr, "size": size_, "stream": 0, "time_us": time_us,
                          "compile_context": rng.choice(contexts), "frames": stack})

        live = []  # (segment, block) of every live block, in no order
        cached = {}  # size -> [(segment, block)] of freed blocks, to reuse
        while len(trace) < per_device:
            roll = rng.random()
            if roll < 0.5 and live:
                k = rng.randrange(len(live))
                live[k], live[-1] = live[-1], live[k]
                seg, block = live.pop()
                size_ = live_segments[seg][2].pop(block)
                entry("free_requested", block, size_)
                entry("free_completed", block, size_)
                cached.setdefault(size_, []).append((seg, block))  # kept for the next request of its size
                totals["free"] += 1
                totals["free_bytes"] += size_
                if not live_segments[seg][2]:  # empty: given back, or kept for reuse
                    if rng.random() < 0.1:
                        entry("segment_free", seg, live_segments[seg][0])
                        totals["segment_free"] += 1
                        del live_segments[seg]
                    else:
                        live_segments[seg][1] = 0
                        reusable.append(seg)
                continue
            size_ = rng.choice(SIZES) * rng.randrange(1, 4)
            # A cached block of the same size first, as the caching allocator reuses
            # them (a training loop asks for the same sizes every step).
            reused = None
            while cached.get(size_):
                seg, block = cached[size_].pop()
                if seg in live_segments and block not in live_segments[seg][2] and \
                        block + size_ <= live_segments[seg][0]:
                    reused = (seg, block)
                    break
            if reused is not None:
                seg, block = reused
                live_segments[seg][2][block] = size_
                live.append((seg, block))
                entry("alloc", block, size_)
                totals["alloc"] += 1
                totals["alloc_bytes"] += size_
                continue
            home = open_segment if open_segment in live_segments else None
            if home is not None and live_segments[home][0] - live_segments[home][1] < size_:
                home = None
            while home is None and reusable:
                candidate = reusable.pop()
                if candidate in live_segments and not live_segments[candidate][2] and \
                        live_segments[candidate][0] >= size_:
                    home = open_segment = candidate
            if home is None:
                if rng.random() < 0.002:
                    trace.append({"action": "oom", "addr": 0, "size": size_, "stream": 0, "time_us": time_us,
                                  "compile_context": "N/A", "frames": frames[:8], "device_free": 1 << 20})
                    totals["oom"] += 1
                # PyTorch's caching allocator: 20 MiB segments for tensors up to
                # 10 MiB, larger ones rounded up to 2 MiB.
                seg_size = 20 << 20 if size_ <= 10 << 20 else (size_ + (2 << 20) - 1) // (2 << 20) * (2 << 20)
                home = next_address
                next_address += seg_size + (2 << 20)
                live_segments[home] = [seg_size, 0, {}]
                open_segment = home
                entry("segment_alloc", home, seg_size)
                totals["segment_alloc"] += 1
            seg = live_segments[home]
            block = home + seg[1]
            seg[1] += size_
            seg[2][block] = size_
            live.append((home, block))
            entry("alloc", block, size_)
            totals["alloc"] += 1
            totals["alloc_bytes"] += size_
        traces.append(trace)
        totals["entries"] += len(trace)
        for address, (seg_size, used, blocks) in sorted(live_segments.items()):
            block_dicts = []
            for b, s in sorted(blocks.items()):
                block_dicts.append({"address": b, "size": s, "requested_size": s, "state": "active_allocated",
                                    "frames": frames[:rng.randrange(1, 10)]})
            if used < seg_size:
                block_dicts.append({"address": address + used, "size": seg_size - used,
                                    "requested_size": seg_size - used, "state": "inactive", "frames": []})
            allocated = sum(blocks.values())
            segments.append({"device": device, "address": address, "total_size": seg_size,
                             "allocated_size": allocated, "active_size": allocated, "requested_size": allocated,
                             "stream": 0, "segment_type": "large", "segment_pool_id": (0, 0),
                             "is_expandable": False, "frames": [], "blocks": block_dicts})
    totals["segments"] = len(segments)
    totals["reserved_bytes"] = sum(s["total_size"] for s in segments)
    totals["allocated_bytes"] = sum(s["allocated_size"] for s in segments)
    annotations = []
    for i in range(10):
        for stage in ("START", "END"):
            annotations.append({"name": f"iteration_{i}", "stage": stage, "device": 0, "time_us": time_us + i})
    settings = {"PYTORCH_CUDA_ALLOC_CONF": "", "max_split_size": -1, "garbage_collection_threshold": 0.0,
                "expandable_segments": False, "release_lock_on_cudamalloc": False,
                "roundup_power2_divisions": {str(1 << i): 0 for i in range(16)}}
    snapshot = {"segments": segments, "device_traces": traces, "allocator_settings": settings,
                "external_annotations": annotations}
    return snapshot, totals


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("64MiB"))
    parser.add_argument("--output", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--distinct-frames", action="store_true", help="a new dict for every frame of every entry")
    args = parser.parse_args()
    snapshot, totals = make(args.size, args.seed, args.devices, args.distinct_frames)
    with open(args.output, "wb") as f:
        pickle.dump(snapshot, f, protocol=4)
    for key, value in totals.items():
        print(f"{key} {value}")


if __name__ == "__main__":
    sys.exit(main())
