"""A PyTorch training job with a planted leak and a forced out-of-memory.

    vramscope run -- python3 samples/torch_leak_oom.py [--steps N] [--no-oom]

A 3-layer MLP trained with Adam for a few steps. Each step keeps one 1 MiB
buffer it never frees (the planted leak, on the line marked below). Then it
asks for more memory than the GPU has, catches PyTorch's OutOfMemoryError and
says so. It prints PyTorch's own figures last, for comparison with the
trace's: max_memory_allocated and max_memory_reserved, in bytes.

Runs on a real GPU with PyTorch, and on simcuda with simtorch
(`PYTHONPATH=samples/simtorch`), PyTorch's stand-in for machines without it.
"""
import argparse
import sys

import torch

LEAK_BYTES = 1 << 20
leaked = []  # still live at exit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--oom-bytes", type=int, default=1 << 50, help="the request that cannot fit")
    parser.add_argument("--no-oom", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("torch_leak_oom: no CUDA device", file=sys.stderr)
        return 1
    device = "cuda"
    model = torch.nn.Sequential(*[torch.nn.Linear(args.width, args.width) for _ in range(3)]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(args.steps):
        x = torch.randn(args.batch, args.width, device=device)
        optimizer.zero_grad(set_to_none=True)
        loss = model(x).sum()
        loss.backward()
        optimizer.step()
        leaked.append(torch.empty(LEAK_BYTES, dtype=torch.uint8, device=device))  # planted leak
    print(f"trained {args.steps} steps, leaked {len(leaked)} buffers of {LEAK_BYTES} bytes")
    if not args.no_oom:
        try:
            torch.empty(args.oom_bytes, dtype=torch.uint8, device=device)  # forced out-of-memory
            print("torch_leak_oom: the forced out-of-memory did not happen", file=sys.stderr)
            return 1
        except torch.cuda.OutOfMemoryError as error:
            print("out of memory, as planned")
            print(f"torch_leak_oom: {error}", file=sys.stderr)
    torch.cuda.synchronize()
    print(f"torch max_memory_allocated {torch.cuda.max_memory_allocated()} "
          f"max_memory_reserved {torch.cuda.max_memory_reserved()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
