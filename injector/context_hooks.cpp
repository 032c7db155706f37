// Context switches: each makes the thread forget which device it is on, so
// the recorder asks the driver once per switch instead of once per event.
#include "injector/recorder.h"
#include "injector/real_functions.h"

using namespace vramscope::inject;

namespace {

template <DriverFn fn, typename F, typename... Args>
CUresult switch_context(Args... args) {
  auto real_fn = real_driver_as<F>(fn);
  if (!real_fn) return CUDA_ERROR_NOT_INITIALIZED;
  CUresult r = real_fn(args...);
  forget_current_device(thread_state());
  return r;
}

}  // namespace

#pragma GCC visibility push(default)  // the hooks are what the job links to
extern "C" {

CUresult CUDAAPI cuCtxSetCurrent(CUcontext context) {
  return switch_context<DriverFn::cuCtxSetCurrent, decltype(&::cuCtxSetCurrent)>(context);
}

CUresult CUDAAPI cuCtxPushCurrent_v2(CUcontext context) {
  return switch_context<DriverFn::cuCtxPushCurrent_v2, decltype(&::cuCtxPushCurrent_v2)>(context);
}

CUresult CUDAAPI cuCtxPopCurrent_v2(CUcontext* context) {
  return switch_context<DriverFn::cuCtxPopCurrent_v2, decltype(&::cuCtxPopCurrent_v2)>(context);
}

CUresult CUDAAPI cuCtxDestroy_v2(CUcontext context) {
  return switch_context<DriverFn::cuCtxDestroy_v2, decltype(&::cuCtxDestroy_v2)>(context);
}

CUresult CUDAAPI cuCtxCreate_v4(CUcontext* context, CUctxCreateParams* params, unsigned int flags, CUdevice device) {
  return switch_context<DriverFn::cuCtxCreate_v4, decltype(&::cuCtxCreate_v4)>(context, params, flags, device);
}

}  // extern "C"
#pragma GCC visibility pop
