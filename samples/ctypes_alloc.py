"""A Python job that allocates GPU memory itself, through ctypes (no framework).

    vramscope run --python-stacks -- python3 samples/ctypes_alloc.py

`make_buffers` keeps three 1 MiB buffers (line 26, through `allocate`, line
19); a thread keeps one of 2 MiB (`worker`, line 30); a 4 MiB buffer is made
and freed. 5 MiB in 4 allocations live at exit. Loads the CUDA runtime
`libcudart.so.13` as it finds it (simcuda's under `vramscope run --simulate`).
"""
import ctypes
import sys
import threading

kept = []


def allocate(lib, size):
    pointer = ctypes.c_void_p()
    if lib.cudaMalloc(ctypes.byref(pointer), size) != 0:
        raise MemoryError(f"cudaMalloc({size}) failed")
    return pointer.value


def make_buffers(lib):
    for _ in range(3):
        kept.append(allocate(lib, 1 << 20))


def worker(lib):
    kept.append(allocate(lib, 2 << 20))


def main() -> int:
    try:
        lib = ctypes.CDLL("libcudart.so.13")
    except OSError as error:
        print(f"ctypes_alloc: {error}", file=sys.stderr)
        return 1
    lib.cudaMalloc.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t]
    lib.cudaFree.argtypes = [ctypes.c_void_p]
    make_buffers(lib)
    thread = threading.Thread(target=worker, args=(lib,))
    thread.start()
    thread.join()
    lib.cudaFree(ctypes.c_void_p(allocate(lib, 4 << 20)))
    print(f"ctypes_alloc: {len(kept)} buffers kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
