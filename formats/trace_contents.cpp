// Lookups on a trace read into memory.
#include "formats/trace_reader.h"

namespace vramscope::trace {

const std::string& TraceContents::string(StringId id) const {
  static const std::string empty;
  return id.value < strings.size() ? strings[id.value] : empty;
}

const StackNode* TraceContents::stack_node(StackId id) const {
  if (!id.valid() || id.value >= stack_nodes.size()) return nullptr;
  const StackNode& node = stack_nodes[id.value];
  return node.id == id ? &node : nullptr;
}

const Frame* TraceContents::frame(FrameId id) const {
  if (!id.valid() || id.value >= frames.size()) return nullptr;
  const Frame& f = frames[id.value];
  return f.id == id ? &f : nullptr;
}

std::vector<const StackNode*> TraceContents::stack_frames(StackId id) const {
  std::vector<const StackNode*> result;
  // A parent always has a smaller id than its child, so this ends; the size
  // bound guards against a corrupt trace all the same.
  while (const StackNode* node = stack_node(id)) {
    result.push_back(node);
    if (result.size() > stack_nodes.size()) break;
    id = node->parent;
  }
  return result;
}

}  // namespace vramscope::trace
