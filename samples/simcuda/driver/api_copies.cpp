// Copies and sets. Device memory is host memory in one address space, so a
// copy of any direction is a memmove and a set is a fill.
#include <cstring>

#include "exported_names.h"
#include "sim_state.h"

namespace {

CUresult ready() {
  CUctx_st* context = nullptr;
  return simcuda::require_context(context);
}

CUresult check_stream(CUstream stream) {
  auto& s = simcuda::sim();
  std::lock_guard lock(s.mutex);
  return simcuda::valid_stream_locked(stream) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult copy(void* dst, const void* src, size_t bytes) {
  if (CUresult r = ready()) return r;
  if (bytes == 0) return CUDA_SUCCESS;
  if (dst == nullptr || src == nullptr) return CUDA_ERROR_INVALID_VALUE;
  std::memmove(dst, src, bytes);
  return CUDA_SUCCESS;
}

CUresult copy_async(void* dst, const void* src, size_t bytes, CUstream stream) {
  if (CUresult r = ready()) return r;
  if (CUresult r = check_stream(stream)) return r;
  return copy(dst, src, bytes);
}

template <typename Element>
CUresult fill(CUdeviceptr dst, Element value, size_t count) {
  if (CUresult r = ready()) return r;
  if (count == 0) return CUDA_SUCCESS;
  if (dst == 0 || dst % sizeof(Element) != 0) return CUDA_ERROR_INVALID_VALUE;
  auto* p = reinterpret_cast<Element*>(dst);
  if constexpr (sizeof(Element) == 1) {
    std::memset(p, value, count);
  } else {
    for (size_t i = 0; i < count; ++i) p[i] = value;
  }
  return CUDA_SUCCESS;
}

template <typename Element>
CUresult fill_async(CUdeviceptr dst, Element value, size_t count, CUstream stream) {
  if (CUresult r = ready()) return r;
  if (CUresult r = check_stream(stream)) return r;
  return fill(dst, value, count);
}

void* host(CUdeviceptr p) { return reinterpret_cast<void*>(p); }

}  // namespace

extern "C" {

CUresult CUDAAPI cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return copy(host(dst), host(src), n);
}
CUresult CUDAAPI cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return copy(host(dst), host(src), n);
}

CUresult CUDAAPI cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  return copy_async(host(dst), host(src), n, s);
}
CUresult CUDAAPI cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  return copy_async(host(dst), host(src), n, s);
}

CUresult CUDAAPI cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
  return copy(host(dst), src, n);
}
CUresult CUDAAPI cuMemcpyHtoD_v2_ptds(CUdeviceptr dst, const void* src, size_t n) {
  return copy(host(dst), src, n);
}
CUresult CUDAAPI cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) { return copy(dst, host(src), n); }
CUresult CUDAAPI cuMemcpyDtoH_v2_ptds(void* dst, CUdeviceptr src, size_t n) {
  return copy(dst, host(src), n);
}
CUresult CUDAAPI cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return copy(host(dst), host(src), n);
}
CUresult CUDAAPI cuMemcpyDtoD_v2_ptds(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return copy(host(dst), host(src), n);
}

CUresult CUDAAPI cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, CUstream s) {
  return copy_async(host(dst), src, n, s);
}
CUresult CUDAAPI cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dst, const void* src, size_t n, CUstream s) {
  return copy_async(host(dst), src, n, s);
}
CUresult CUDAAPI cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, CUstream s) {
  return copy_async(dst, host(src), n, s);
}
CUresult CUDAAPI cuMemcpyDtoHAsync_v2_ptsz(void* dst, CUdeviceptr src, size_t n, CUstream s) {
  return copy_async(dst, host(src), n, s);
}
CUresult CUDAAPI cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  return copy_async(host(dst), host(src), n, s);
}
CUresult CUDAAPI cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  return copy_async(host(dst), host(src), n, s);
}

CUresult CUDAAPI cuMemsetD8_v2(CUdeviceptr dst, unsigned char v, size_t n) { return fill(dst, v, n); }
CUresult CUDAAPI cuMemsetD8_v2_ptds(CUdeviceptr dst, unsigned char v, size_t n) { return fill(dst, v, n); }
CUresult CUDAAPI cuMemsetD16_v2(CUdeviceptr dst, unsigned short v, size_t n) { return fill(dst, v, n); }
CUresult CUDAAPI cuMemsetD16_v2_ptds(CUdeviceptr dst, unsigned short v, size_t n) { return fill(dst, v, n); }
CUresult CUDAAPI cuMemsetD32_v2(CUdeviceptr dst, unsigned int v, size_t n) { return fill(dst, v, n); }
CUresult CUDAAPI cuMemsetD32_v2_ptds(CUdeviceptr dst, unsigned int v, size_t n) { return fill(dst, v, n); }

CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, CUstream s) {
  return fill_async(dst, v, n, s);
}
CUresult CUDAAPI cuMemsetD8Async_ptsz(CUdeviceptr dst, unsigned char v, size_t n, CUstream s) {
  return fill_async(dst, v, n, s);
}
CUresult CUDAAPI cuMemsetD16Async(CUdeviceptr dst, unsigned short v, size_t n, CUstream s) {
  return fill_async(dst, v, n, s);
}
CUresult CUDAAPI cuMemsetD16Async_ptsz(CUdeviceptr dst, unsigned short v, size_t n, CUstream s) {
  return fill_async(dst, v, n, s);
}
CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr dst, unsigned int v, size_t n, CUstream s) {
  return fill_async(dst, v, n, s);
}
CUresult CUDAAPI cuMemsetD32Async_ptsz(CUdeviceptr dst, unsigned int v, size_t n, CUstream s) {
  return fill_async(dst, v, n, s);
}

}  // extern "C"
