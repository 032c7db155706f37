// Finding the real functions behind our hooks, and choosing the wrapper that
// stands in for a driver function a program looks up by name.
#include "injector/real_functions.h"

#include <dlfcn.h>

#include <cstring>

#include "injector/driver_hooks.h"

namespace vramscope::inject {

namespace {

struct DriverEntry {
  const char* exported;
  const char* lookup_name;
  int min_version;
  bool per_thread;
  void* wrapper;
};

constexpr int kWrapped = static_cast<int>(DriverFn::kWrappedCount);
constexpr int kAll = static_cast<int>(DriverFn::kCount);

const DriverEntry kWrappedEntries[kWrapped] = {
#define VRAMSCOPE_ENTRY(name, lookup, version, per_thread) \
  {#name, lookup, version, per_thread, reinterpret_cast<void*>(&::name)},
    VRAMSCOPE_WRAPPED_DRIVER_FUNCTIONS(VRAMSCOPE_ENTRY)
#undef VRAMSCOPE_ENTRY
};

const char* const kNames[kAll] = {
#define VRAMSCOPE_NAME(name, ...) #name,
    VRAMSCOPE_WRAPPED_DRIVER_FUNCTIONS(VRAMSCOPE_NAME) nullptr,
    VRAMSCOPE_HELPER_DRIVER_FUNCTIONS(VRAMSCOPE_NAME)
#undef VRAMSCOPE_NAME
};

using DlsymFn = void* (*)(void*, const char*);

}  // namespace

extern "C" void* vramscope_real_dlsym;
extern "C" void* vramscope_resolve_real_dlsym();

// Real addresses, found once. Several threads may race to find the same
// address, and any of them is right.
std::atomic<void*> g_real_driver[kAll];

void* real_dlsym(void* handle, const char* name) {
  void* real = __atomic_load_n(&vramscope_real_dlsym, __ATOMIC_ACQUIRE);
  if (!real) real = vramscope_resolve_real_dlsym();
  return real ? reinterpret_cast<DlsymFn>(real)(handle, name) : nullptr;
}

void* real_next(const char* name) { return real_dlsym(RTLD_NEXT, name); }

void* find_real_driver(DriverFn fn) {
  int i = static_cast<int>(fn);
  void* p = real_dlsym(RTLD_NEXT, kNames[i]);
  if (!p) {
    // The runtime loads libcuda.so.1 with dlopen, maybe privately.
    if (void* handle = dlopen("libcuda.so.1", RTLD_NOLOAD | RTLD_LAZY)) {
      p = real_dlsym(handle, kNames[i]);
      dlclose(handle);
    }
  }
  if (p) g_real_driver[i].store(p, std::memory_order_release);
  return p;
}

void set_real_driver(DriverFn fn, void* address) {
  void* expected = nullptr;
  if (address) g_real_driver[static_cast<int>(fn)].compare_exchange_strong(expected, address);
}

void* driver_wrapper(DriverFn fn) { return kWrappedEntries[static_cast<int>(fn)].wrapper; }

void* wrapper_for_lookup(const char* symbol, int cuda_version, uint64_t flags) {
  if (!symbol || symbol[0] != 'c' || symbol[1] != 'u') return nullptr;
  bool per_thread = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;
  int best = -1;
  for (int pass = 0; pass < 2 && best < 0; ++pass) {
    // A per-thread request falls back to the plain variant where there is none.
    bool want_per_thread = per_thread && pass == 0;
    for (int i = 0; i < kWrapped; ++i) {
      const DriverEntry& e = kWrappedEntries[i];
      if (e.per_thread != want_per_thread || std::strcmp(e.lookup_name, symbol) != 0) continue;
      if (e.min_version > cuda_version) continue;
      if (best < 0 || e.min_version > kWrappedEntries[best].min_version) best = i;
    }
  }
  return best < 0 ? nullptr : kWrappedEntries[best].wrapper;
}

void* wrapper_for_exported_name(const char* name, DriverFn* fn) {
  if (!name || name[0] != 'c' || name[1] != 'u') return nullptr;
  for (int i = 0; i < kWrapped; ++i) {
    if (std::strcmp(kWrappedEntries[i].exported, name) == 0) {
      if (fn) *fn = static_cast<DriverFn>(i);
      return kWrappedEntries[i].wrapper;
    }
  }
  return nullptr;
}

}  // namespace vramscope::inject
