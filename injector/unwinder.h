// Native stack walking with libunwind, loaded privately (RTLD_LOCAL) so its
// _Unwind_* functions never stand in for the job's own C++ unwinder; libgcc's
// unwinder where libunwind cannot be loaded.
#pragma once

namespace vramscope::inject {

enum class UnwinderKind { kLibunwind, kLibgcc };

// Loads libunwind (the copy beside the injector, else the system's), else, or
// when libgcc_only, settles for libgcc's _Unwind_Backtrace.
UnwinderKind load_unwinder(bool libgcc_only);
// Return addresses of the calling thread, innermost first.
int backtrace_frames(void** frames, int capacity);

}  // namespace vramscope::inject
