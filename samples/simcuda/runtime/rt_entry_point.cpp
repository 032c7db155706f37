// cudaGetDriverEntryPoint(ByVersion): driver functions for the program, through
// the driver's cuGetProcAddress_v2.
#include "runtime_state.h"

using simcudart::record;

extern "C" {
cudaError_t CUDARTAPI cudaGetDriverEntryPoint_ptsz(const char* symbol, void** funcPtr,
                                                   unsigned long long flags,
                                                   cudaDriverEntryPointQueryResult* driverStatus);
cudaError_t CUDARTAPI cudaGetDriverEntryPointByVersion_ptsz(const char* symbol, void** funcPtr,
                                                            unsigned int cudaVersion,
                                                            unsigned long long flags,
                                                            cudaDriverEntryPointQueryResult* driverStatus);
}

namespace {

// cudaEnableDefault means "the stream flavour this program was compiled for",
// which the entry point it called tells: the _ptsz one or the plain one.
cudaError_t entry_point(const char* symbol, void** funcPtr, unsigned int cudaVersion,
                        unsigned long long flags, cudaDriverEntryPointQueryResult* driverStatus,
                        bool per_thread_program) {
  if (symbol == nullptr || funcPtr == nullptr) return record(cudaErrorInvalidValue);
  constexpr unsigned long long kKnown = cudaEnableLegacyStream | cudaEnablePerThreadDefaultStream;
  if ((flags & ~kKnown) != 0) return record(cudaErrorInvalidValue);
  if (cudaError_t error = simcudart::ready()) return record(error);
  if (flags == cudaEnableDefault) {
    flags = per_thread_program ? CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
                               : CU_GET_PROC_ADDRESS_LEGACY_STREAM;
  }
  CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
  CUresult result =
      simcudart::driver().get_proc_address(symbol, funcPtr, static_cast<int>(cudaVersion), flags, &status);
  if (driverStatus != nullptr) *driverStatus = static_cast<cudaDriverEntryPointQueryResult>(status);
  // Not found is an answer, not a failure: a null pointer and the status say it.
  if (result == CUDA_ERROR_NOT_FOUND) {
    *funcPtr = nullptr;
    return cudaSuccess;
  }
  return record(result);
}

}  // namespace

extern "C" {

cudaError_t CUDARTAPI cudaGetDriverEntryPoint(const char* symbol, void** funcPtr, unsigned long long flags,
                                              cudaDriverEntryPointQueryResult* driverStatus) {
  return entry_point(symbol, funcPtr, simcudart::kRuntimeVersion, flags, driverStatus, false);
}

cudaError_t CUDARTAPI cudaGetDriverEntryPoint_ptsz(const char* symbol, void** funcPtr,
                                                   unsigned long long flags,
                                                   cudaDriverEntryPointQueryResult* driverStatus) {
  return entry_point(symbol, funcPtr, simcudart::kRuntimeVersion, flags, driverStatus, true);
}

cudaError_t CUDARTAPI cudaGetDriverEntryPointByVersion(const char* symbol, void** funcPtr,
                                                       unsigned int cudaVersion, unsigned long long flags,
                                                       cudaDriverEntryPointQueryResult* driverStatus) {
  return entry_point(symbol, funcPtr, cudaVersion, flags, driverStatus, false);
}

cudaError_t CUDARTAPI cudaGetDriverEntryPointByVersion_ptsz(const char* symbol, void** funcPtr,
                                                            unsigned int cudaVersion,
                                                            unsigned long long flags,
                                                            cudaDriverEntryPointQueryResult* driverStatus) {
  return entry_point(symbol, funcPtr, cudaVersion, flags, driverStatus, true);
}

}  // extern "C"
