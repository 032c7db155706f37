// A small training loop built by hand, shared by the unit tests of
// iterations, categories and the timeline.
#pragma once

#include <cstdint>
#include <string>

#include "trace_builder.h"

namespace vramscope::testing {

inline void push_range(TraceBuilder& b, uint64_t t, const std::string& name) {
  b.add(trace::EventType::RangePush, t).name = b.string(name);
}
inline void pop_range(TraceBuilder& b, uint64_t t) { b.add(trace::EventType::RangePop, t); }

// One event per nanosecond: 2 parameters (100 bytes each) and their 2
// gradients at 1-4; per step (NVTX range 'step') an input (10), two
// activations (20), a temporary (5) in each layer's backward, a workspace (7);
// two optimizer states (100) after step 1's backward, at 18-19. With 3 steps:
// 5-20, 21-34, 35-48; everything freed at 49-54.
inline TraceBuilder training_loop(int steps) {
  TraceBuilder b;
  auto params = b.stack({{"main", "t.py", 1}, {"init_weights", "m.py", 1}});
  auto grads = b.stack({{"main", "t.py", 2}, {"make_gradients", "m.py", 2}});
  auto input = b.stack({{"main", "t.py", 3}, {"load", "d.py", 3}});
  auto forward = b.stack({{"main", "t.py", 4}, {"fwd", "m.py", 4}});
  auto backward = b.stack({{"main", "t.py", 5}, {"bwd", "m.py", 5}});
  auto workspace = b.stack({{"main", "t.py", 6}, {"get_workspace", "k.py", 6}});
  auto state = b.stack({{"main", "t.py", 7}, {"opt_step", "o.py", 7}});
  uint64_t t = 0;
  b.alloc(++t, 0x100, 100, params);
  b.alloc(++t, 0x200, 100, params);
  b.alloc(++t, 0x300, 100, grads);
  b.alloc(++t, 0x400, 100, grads);
  for (int s = 1; s <= steps; ++s) {
    push_range(b, ++t, "step");
    b.alloc(++t, 0x1000, 10, input);
    b.alloc(++t, 0x2000, 20, forward);
    b.alloc(++t, 0x3000, 20, forward);
    b.alloc(++t, 0x4000, 7, workspace);
    b.free(++t, 0x4000);
    b.alloc(++t, 0x5000, 5, backward);
    b.free(++t, 0x5000);
    b.free(++t, 0x3000);
    b.alloc(++t, 0x5000, 5, backward);
    b.free(++t, 0x5000);
    b.free(++t, 0x2000);
    b.free(++t, 0x1000);
    if (s == 1) {
      b.alloc(++t, 0x600, 100, state);
      b.alloc(++t, 0x700, 100, state);
    }
    pop_range(b, ++t);
  }
  for (uint64_t a : {0x100, 0x200, 0x300, 0x400, 0x600, 0x700}) b.free(++t, a);
  return b;
}

}  // namespace vramscope::testing
