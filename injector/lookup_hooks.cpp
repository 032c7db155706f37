// Lookups that would hand out the real driver functions behind our back:
// dlsym (the runtime finds libcuda's functions this way) and
// cuGetProcAddress (and through it cudaGetDriverEntryPoint). Each gives out
// our wrapper instead, and remembers the real function.
#include <dlfcn.h>
#include <link.h>

#include "injector/driver_hooks.h"
#include "injector/modules.h"

using namespace vramscope::inject;

#pragma GCC visibility push(default)  // the hooks are what the job links to
extern "C" {

// Set once; read by dlsym_entry.S.
__attribute__((visibility("hidden"))) void* vramscope_real_dlsym = nullptr;

__attribute__((visibility("hidden"))) void* vramscope_resolve_real_dlsym() {
  void* p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
  // Before glibc 2.34, libdl's: the first version of each architecture.
  if (!p) p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");  // x86-64
  if (!p) p = dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.17");   // aarch64
  __atomic_store_n(&vramscope_real_dlsym, p, __ATOMIC_RELEASE);
  return p;
}

// dlsym of a "cu..." name: the real lookup, then our wrapper in place of a
// driver function we count. RTLD_NEXT is taken from here, not from the
// caller: for driver functions that finds the same libcuda.
__attribute__((visibility("hidden"))) void* vramscope_dlsym_driver(void* handle, const char* name) {
  void* found = real_dlsym(handle, name);
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
#pragma GCC visibility pop
