// Interning and the final sort of an imported trace's events.
#include "formats/imported_trace.h"

#include <algorithm>

namespace vramscope::trace {

ImportedTrace::ImportedTrace(const std::string& source) {
  trace.source = source;
  trace.header.clock = "torch.profiler";
  // Slot 0 of each table is "none".
  trace.strings.emplace_back();
  trace.stack_nodes.emplace_back();
  trace.frames.emplace_back();
}

StringId ImportedTrace::string(const std::string& text) {
  auto [at, added] = strings_.emplace(text, StringId{static_cast<uint32_t>(trace.strings.size())});
  if (added) trace.strings.push_back(text);
  return at->second;
}

StackId ImportedTrace::frame_stack(const std::string& function, const std::string& file) {
  auto [at, added] = stacks_.emplace(function + '\n' + file, StackId{});
  if (added) {
    FrameId frame{static_cast<uint32_t>(trace.frames.size())};
    trace.frames.push_back(Frame{frame, string(function), string(file), 0});
    at->second = StackId{static_cast<uint32_t>(trace.stack_nodes.size())};
    trace.stack_nodes.push_back(StackNode{at->second, StackId{}, 0, frame});
  }
  return at->second;
}

void ImportedTrace::add(const Event& event, TieRank rank, int64_t first, int64_t second) {
  pending_.push_back(Pending{{event.time_ns, rank, first, second, pending_.size()}, event});
}

TraceContents ImportedTrace::finish() {
  std::sort(pending_.begin(), pending_.end(),
            [](const Pending& a, const Pending& b) { return a.key < b.key; });
  for (const Pending& p : pending_) trace.events.push_back(p.event);
  trace.record_count = pending_.size();
  pending_.clear();
  return std::move(trace);
}

}  // namespace vramscope::trace
