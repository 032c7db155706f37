// Native stack walking with libunwind, loaded privately (RTLD_LOCAL) so its
// _Unwind_* functions never stand in for the job's own C++ unwinder.
#pragma once

namespace vramscope::inject {

// Loads libunwind; false (and stacks are off) when it is not installed.
bool load_unwinder();
// Return addresses of the calling thread, innermost first.
int backtrace_frames(void** frames, int capacity);

}  // namespace vramscope::inject
