"""A small PyTorch training job for running under the profiler on a real GPU.

    vramscope run -- python3 samples/train_torch.py [--steps N] [--optimizer adam|sgd]

A 4-layer MLP trained on random data; each step is marked with an NVTX range
("step"), which vramscope records as an iteration marker. Needs PyTorch with CUDA.
"""
import argparse
import statistics
import sys
import time

import torch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--time", action="store_true",
                        help="print the median step time, in ms, of the steps after the first two")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("train_torch: no CUDA device", file=sys.stderr)
        return 1
    device = torch.device("cuda")
    layers = []
    for _ in range(4):
        layers += [torch.nn.Linear(args.width, args.width), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(device)
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    step_ms = []
    for step in range(args.steps):
        started = time.perf_counter()
        torch.cuda.nvtx.range_push("step")
        x = torch.randn(args.batch, args.width, device=device)
        y = torch.randn(args.batch, args.width, device=device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        torch.cuda.nvtx.range_pop()
        if args.time:
            torch.cuda.synchronize()
            step_ms.append((time.perf_counter() - started) * 1000)
    torch.cuda.synchronize()
    parameters = sum(p.numel() * p.element_size() for p in model.parameters())
    print(f"parameters {parameters} bytes, final loss {loss.item():.4f}")
    print(f"torch max_memory_allocated {torch.cuda.max_memory_allocated()} "
          f"max_memory_reserved {torch.cuda.max_memory_reserved()}")
    if args.time and len(step_ms) > 2:
        print(f"median step {statistics.median(step_ms[2:]):.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
