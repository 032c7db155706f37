// Turns a trace's stack ids into symbolized stacks and picks each stack's site.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analyzer/report.h"
#include "analyzer/symbolizer.h"
#include "formats/trace_reader.h"

namespace vramscope::analysis {

struct ResolvedStack {
  Stack frames;  // innermost first; empty for an event without a stack
  Site site;
};

// True for the modules a site is never in: the profiler itself, the CUDA
// libraries and the C/C++ runtime. Decided on the file name alone.
bool is_runtime_module(std::string_view path);
// Whether a source file is a header of the C/C++ runtime or of CUDA: a
// function inlined from one is no site either.
bool is_runtime_header(std::string_view file);

// Two stacks share a site when their site frames name the same source line;
// frames without a name are told apart by address instead. Every table of
// sites (the peak's, the OOM's, the timeline's) groups by this key.
std::string site_key(const Site& site);

// The library among cuBLAS, cuDNN and NCCL that a stack passes through
// ("cuBLAS", ...), by its frames' module file names; "" for none. What such a
// library allocates for itself is its workspace.
std::string_view workspace_library(const Stack& frames);

// What site_and_callers names a stack that passes through one: the marker,
// a space, the library.
inline constexpr std::string_view kWorkspaceOf = "<workspace of>";

// The site's function and its two nearest callers, innermost first: the
// names the categories read (an allocator's own function is often the site;
// the caller says what the memory is for). For a stack through cuBLAS,
// cuDNN or NCCL, the one name "<workspace of> LIBRARY" instead.
std::vector<std::string> site_and_callers(const ResolvedStack& stack);

class StackResolver {
 public:
  StackResolver(const trace::TraceContents& trace, Symbolizer& symbolizer);

  // Cached per stack id; an unknown or zero id gives the "<no stack>" site.
  const ResolvedStack& resolve(trace::StackId stack);

 private:
  ResolvedStack build(trace::StackId stack);
  // Appends the node's frames: one, or a native one's inlined functions too.
  void add_frames(const trace::StackNode& node, Stack& frames);

  const trace::TraceContents& trace_;
  Symbolizer& symbolizer_;
  std::unordered_map<uint32_t, ResolvedStack> cache_;
};

}  // namespace vramscope::analysis
