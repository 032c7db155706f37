// Primary and created contexts, and the per-thread context stack.
#include <algorithm>

#include "exported_names.h"
#include "sim_state.h"

using simcuda::check_initialized;
using simcuda::context_stack;
using simcuda::current_context;
using simcuda::sim;
using simcuda::valid_device;

namespace {

// What all cuCtxCreate versions share: a new context, pushed on this thread.
CUresult create_context(CUcontext* pctx, unsigned int flags, CUdevice dev) {
  if (CUresult r = check_initialized()) return r;
  if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
  auto& s = sim();
  auto* context = new CUctx_st{dev, false, true, flags};
  {
    std::lock_guard lock(s.mutex);
    s.created_contexts.insert(context);
  }
  context_stack().push_back(context);
  *pctx = context;
  return CUDA_SUCCESS;
}

// A context handle a program may make current: one of ours and not destroyed.
CUresult check_usable(CUcontext ctx) {
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  if (!simcuda::known_context_locked(ctx) || !ctx->alive) return CUDA_ERROR_INVALID_CONTEXT;
  return CUDA_SUCCESS;
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev) {
  if (CUresult r = check_initialized()) return r;
  if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  ++s.devices[dev].primary_refcount;
  *pctx = &s.devices[dev].primary;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  if (CUresult r = check_initialized()) return r;
  if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto& device = s.devices[dev];
  if (device.primary_refcount == 0) return CUDA_ERROR_INVALID_CONTEXT;
  // The last release destroys the primary context's state, memory included.
  if (--device.primary_refcount == 0) simcuda::release_context_allocations_locked(&device.primary);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxReset_v2(CUdevice dev) {
  if (CUresult r = check_initialized()) return r;
  if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  auto& device = s.devices[dev];
  simcuda::release_context_allocations_locked(&device.primary);
  device.primary_refcount = 0;
  device.primary_flags = 0;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags) {
  if (CUresult r = check_initialized()) return r;
  if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  s.devices[dev].primary_flags = flags;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int* flags, int* active) {
  if (CUresult r = check_initialized()) return r;
  if (flags == nullptr || active == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (!valid_device(dev)) return CUDA_ERROR_INVALID_DEVICE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  *flags = s.devices[dev].primary_flags;
  *active = s.devices[dev].primary_refcount > 0 ? 1 : 0;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice dev) { return cuDevicePrimaryCtxRelease_v2(dev); }
CUresult CUDAAPI cuDevicePrimaryCtxReset(CUdevice dev) { return cuDevicePrimaryCtxReset_v2(dev); }
CUresult CUDAAPI cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned int flags) {
  return cuDevicePrimaryCtxSetFlags_v2(dev, flags);
}

CUresult CUDAAPI cuCtxCreate_v2(CUcontext* pctx, unsigned int flags, CUdevice dev) {
  return create_context(pctx, flags, dev);
}

CUresult CUDAAPI cuCtxCreate_v3(CUcontext* pctx, CUexecAffinityParam*, int, unsigned int flags,
                                CUdevice dev) {
  return create_context(pctx, flags, dev);
}

CUresult CUDAAPI cuCtxCreate_v4(CUcontext* pctx, CUctxCreateParams*, unsigned int flags, CUdevice dev) {
  return create_context(pctx, flags, dev);
}

CUresult CUDAAPI cuCtxDestroy_v2(CUcontext ctx) {
  if (CUresult r = check_initialized()) return r;
  if (ctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  {
    std::lock_guard lock(s.mutex);
    if (ctx->primary || s.created_contexts.count(ctx) == 0 || !ctx->alive) return CUDA_ERROR_INVALID_CONTEXT;
    simcuda::release_context_allocations_locked(ctx);
    ctx->alive = false;
  }
  auto& stack = context_stack();
  stack.erase(std::remove(stack.begin(), stack.end(), ctx), stack.end());
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetCurrent(CUcontext* pctx) {
  if (CUresult r = check_initialized()) return r;
  if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *pctx = current_context();
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx) {
  if (CUresult r = check_initialized()) return r;
  auto& stack = context_stack();
  if (ctx == nullptr) {
    if (!stack.empty()) stack.pop_back();
    return CUDA_SUCCESS;
  }
  if (CUresult r = check_usable(ctx)) return r;
  if (stack.empty()) {
    stack.push_back(ctx);
  } else {
    stack.back() = ctx;
  }
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPushCurrent_v2(CUcontext ctx) {
  if (CUresult r = check_initialized()) return r;
  if (ctx == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
  if (CUresult r = check_usable(ctx)) return r;
  context_stack().push_back(ctx);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPopCurrent_v2(CUcontext* pctx) {
  if (CUresult r = check_initialized()) return r;
  auto& stack = context_stack();
  if (stack.empty()) return CUDA_ERROR_INVALID_CONTEXT;
  if (pctx != nullptr) *pctx = stack.back();
  stack.pop_back();
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetDevice(CUdevice* device) {
  CUctx_st* context = nullptr;
  if (CUresult r = simcuda::require_context(context)) return r;
  if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *device = context->device;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetDevice_v2(CUdevice* device, CUcontext ctx) {
  if (ctx == nullptr) return cuCtxGetDevice(device);
  if (CUresult r = check_initialized()) return r;
  if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
  if (CUresult r = check_usable(ctx)) return r;
  *device = ctx->device;
  return CUDA_SUCCESS;
}

// Nothing runs asynchronously on the simulated GPU: there is never anything to wait for.
CUresult CUDAAPI cuCtxSynchronize(void) {
  CUctx_st* context = nullptr;
  return simcuda::require_context(context);
}

CUresult CUDAAPI cuCtxSynchronize_v2(CUcontext ctx) {
  if (ctx == nullptr) return cuCtxSynchronize();
  if (CUresult r = check_initialized()) return r;
  return check_usable(ctx);
}

}  // extern "C"
