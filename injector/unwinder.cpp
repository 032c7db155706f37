// Stack walking: libunwind through dlopen (unw_backtrace with a per-thread
// cache, the fastest way to walk a stack without frame pointers), else libgcc's
// _Unwind_Backtrace, which every C++ process has.
#include "injector/unwinder.h"

#include <dlfcn.h>
#include <unwind.h>

#include <string>

#include "injector/real_functions.h"

namespace vramscope::inject {

namespace {

using BacktraceFn = int (*)(void**, int);
using SetCachingPolicyFn = int (*)(void*, int);
constexpr int kUnwCachePerThread = 2;  // UNW_CACHE_PER_THREAD

BacktraceFn g_backtrace = nullptr;

struct FrameSink {
  void** frames;
  int capacity;
  int count;
};

_Unwind_Reason_Code take_frame(_Unwind_Context* context, void* arg) {
  auto* sink = static_cast<FrameSink*>(arg);
  if (sink->count == sink->capacity) return _URC_END_OF_STACK;
  uintptr_t ip = _Unwind_GetIP(context);
  if (ip == 0) return _URC_END_OF_STACK;
  sink->frames[sink->count++] = reinterpret_cast<void*>(ip);
  return _URC_NO_REASON;
}

int libgcc_backtrace(void** frames, int capacity) {
  FrameSink sink{frames, capacity, 0};
  _Unwind_Backtrace(take_frame, &sink);
  return sink.count;
}

// libunwind's names carry the architecture it unwinds.
#if defined(__x86_64__)
constexpr const char* kSetCachingPolicy = "_ULx86_64_set_caching_policy";
constexpr const char* kLocalAddressSpace = "_ULx86_64_local_addr_space";
#elif defined(__aarch64__)
constexpr const char* kSetCachingPolicy = "_ULaarch64_set_caching_policy";
constexpr const char* kLocalAddressSpace = "_ULaarch64_local_addr_space";
#else
#error "vramscope's injector runs on x86-64 and aarch64"
#endif

// The build and the install put a libunwind.so.8 beside the injector, so that
// a GPU machine without libunwind installed still gets the fast walker.
void* open_libunwind() {
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&open_libunwind), &self) && self.dli_fname) {
    std::string path = self.dli_fname;
    path.erase(path.find_last_of('/') + 1);
    if (void* library = dlopen((path + "libunwind.so.8").c_str(), RTLD_NOW | RTLD_LOCAL)) return library;
  }
  return dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
}

}  // namespace

UnwinderKind load_unwinder(bool libgcc_only) {
  if (void* library = libgcc_only ? nullptr : open_libunwind()) {
    auto backtrace = reinterpret_cast<BacktraceFn>(real_dlsym(library, "unw_backtrace"));
    auto set_policy = reinterpret_cast<SetCachingPolicyFn>(real_dlsym(library, kSetCachingPolicy));
    void* address_space = real_dlsym(library, kLocalAddressSpace);
    if (backtrace) {
      if (set_policy && address_space) set_policy(*static_cast<void**>(address_space), kUnwCachePerThread);
      g_backtrace = backtrace;
      return UnwinderKind::kLibunwind;
    }
  }
  g_backtrace = libgcc_backtrace;
  return UnwinderKind::kLibgcc;
}

int backtrace_frames(void** frames, int capacity) { return g_backtrace ? g_backtrace(frames, capacity) : 0; }

}  // namespace vramscope::inject
