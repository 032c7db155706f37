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
constexpr std::array<std::string_view, 5> kCudaLibraries = {"libcuda.so", "libcudart", "libcublas",
                                                            "libcudnn", "libnccl"};
constexpr std::array<std::string_view, 7> kSystemRuntime = {
    "libc.so", "libc-", "libstdc++", "ld-linux", "libgcc_s.so", "libpthread.so", "libdl.so"};

}  // namespace

bool is_runtime_module(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto starts_with_any = [name](const auto& prefixes) {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [name](std::string_view p) { return name.starts_with(p); });
  };
  return name.starts_with(kProfiler) || starts_with_any(kCudaLibraries) || starts_with_any(kSystemRuntime);
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
  // The first frame outside the runtime; when every frame is runtime, the
  // innermost one is still the best answer there is.
  resolved.site = resolved.frames.front();
  for (const StackFrame& frame : resolved.frames) {
    if (!is_runtime_module(frame.module) && !(frame.inlined && is_runtime_header(frame.file))) {
      resolved.site = frame;
      break;
    }
  }
  return resolved;
}

std::string site_key(const Site& site) {
  std::string key = site.module + '\n' + site.function + '\n';
  if (site.function == "??") return key + std::to_string(site.address);
  return key + site.file + '\n' + std::to_string(site.line);
}

std::vector<std::string> site_and_callers(const ResolvedStack& stack) {
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
