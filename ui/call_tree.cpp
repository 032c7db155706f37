// Merges the stacks' paths of frames into one tree.
#include "ui/call_tree.h"

#include <algorithm>
#include <map>

#include "analyzer/text_layout.h"

namespace vramscope::ui {

namespace {

void sort_by_bytes(CallTreeNode& node) {
  std::stable_sort(node.children.begin(), node.children.end(),
                   [](const CallTreeNode& a, const CallTreeNode& b) { return a.bytes > b.bytes; });
  for (CallTreeNode& child : node.children) sort_by_bytes(child);
}

}  // namespace

CallTreeNode build_call_tree(const analysis::BytesByStack& stacks, analysis::StackResolver& resolver,
                             bool bottom_up) {
  // Children by name while building; sorted by bytes at the end.
  struct Building {
    uint64_t bytes = 0, count = 0;
    std::map<std::string, Building> children;
  };
  Building root;
  for (const auto& [id, entry] : stacks) {
    const analysis::ResolvedStack& resolved = resolver.resolve(trace::StackId{id});
    std::vector<std::string> path;  // innermost first
    for (const analysis::StackFrame& frame : resolved.frames) {
      if (!analysis::is_runtime_module(frame.module)) path.push_back(analysis::text::site_text(frame));
    }
    if (path.empty()) path.push_back("<no stack>");
    if (!bottom_up) std::reverse(path.begin(), path.end());
    Building* node = &root;
    node->bytes += entry.bytes;
    node->count += entry.count;
    for (const std::string& name : path) {
      node = &node->children[name];
      node->bytes += entry.bytes;
      node->count += entry.count;
    }
  }
  auto convert = [](auto& self, const std::string& name, const Building& b) -> CallTreeNode {
    CallTreeNode n{name, b.bytes, b.count, {}};
    for (const auto& [child_name, child] : b.children) n.children.push_back(self(self, child_name, child));
    return n;
  };
  CallTreeNode tree = convert(convert, "all", root);
  sort_by_bytes(tree);
  return tree;
}

}  // namespace vramscope::ui
