"""Sizes as PyTorch's out-of-memory messages print them (c10's format_size).

Shared by simtorch, whose messages are PyTorch's, and by the GPU suite's
checker (tests/gpu/check_torch_job.py), which compares ours with PyTorch's.
"""


def format_size(n):
    if n <= 1024:
        return f"{n} bytes"
    for limit, unit, scale in ((1 << 20, "KiB", 1 << 10), (1 << 30, "MiB", 1 << 20)):
        if n <= limit:
            return f"{n / scale:.2f} {unit}"
    return f"{n / (1 << 30):.2f} GiB"
