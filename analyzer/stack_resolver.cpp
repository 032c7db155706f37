// Stack resolution: native frames through the Symbolizer, non-native (Python)
// frames from the trace's own frame table; then the site rule.
#include "analyzer/stack_resolver.h"

#include <algorithm>
#include <array>

namespace vramscope::analysis {

namespace {

constexpr std::string_view kNoStack = "<no stack>";

// Modules a site is never in, by the start of their file name.
constexpr std::string_view kProfiler = "libvramscope_inject.so";
constexpr std::array<std::string_view, 6> kCudaLibraries = {"libcuda.so", "libcudart", "libcublas",
                                                            "libcudnn",   "libnccl",   "libcupti"};
constexpr std::array<std::string_view, 7> kSystemRuntime = {
    "libc.so", "libc-", "libstdc++", "ld-linux", "libgcc_s.so", "libpthread.so", "libdl.so"};

// PyTorch's own code and the Python interpreter's, as PyTorch's snapshots and
// Python stacks name them: C++ frames by namespace, Python frames by file.
constexpr std::array<std::string_view, 5> kFrameworkNamespaces = {
    "torch::", "c10::", "at::", "caffe2::", "_object* torch::"};
// The interpreter's and the C/C++ runtime's functions, where a frame names no module.
constexpr std::array<std::string_view, 21> kInterpreterFunctions = {
    "std::",        "__gnu_cxx::", "pthread_",  "__clone",    "start_thread",      "_Py",      "Py_",
    "PyEval_",      "PyObject_",   "PyNumber_", "PyRun_",     "PyVectorcall_",     "PyDescr_", "PyType_",
    "PyCFunction_", "__libc_",     "_start",    "cfunction_", "method_vectorcall", "slot_tp_", "<frozen "};
// Python's foreign-function calls (ctypes over libffi) are the interpreter's too.
constexpr std::array<std::string_view, 6> kFrameworkModules = {"libtorch",  "libc10", "libpython",
                                                               "libcaffe2", "libffi", "_ctypes."};

bool starts_with_any(std::string_view text, const auto& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [text](std::string_view p) { return text.starts_with(p); });
}

// The directory of Python packages installed with pip or the system, either slash.
bool in_packages(std::string_view file) {
  for (std::string_view dir : {"site-packages", "dist-packages"}) {
    size_t at = file.find(dir);
    if (at != std::string_view::npos && at > 0 && (file[at - 1] == '/' || file[at - 1] == '\\')) return true;
  }
  return false;
}

bool in_torch_package(std::string_view file) {
  if (!in_packages(file)) return false;
  return file.find("/torch/") != std::string_view::npos || file.find("\\torch\\") != std::string_view::npos;
}

// A frame of PyTorch or of the Python interpreter: no site, as the CUDA
// runtime is none.
bool is_framework_frame(const StackFrame& frame) {
  // A C function of the interpreter, as PyTorch names native frames it has no file for.
  const bool no_file = frame.file.empty() || frame.file == "??";
  std::string_view module = frame.module;
  if (!module.empty()) {
    size_t slash = module.rfind('/');
    return starts_with_any(slash == std::string_view::npos ? module : module.substr(slash + 1),
                           kFrameworkModules);
  }
  std::string_view function = frame.function;
  return starts_with_any(function, kFrameworkNamespaces) ||
         starts_with_any(function, kInterpreterFunctions) || (no_file && function.starts_with("Py")) ||
         in_torch_package(frame.file) || frame.file.ends_with("runpy.py");
}

bool is_runtime_frame(const StackFrame& frame) {
  return is_runtime_module(frame.module) || (frame.inlined && is_runtime_header(frame.file)) ||
         is_framework_frame(frame);
}

}  // namespace

bool is_runtime_module(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return name.starts_with(kProfiler) || starts_with_any(name, kCudaLibraries) ||
         starts_with_any(name, kSystemRuntime);
}

bool is_runtime_header(std::string_view file) {
  // The C and C++ libraries' headers, and the CUDA toolkit's (cuda_runtime.h's
  // templates, say cudaMalloc<T>), wherever the toolkit is installed.
  return file.starts_with("/usr/include/") || file.find("/include/c++/") != std::string_view::npos ||
         (file.find("cuda") != std::string_view::npos && file.find("/include/") != std::string_view::npos);
}

StackResolver::StackResolver(const trace::TraceContents& trace, Symbolizer& symbolizer)
    : trace_(trace), symbolizer_(symbolizer) {}

const ResolvedStack& StackResolver::resolve(trace::StackId stack) {
  auto found = cache_.find(stack.value);
  if (found != cache_.end()) return found->second;
  return cache_.emplace(stack.value, build(stack)).first->second;
}

void StackResolver::add_frames(const trace::StackNode& node, Stack& frames) {
  if (node.frame.valid()) {
    StackFrame frame;
    frame.function = "??";
    if (const trace::Frame* f = trace_.frame(node.frame)) {
      if (!trace_.string(f->function).empty()) frame.function = trace_.string(f->function);
      frame.file = trace_.string(f->file);
      frame.line = f->line;
    }
    frames.push_back(std::move(frame));
    return;
  }
  const Stack& native = symbolizer_.symbolize(node.ip);
  frames.insert(frames.end(), native.begin(), native.end());
}

ResolvedStack StackResolver::build(trace::StackId stack) {
  ResolvedStack resolved;
  for (const trace::StackNode* node : trace_.stack_frames(stack)) add_frames(*node, resolved.frames);
  if (resolved.frames.empty()) {
    resolved.site.function = kNoStack;
    return resolved;
  }
  // The first frame outside the runtime and the framework, preferring the
  // user's own code to installed Python packages; when every frame is
  // runtime, the innermost one is still the best answer there is.
  resolved.site = resolved.frames.front();
  const StackFrame* library = nullptr;
  for (const StackFrame& frame : resolved.frames) {
    if (is_runtime_frame(frame)) continue;
    if (frame.module.empty() && in_packages(frame.file)) {
      if (!library) library = &frame;
      continue;
    }
    resolved.site = frame;
    return resolved;
  }
  if (library) resolved.site = *library;
  return resolved;
}

std::string site_key(const Site& site) {
  std::string key = site.module + '\n' + site.function + '\n';
  if (site.function == "??") return key + std::to_string(site.address);
  return key + site.file + '\n' + std::to_string(site.line);
}

std::string_view workspace_library(const Stack& frames) {
  struct Library {
    std::string_view file_prefix;
    std::string_view name;
  };
  static constexpr Library kLibraries[] = {
      {"libcublas", "cuBLAS"}, {"libcudnn", "cuDNN"}, {"libnccl", "NCCL"}};
  for (const StackFrame& frame : frames) {
    std::string_view module = frame.module;
    module.remove_prefix(std::min(module.size(), module.rfind('/') + 1));
    for (const Library& library : kLibraries) {
      if (module.starts_with(library.file_prefix)) return library.name;
    }
  }
  return {};
}

std::vector<std::string> site_and_callers(const ResolvedStack& stack) {
  if (std::string_view library = workspace_library(stack.frames); !library.empty())
    return {std::string(kWorkspaceOf) + " " + std::string(library)};
  constexpr size_t kCallers = 2;
  const Site& site = stack.site;
  size_t i = 0;
  while (i < stack.frames.size() &&
         !(stack.frames[i].address == site.address && stack.frames[i].function == site.function &&
           stack.frames[i].file == site.file && stack.frames[i].line == site.line)) {
    ++i;
  }
  if (i == stack.frames.size()) return {site.function};
  std::vector<std::string> names;
  for (size_t j = i; j < stack.frames.size() && j <= i + kCallers; ++j)
    names.push_back(stack.frames[j].function);
  return names;
}

}  // namespace vramscope::analysis
