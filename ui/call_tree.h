// Bytes by call path, as a tree: top-down from the outermost of the job's own
// frames, or bottom-up from the allocating site. Runtime, driver and profiler
// frames are left out, as sites leave them out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analyzer/peak_tracker.h"
#include "analyzer/stack_resolver.h"

namespace vramscope::ui {

struct CallTreeNode {
  std::string name;  // a frame, as sites are written: function (file:line)
  uint64_t bytes = 0;
  uint64_t count = 0;
  std::vector<CallTreeNode> children;  // by bytes, most first
};

// The tree of `stacks` under a root named "all".
CallTreeNode build_call_tree(const analysis::BytesByStack& stacks, analysis::StackResolver& resolver,
                             bool bottom_up);

}  // namespace vramscope::ui
