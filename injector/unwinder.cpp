// libunwind through dlopen: unw_backtrace with a per-thread cache, the
// fastest way it offers to walk a stack without frame pointers.
#include "injector/unwinder.h"

#include <dlfcn.h>

#include "injector/real_functions.h"

namespace vramscope::inject {

namespace {

using BacktraceFn = int (*)(void**, int);
using SetCachingPolicyFn = int (*)(void*, int);
constexpr int kUnwCachePerThread = 2;  // UNW_CACHE_PER_THREAD

BacktraceFn g_backtrace = nullptr;

}  // namespace

bool load_unwinder() {
  void* library = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
  if (!library) return false;
  auto backtrace = reinterpret_cast<BacktraceFn>(real_dlsym(library, "unw_backtrace"));
  auto set_policy = reinterpret_cast<SetCachingPolicyFn>(real_dlsym(library, "_ULx86_64_set_caching_policy"));
  void* address_space = real_dlsym(library, "_ULx86_64_local_addr_space");
  if (!backtrace) return false;
  if (set_policy && address_space) set_policy(*static_cast<void**>(address_space), kUnwCachePerThread);
  g_backtrace = backtrace;
  return true;
}

int backtrace_frames(void** frames, int capacity) { return g_backtrace ? g_backtrace(frames, capacity) : 0; }

}  // namespace vramscope::inject
