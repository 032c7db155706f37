// Lookups that would hand out the real driver functions behind our back:
// dlsym (the runtime finds libcuda's functions this way) and
// cuGetProcAddress (and through it cudaGetDriverEntryPoint). Each gives out
// our wrapper instead, and remembers the real function.
#include <dlfcn.h>
#include <link.h>

#include "injector/driver_hooks.h"
#include "injector/modules.h"

using namespace vramscope::inject;

namespace {

struct link_map* object_of(const void* address) {
  Dl_info info{};
  struct link_map* map = nullptr;
  if (!dladdr1(address, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP)) return nullptr;
  return map;
}

// RTLD_NEXT means "after the caller"; called from here, the real dlsym would
// take us for the caller. Walk the objects after the real caller instead.
void* lookup_after(const void* caller, const char* name) {
  struct link_map* map = object_of(caller);
  if (!map) return real_dlsym(RTLD_NEXT, name);
  for (struct link_map* object = map->l_next; object; object = object->l_next) {
    void* found = real_dlsym(object, name);
    if (found && object_of(found) == object) return found;
  }
  return real_dlsym(RTLD_NEXT, name);  // leaves dlerror() saying why
}

// RTLD_DEFAULT also searches the caller's own dependencies when it was loaded
// privately (RTLD_LOCAL, as Python loads extensions).
void* lookup_default(const void* caller, const char* name) {
  void* found = real_dlsym(RTLD_DEFAULT, name);
  if (found) return found;
  struct link_map* map = object_of(caller);
  return map ? real_dlsym(map, name) : nullptr;
}

}  // namespace

extern "C" {

void* dlsym(void* handle, const char* name) noexcept {
  const void* caller = __builtin_return_address(0);
  void* found;
  if (handle == RTLD_NEXT) {
    found = lookup_after(caller, name);
  } else if (handle == RTLD_DEFAULT) {
    found = lookup_default(caller, name);
  } else {
    found = real_dlsym(handle, name);
  }
  if (!found || in_own_code(reinterpret_cast<uint64_t>(found))) return found;
  DriverFn fn;
  if (void* wrapper = wrapper_for_exported_name(name, &fn)) {
    set_real_driver(fn, found);
    return wrapper;
  }
  return found;
}

CUresult CUDAAPI cuGetProcAddress_v2(const char* symbol, void** pfn, int cuda_version, cuuint64_t flags,
                                     CUdriverProcAddressQueryResult* status) {
  using Fn = CUresult(CUDAAPI*)(const char*, void**, int, cuuint64_t, CUdriverProcAddressQueryResult*);
  auto real_fn = real_driver_as<Fn>(DriverFn::cuGetProcAddress_v2);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  CUresult r = real_fn(symbol, pfn, cuda_version, flags, status);
  if (r == CUDA_SUCCESS && pfn && *pfn && !in_own_code(reinterpret_cast<uint64_t>(*pfn))) {
    if (void* wrapper = wrapper_for_lookup(symbol, cuda_version, flags)) *pfn = wrapper;
  }
  return r;
}

CUresult CUDAAPI cuGetProcAddress(const char* symbol, void** pfn, int cuda_version, cuuint64_t flags) {
  using Fn = CUresult(CUDAAPI*)(const char*, void**, int, cuuint64_t);
  auto real_fn = real_driver_as<Fn>(DriverFn::cuGetProcAddress);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  CUresult r = real_fn(symbol, pfn, cuda_version, flags);
  if (r == CUDA_SUCCESS && pfn && *pfn && !in_own_code(reinterpret_cast<uint64_t>(*pfn))) {
    if (void* wrapper = wrapper_for_lookup(symbol, cuda_version, flags)) *pfn = wrapper;
  }
  return r;
}

}  // extern "C"
