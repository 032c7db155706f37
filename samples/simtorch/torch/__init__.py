"""simtorch: a stand-in for PyTorch on machines without it, for simcuda.

It is to PyTorch what simcuda is to the NVIDIA driver: just enough of the API
that `samples/torch_leak_oom.py` and vramscope's start-up hook use, with the
memory behaviour of PyTorch's, and no arithmetic. Tensors live in a caching
allocator that takes segments from the CUDA runtime (`cudaMalloc`, through
ctypes; simcuda's when `vramscope run` simulates) and keeps the allocator
history PyTorch keeps (`torch.cuda.memory._record_memory_history`,
`_snapshot`, the out-of-memory observer) in PyTorch's snapshot schema.

The allocator follows PyTorch's policy in outline: sizes rounded up to 512
bytes; blocks up to 1 MiB from 2 MiB segments, larger ones from 20 MiB
segments below 10 MiB and from segments rounded up to 2 MiB above; best fit
among the cached free blocks, split when what is left is worth keeping;
on a failed cudaMalloc, the fully free segments are given back and it tries
once more before raising OutOfMemoryError.
"""
import ctypes
import os
import sys
import time
import traceback

from torch_format import format_size as _format_size

__version__ = "0.0+simtorch"

_MiB = 1 << 20
_ROUND = 512
_SMALL = _MiB
_SMALL_SEGMENT = 2 * _MiB
_LARGE_SEGMENT = 20 * _MiB
_OWN_DIR = os.path.dirname(os.path.abspath(__file__))


def _now_us():
    return time.time_ns() // 1000


def _frames():
    """The Python stack of the caller outside simtorch, innermost first."""
    frames = []
    for f in reversed(traceback.extract_stack()):
        if os.path.dirname(os.path.abspath(f.filename)) == _OWN_DIR:
            continue
        frames.append({"filename": f.filename, "line": f.lineno, "name": f.name})
    return frames


class _Runtime:
    def __init__(self):
        self.lib = ctypes.CDLL("libcudart.so.13")
        self.lib.cudaMalloc.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t]
        self.lib.cudaFree.argtypes = [ctypes.c_void_p]

    def malloc(self, size):
        pointer = ctypes.c_void_p()
        error = self.lib.cudaMalloc(ctypes.byref(pointer), size)
        if error:
            self.lib.cudaGetLastError()
            return None
        return pointer.value

    def free(self, address):
        self.lib.cudaFree(ctypes.c_void_p(address))

    def mem_info(self):
        free, total = ctypes.c_size_t(), ctypes.c_size_t()
        self.lib.cudaMemGetInfo(ctypes.byref(free), ctypes.byref(total))
        return free.value, total.value


class _Block:
    def __init__(self, segment, address, size):
        self.segment, self.address, self.size = segment, address, size
        self.allocated = False
        self.requested = 0
        self.frames = []


class _Segment:
    def __init__(self, address, size, small):
        self.address, self.size, self.small = address, size, small
        self.blocks = [_Block(self, address, size)]
        self.frames = []


class _Allocator:
    def __init__(self):
        self.runtime = None
        self.segments = []
        self.allocated = self.reserved = 0
        self.max_allocated = self.max_reserved = 0
        self.history = None  # max entries, when recording
        self.trace = []
        self.observers = []

    def _record(self, action, address, size, **extra):
        if self.history is None:
            return
        entry = {"action": action, "addr": address, "size": size, "stream": 0,
                 "time_us": _now_us(), "frames": _frames()}
        entry.update(extra)
        self.trace.append(entry)
        del self.trace[:-self.history]

    def _best_fit(self, size, small):
        best = None
        for segment in self.segments:
            if segment.small != small:
                continue
            for block in segment.blocks:
                if not block.allocated and block.size >= size and (best is None or block.size < best.size):
                    best = block
        return best

    def _new_segment(self, size, small):
        address = self.runtime.malloc(size)
        if address is None:
            for segment in [s for s in self.segments if not any(b.allocated for b in s.blocks)]:
                self.segments.remove(segment)
                self.runtime.free(segment.address)
                self.reserved -= segment.size
                self._record("segment_free", segment.address, segment.size)
            address = self.runtime.malloc(size)
            if address is None:
                return None
        segment = _Segment(address, size, small)
        segment.frames = _frames()
        self.segments.append(segment)
        self.reserved += size
        self.max_reserved = max(self.max_reserved, self.reserved)
        self._record("segment_alloc", address, size)
        return segment

    def malloc(self, requested):
        if self.runtime is None:
            self.runtime = _Runtime()
            _initialize()
        size = max(_ROUND, -(-requested // _ROUND) * _ROUND)
        small = size <= _SMALL
        block = self._best_fit(size, small)
        if block is None:
            if small:
                segment_size = _SMALL_SEGMENT
            elif size < 10 * _MiB:
                segment_size = _LARGE_SEGMENT
            else:
                segment_size = -(-size // (2 * _MiB)) * (2 * _MiB)
            segment = self._new_segment(segment_size, small)
            if segment is None:
                free, total = self.runtime.mem_info()
                self._record("oom", free, size, device_free=free)
                for observer in self.observers:
                    observer(0, size, self.allocated, free)
                raise OutOfMemoryError(
                    f"CUDA out of memory. Tried to allocate {_format_size(size)}. GPU 0 has a total capacity "
                    f"of {_format_size(total)} of which {_format_size(free)} is free. Of the allocated memory "
                    f"{_format_size(self.allocated)} is allocated by PyTorch, and "
                    f"{_format_size(self.reserved - self.allocated)} is reserved by PyTorch but unallocated.")
            block = segment.blocks[0]
        remaining = block.size - size
        if remaining >= (_ROUND if small else _SMALL + 1):
            rest = _Block(block.segment, block.address + size, remaining)
            blocks = block.segment.blocks
            blocks.insert(blocks.index(block) + 1, rest)
            block.size = size
        block.allocated, block.requested, block.frames = True, requested, _frames()
        self.allocated += block.size
        self.max_allocated = max(self.max_allocated, self.allocated)
        self._record("alloc", block.address, block.size)
        return block

    def free(self, block):
        block.allocated = False
        self.allocated -= block.size
        self._record("free_requested", block.address, block.size)
        self._record("free_completed", block.address, block.size)
        blocks = block.segment.blocks
        i = blocks.index(block)
        if i + 1 < len(blocks) and not blocks[i + 1].allocated:
            block.size += blocks.pop(i + 1).size
        if i > 0 and not blocks[i - 1].allocated:
            blocks[i - 1].size += blocks.pop(i).size

    def snapshot(self):
        segments = []
        for s in sorted(self.segments, key=lambda s: s.address):
            blocks = [{"address": b.address, "size": b.size, "requested_size": b.requested,
                       "state": "active_allocated" if b.allocated else "inactive",
                       "frames": b.frames if b.allocated else []} for b in s.blocks]
            segments.append({"device": 0, "address": s.address, "total_size": s.size, "stream": 0,
                             "segment_type": "small" if s.small else "large",
                             "allocated_size": sum(b.size for b in s.blocks if b.allocated),
                             "active_size": sum(b.size for b in s.blocks if b.allocated),
                             "requested_size": sum(b.requested for b in s.blocks if b.allocated),
                             "blocks": blocks, "frames": s.frames})
        return {"segments": segments, "device_traces": [list(self.trace)],
                "allocator_settings": {"PYTORCH_CUDA_ALLOC_CONF": os.environ.get("PYTORCH_CUDA_ALLOC_CONF", "")}}


_allocator = _Allocator()
_initialized = False
_queued = []


def _initialize():
    global _initialized
    if _initialized:
        return
    _initialized = True
    for call in _queued:
        call()
    _queued.clear()


class OutOfMemoryError(RuntimeError):
    pass


class _Storage:
    block = None

    def __init__(self, nbytes):
        self.block = _allocator.malloc(nbytes)

    def __del__(self):
        if self.block is not None:
            _allocator.free(self.block)


class dtype:
    def __init__(self, name, size):
        self.name, self.itemsize = name, size


float32 = dtype("float32", 4)
bfloat16 = dtype("bfloat16", 2)
uint8 = dtype("uint8", 1)


class Tensor:
    def __init__(self, shape, dtype=float32, storage=None, graph=(), layers=()):
        self.shape = tuple(shape)
        self.dtype = dtype
        count = 1
        for n in self.shape:
            count *= n
        self._storage = storage or _Storage(count * dtype.itemsize)
        self._graph = graph  # what backward needs: the activations
        self._layers = layers
        self.grad = None

    def numel(self):
        count = 1
        for n in self.shape:
            count *= n
        return count

    def element_size(self):
        return self.dtype.itemsize

    def detach(self):
        return Tensor(self.shape, self.dtype, self._storage)

    def sum(self):
        return Tensor((), self.dtype, graph=list(self._graph) + [self], layers=self._layers)

    def backward(self):
        for layer in self._layers:
            layer._grads()
        self._graph, self._layers = (), ()

    def item(self):
        return 0.0


def empty(*shape, dtype=float32, device=None):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return Tensor(shape, dtype)


randn = zeros = empty


def zeros_like(t):
    return Tensor(t.shape, t.dtype)


class _Cuda:
    OutOfMemoryError = OutOfMemoryError

    class memory:
        @staticmethod
        def _record_memory_history(enabled="all", context="all", stacks="all", max_entries=sys.maxsize,
                                   device=None):
            _allocator.history = max_entries if enabled else None
            if not enabled:
                _allocator.trace.clear()

        @staticmethod
        def _snapshot(device=None):
            return _allocator.snapshot()

    @staticmethod
    def is_available():
        return True

    @staticmethod
    def is_initialized():
        return _initialized

    @staticmethod
    def _lazy_call(call, **kwargs):
        if _initialized:
            call()
        else:
            _queued.append(call)

    @staticmethod
    def get_allocator_backend():
        return "native"

    @staticmethod
    def device_count():
        return 1

    @staticmethod
    def synchronize():
        pass

    @staticmethod
    def max_memory_allocated(device=None):
        return _allocator.max_allocated

    @staticmethod
    def max_memory_reserved(device=None):
        return _allocator.max_reserved

    @staticmethod
    def memory_allocated(device=None):
        return _allocator.allocated


cuda = _Cuda()


class _C:
    @staticmethod
    def _cuda_attach_out_of_memory_observer(observer):
        _allocator.observers.append(observer)


class _Linear:
    def __init__(self, inputs, outputs):
        self.weight = empty(outputs, inputs)
        self.bias = empty(outputs)
        self._input_batch = None

    def parameters(self):
        return [self.weight, self.bias]

    def _grads(self):
        for p in self.parameters():
            if p.grad is None:
                p.grad = zeros_like(p)


class _Sequential:
    def __init__(self, *layers):
        self.layers = layers

    def to(self, device):
        return self

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __call__(self, x):
        activations = [x]
        for layer in self.layers:
            activations.append(Tensor((x.shape[0], layer.weight.shape[0]), x.dtype))
        out = activations.pop()
        out._graph, out._layers = activations, self.layers
        return out


class nn:
    Linear = _Linear
    Sequential = _Sequential


class _Adam:
    def __init__(self, parameters, lr=1e-3):
        self.parameters = list(parameters)
        self.state = {}

    def zero_grad(self, set_to_none=True):
        for p in self.parameters:
            p.grad = None

    def step(self):
        for p in self.parameters:
            if id(p) not in self.state:
                self.state[id(p)] = (zeros_like(p), zeros_like(p))


class optim:
    Adam = _Adam
