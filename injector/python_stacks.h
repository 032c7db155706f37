// Python stacks for native events (vramscope run --python-stacks): a profile
// function of our own, set in each Python thread, keeps a shadow of the
// thread's Python frames (function and file, as the interpreter's own
// strings) as they are entered and left. An event recorded on that thread,
// with or without the interpreter's lock held, then reads the shadow: its
// stack is the Python frames, outermost first, then the native frames inside
// the interpreter (an extension's C or C++ down to cudaMalloc). The cost is
// one call of ours per Python call and return; docs/frameworks.md has the
// figures.
#pragma once

#include <cstdint>
#include <string_view>

#include "injector/state.h"

namespace vramscope::inject {

// Whether the shadow is kept (a Python job asked for it).
bool python_stacks_on();

// Whether `ip` is in the interpreter's code (libpython, or the python
// executable that has it built in): native frames from there outward are the
// interpreter's, which the Python frames stand for.
bool in_interpreter(uint64_t ip);

struct PythonFrame {
  std::string_view function;
  std::string_view file;
  uint32_t line = 0;
  uint64_t key = 0;  // function, file and line together, for interning
};

// How many of the calling thread's Python frames the shadow holds.
int python_depth(const ThreadState* ts);
// Frame `i`, outermost first (0 <= i < python_depth).
PythonFrame python_frame(const ThreadState* ts, int i);

}  // namespace vramscope::inject
