"""Tensor-level recording of PyTorch's caching allocator, for `vramscope run`.

The injector sees the segments PyTorch's caching allocator gets from the
driver, not the tensors it hands out inside them. When the job imports
`torch`, this module asks PyTorch to keep its allocator's history (every
block allocated and freed, with size, stream, time and Python stack; the
allocator's own out-of-memory notices) from the moment CUDA starts, and
writes it, as a memory snapshot, beside the process's trace: at each
out-of-memory and when the process exits. `vramscope run` then merges it
into the trace, on the trace's clock (docs/frameworks.md).

Nothing here changes what the job computes: CUDA is not started early (the
recording waits for the job's own first use of CUDA), and a failure here is
reported on one line and leaves the job running.
"""
import atexit
import importlib.abc
import importlib.util
import os
import sys

_HISTORY_ENTRIES = int(os.environ.get("VRAMSCOPE_TORCH_ENTRIES", "2000000"))
_SUFFIX = ".torch.pickle"

_state = {"torch": None, "recording": False, "ooms": []}


def _say(message):
    print(f"vramscope: {message}", file=sys.stderr)


def _trace_path():
    """This process's trace, as the preloaded injector names it, or None."""
    import ctypes
    try:
        ask = ctypes.CDLL(None).vramscope_trace_path
    except (AttributeError, OSError):
        return None
    ask.restype = ctypes.c_char_p
    path = ask()
    return os.fsdecode(path) if path else None


def _dump(reason):
    torch = _state["torch"]
    if torch is None or not _state["recording"]:
        return
    trace = _trace_path()
    if trace is None:
        return
    import pickle
    try:
        snapshot = torch.cuda.memory._snapshot()
        devices = range(torch.cuda.device_count())
        snapshot["vramscope"] = {
            "reason": reason,
            "torch_version": str(torch.__version__),
            "max_memory_allocated": [torch.cuda.max_memory_allocated(d) for d in devices],
            "max_memory_reserved": [torch.cuda.max_memory_reserved(d) for d in devices],
            "out_of_memory": list(_state["ooms"]),
        }
        temporary = f"{trace}{_SUFFIX}.{os.getpid()}.part"
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            pickle.dump(snapshot, out, protocol=4)
        os.replace(temporary, trace + _SUFFIX)
    except Exception as error:
        _say(f"PyTorch's allocator history not saved ({reason}): {error}")


def _on_out_of_memory(device, requested, device_allocated, device_free):
    _state["ooms"].append({"device": device, "requested": requested,
                           "device_allocated": device_allocated, "device_free": device_free})
    _dump("out of memory")


def _start_recording():
    """Runs when the job first starts CUDA (torch.cuda._lazy_call)."""
    torch = _state["torch"]
    backend = getattr(torch.cuda, "get_allocator_backend", lambda: "native")()
    if backend != "native":
        return  # cudaMallocAsync: every tensor is a driver allocation already
    record = torch.cuda.memory._record_memory_history
    try:
        record(enabled="all", context="alloc", stacks="python", max_entries=_HISTORY_ENTRIES)
    except TypeError:  # PyTorch 2.0 and older
        record(True, record_context=True, trace_alloc_max_entries=_HISTORY_ENTRIES,
               trace_alloc_record_context=True)
    _state["recording"] = True
    observe = getattr(torch._C, "_cuda_attach_out_of_memory_observer", None)
    if observe is not None:
        observe(_on_out_of_memory)
    atexit.register(_dump, "exit")


def _on_torch(torch):
    _state["torch"] = torch
    cuda = getattr(torch, "cuda", None)
    if cuda is None or not hasattr(cuda, "_lazy_call") or \
            not hasattr(getattr(cuda, "memory", None), "_record_memory_history"):
        _say("this PyTorch keeps no allocator history: tensors are not recorded, segments are")
        return

    def start():
        try:
            _start_recording()
        except Exception as error:
            _say(f"PyTorch's allocator history not started: {error}")
    cuda._lazy_call(start)


class _TorchWatcher(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of `torch` to act once it has loaded."""

    def find_spec(self, name, path, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            try:
                _on_torch(module)
            except Exception as error:
                _say(f"PyTorch hook failed: {error}")
        spec.loader.exec_module = exec_module
        return spec


def _start_python_stacks():
    """vramscope run --python-stacks: Python frames on the driver's events (docs/frameworks.md)."""
    import ctypes
    import threading
    try:
        start = ctypes.PyDLL(None).vramscope_python_stacks_start  # keeps the interpreter's lock
    except AttributeError:
        return
    if start() != 0:
        _say("this Python lacks what Python stacks need: native stacks only")
        return

    def in_each_new_thread(frame, event, arg):
        start()  # our own profile function replaces this one, in this thread

    threading.setprofile(in_each_new_thread)


def arm():
    if os.environ.get("VRAMSCOPE_PYTHON_STACKS") == "1":
        _start_python_stacks()
    if os.environ.get("VRAMSCOPE_FRAMEWORKS", "1") == "0":
        return
    if "torch" in sys.modules:
        _on_torch(sys.modules["torch"])
    else:
        sys.meta_path.insert(0, _TorchWatcher())
