// cuGetProcAddress: driver functions by base name, CUDA version and stream flavour.
//
// Each row says: asked for `base` with a cudaVersion at or after `since`, the
// driver hands out `function` (or `per_thread` under
// CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM). The newest row not after
// cudaVersion wins. The `since` values are the ones cudaTypedefs.h encodes
// (PFN_cuMemAlloc_v3020 is cuMemAlloc_v2). Each pointer is the address of the
// exported function itself (the library links with -Bsymbolic-functions), so
// it equals what dlsym finds under the versioned name.
#include <cstring>

#include "exported_names.h"

namespace {

struct ProcEntry {
  const char* base;
  int since;
  void* function;
  void* per_thread;
};

template <typename F>
void* address(F* function) {
  return reinterpret_cast<void*>(function);
}

#define PROC(base, since, fn) \
  { #base, since, address(&fn), nullptr }
#define PROC_PT(base, since, fn, pt) \
  { #base, since, address(&fn), address(&pt) }

const ProcEntry kEntries[] = {
    PROC(cuInit, 2000, cuInit),
    PROC(cuDriverGetVersion, 2020, cuDriverGetVersion),
    PROC(cuGetErrorName, 6000, cuGetErrorName),
    PROC(cuGetErrorString, 6000, cuGetErrorString),
    PROC(cuGetProcAddress, 11030, cuGetProcAddress),
    PROC(cuGetProcAddress, 12000, cuGetProcAddress_v2),

    PROC(cuDeviceGet, 2000, cuDeviceGet),
    PROC(cuDeviceGetCount, 2000, cuDeviceGetCount),
    PROC(cuDeviceGetName, 2000, cuDeviceGetName),
    PROC(cuDeviceTotalMem, 3020, cuDeviceTotalMem_v2),
    PROC(cuDeviceGetAttribute, 2000, cuDeviceGetAttribute),
    PROC(cuDeviceGetUuid, 9020, cuDeviceGetUuid),
    PROC(cuDeviceGetUuid, 11040, cuDeviceGetUuid_v2),
    PROC(cuDevicePrimaryCtxRetain, 7000, cuDevicePrimaryCtxRetain),
    PROC(cuDevicePrimaryCtxRelease, 7000, cuDevicePrimaryCtxRelease),
    PROC(cuDevicePrimaryCtxRelease, 11000, cuDevicePrimaryCtxRelease_v2),
    PROC(cuDevicePrimaryCtxReset, 7000, cuDevicePrimaryCtxReset),
    PROC(cuDevicePrimaryCtxReset, 11000, cuDevicePrimaryCtxReset_v2),
    PROC(cuDevicePrimaryCtxSetFlags, 7000, cuDevicePrimaryCtxSetFlags),
    PROC(cuDevicePrimaryCtxSetFlags, 11000, cuDevicePrimaryCtxSetFlags_v2),
    PROC(cuDevicePrimaryCtxGetState, 7000, cuDevicePrimaryCtxGetState),

    PROC(cuCtxCreate, 3020, cuCtxCreate_v2),
    PROC(cuCtxCreate, 11040, cuCtxCreate_v3),
    PROC(cuCtxCreate, 12050, cuCtxCreate_v4),
    PROC(cuCtxDestroy, 4000, cuCtxDestroy_v2),
    PROC(cuCtxGetCurrent, 4000, cuCtxGetCurrent),
    PROC(cuCtxSetCurrent, 4000, cuCtxSetCurrent),
    PROC(cuCtxPushCurrent, 4000, cuCtxPushCurrent_v2),
    PROC(cuCtxPopCurrent, 4000, cuCtxPopCurrent_v2),
    PROC(cuCtxGetDevice, 2000, cuCtxGetDevice),
    PROC(cuCtxGetDevice, 13000, cuCtxGetDevice_v2),
    PROC(cuCtxSynchronize, 2000, cuCtxSynchronize),
    PROC(cuCtxSynchronize, 13000, cuCtxSynchronize_v2),

    PROC(cuMemAlloc, 3020, cuMemAlloc_v2),
    PROC(cuMemAllocPitch, 3020, cuMemAllocPitch_v2),
    PROC(cuMemFree, 3020, cuMemFree_v2),
    PROC(cuMemGetInfo, 3020, cuMemGetInfo_v2),
    PROC(cuMemGetAddressRange, 3020, cuMemGetAddressRange_v2),
    PROC(cuMemAllocManaged, 6000, cuMemAllocManaged),
    PROC(cuMemAllocHost, 3020, cuMemAllocHost_v2),
    PROC(cuMemHostAlloc, 2020, cuMemHostAlloc),
    PROC(cuMemFreeHost, 2000, cuMemFreeHost),
    PROC(cuMemHostRegister, 4000, cuMemHostRegister),
    PROC(cuMemHostRegister, 6050, cuMemHostRegister_v2),
    PROC(cuMemHostUnregister, 4000, cuMemHostUnregister),
    PROC(cuMemHostGetDevicePointer, 3020, cuMemHostGetDevicePointer_v2),
    PROC(cuPointerGetAttribute, 4000, cuPointerGetAttribute),

    PROC_PT(cuMemAllocAsync, 11020, cuMemAllocAsync, cuMemAllocAsync_ptsz),
    PROC_PT(cuMemFreeAsync, 11020, cuMemFreeAsync, cuMemFreeAsync_ptsz),
    PROC_PT(cuMemAllocFromPoolAsync, 11020, cuMemAllocFromPoolAsync, cuMemAllocFromPoolAsync_ptsz),
    PROC(cuMemPoolCreate, 11020, cuMemPoolCreate),
    PROC(cuMemPoolDestroy, 11020, cuMemPoolDestroy),
    PROC(cuMemPoolTrimTo, 11020, cuMemPoolTrimTo),
    PROC(cuDeviceGetDefaultMemPool, 11020, cuDeviceGetDefaultMemPool),
    PROC(cuDeviceGetMemPool, 11020, cuDeviceGetMemPool),
    PROC(cuMemGetDefaultMemPool, 13000, cuMemGetDefaultMemPool),
    PROC(cuMemGetMemPool, 13000, cuMemGetMemPool),

    PROC(cuMemGetAllocationGranularity, 10020, cuMemGetAllocationGranularity),
    PROC(cuMemAddressReserve, 10020, cuMemAddressReserve),
    PROC(cuMemAddressFree, 10020, cuMemAddressFree),
    PROC(cuMemCreate, 10020, cuMemCreate),
    PROC(cuMemRelease, 10020, cuMemRelease),
    PROC(cuMemMap, 10020, cuMemMap),
    PROC(cuMemUnmap, 10020, cuMemUnmap),
    PROC(cuMemSetAccess, 10020, cuMemSetAccess),

    PROC(cuStreamCreate, 2000, cuStreamCreate),
    PROC(cuStreamCreateWithPriority, 5050, cuStreamCreateWithPriority),
    PROC(cuStreamDestroy, 4000, cuStreamDestroy_v2),
    PROC_PT(cuStreamSynchronize, 2000, cuStreamSynchronize, cuStreamSynchronize_ptsz),
    PROC_PT(cuStreamQuery, 2000, cuStreamQuery, cuStreamQuery_ptsz),
    PROC(cuEventCreate, 2000, cuEventCreate),
    PROC_PT(cuEventRecord, 2000, cuEventRecord, cuEventRecord_ptsz),
    PROC(cuEventSynchronize, 2000, cuEventSynchronize),
    PROC(cuEventQuery, 2000, cuEventQuery),
    PROC(cuEventDestroy, 4000, cuEventDestroy_v2),
    PROC(cuEventElapsedTime, 2000, cuEventElapsedTime),
    PROC(cuEventElapsedTime, 12080, cuEventElapsedTime_v2),

    PROC_PT(cuMemcpy, 4000, cuMemcpy, cuMemcpy_ptds),
    PROC_PT(cuMemcpyAsync, 4000, cuMemcpyAsync, cuMemcpyAsync_ptsz),
    PROC_PT(cuMemcpyHtoD, 3020, cuMemcpyHtoD_v2, cuMemcpyHtoD_v2_ptds),
    PROC_PT(cuMemcpyDtoH, 3020, cuMemcpyDtoH_v2, cuMemcpyDtoH_v2_ptds),
    PROC_PT(cuMemcpyDtoD, 3020, cuMemcpyDtoD_v2, cuMemcpyDtoD_v2_ptds),
    PROC_PT(cuMemcpyHtoDAsync, 3020, cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync_v2_ptsz),
    PROC_PT(cuMemcpyDtoHAsync, 3020, cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync_v2_ptsz),
    PROC_PT(cuMemcpyDtoDAsync, 3020, cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync_v2_ptsz),
    PROC_PT(cuMemsetD8, 3020, cuMemsetD8_v2, cuMemsetD8_v2_ptds),
    PROC_PT(cuMemsetD16, 3020, cuMemsetD16_v2, cuMemsetD16_v2_ptds),
    PROC_PT(cuMemsetD32, 3020, cuMemsetD32_v2, cuMemsetD32_v2_ptds),
    PROC_PT(cuMemsetD8Async, 3020, cuMemsetD8Async, cuMemsetD8Async_ptsz),
    PROC_PT(cuMemsetD16Async, 3020, cuMemsetD16Async, cuMemsetD16Async_ptsz),
    PROC_PT(cuMemsetD32Async, 3020, cuMemsetD32Async, cuMemsetD32Async_ptsz),
};

#undef PROC
#undef PROC_PT

CUresult lookup(const char* symbol, void** pfn, int cudaVersion, cuuint64_t flags,
                CUdriverProcAddressQueryResult* status) {
  constexpr cuuint64_t kKnownFlags =
      CU_GET_PROC_ADDRESS_LEGACY_STREAM | CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;
  if (symbol == nullptr || pfn == nullptr || (flags & ~kKnownFlags) != 0) return CUDA_ERROR_INVALID_VALUE;
  *pfn = nullptr;
  // As documented: a version newer than this driver's is refused.
  if (cudaVersion > CUDA_VERSION) return CUDA_ERROR_INVALID_VALUE;
  const ProcEntry* best = nullptr;
  bool named = false;
  for (const auto& entry : kEntries) {
    if (std::strcmp(entry.base, symbol) != 0) continue;
    named = true;
    if (entry.since <= cudaVersion && (best == nullptr || entry.since > best->since)) best = &entry;
  }
  if (best == nullptr) {
    if (status != nullptr) {
      *status = named ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    }
    return CUDA_ERROR_NOT_FOUND;
  }
  bool per_thread = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;
  *pfn = per_thread && best->per_thread != nullptr ? best->per_thread : best->function;
  if (status != nullptr) *status = CU_GET_PROC_ADDRESS_SUCCESS;
  return CUDA_SUCCESS;
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuGetProcAddress_v2(const char* symbol, void** pfn, int cudaVersion, cuuint64_t flags,
                                     CUdriverProcAddressQueryResult* symbolStatus) {
  return lookup(symbol, pfn, cudaVersion, flags, symbolStatus);
}

CUresult CUDAAPI cuGetProcAddress(const char* symbol, void** pfn, int cudaVersion, cuuint64_t flags) {
  return lookup(symbol, pfn, cudaVersion, flags, nullptr);
}

}  // extern "C"
