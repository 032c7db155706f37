// Streams, events, copies and sets.
#include "runtime_state.h"

using simcudart::driver;
using simcudart::kLegacyStream;
using simcudart::kPerThreadStream;
using simcudart::ready_with_context;
using simcudart::record;
using simcudart::StreamFlavour;

extern "C" {
cudaError_t CUDARTAPI cudaStreamSynchronize_ptsz(cudaStream_t stream);
cudaError_t CUDARTAPI cudaStreamQuery_ptsz(cudaStream_t stream);
cudaError_t CUDARTAPI cudaEventRecord_ptsz(cudaEvent_t event, cudaStream_t stream);
cudaError_t CUDARTAPI cudaMemcpy_ptds(void* dst, const void* src, size_t count, cudaMemcpyKind kind);
cudaError_t CUDARTAPI cudaMemcpyAsync_ptsz(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                           cudaStream_t stream);
cudaError_t CUDARTAPI cudaMemset_ptds(void* devPtr, int value, size_t count);
cudaError_t CUDARTAPI cudaMemsetAsync_ptsz(void* devPtr, int value, size_t count, cudaStream_t stream);
}

namespace {

CUdeviceptr device_address(const void* p) { return reinterpret_cast<CUdeviceptr>(p); }

bool valid_kind(cudaMemcpyKind kind) { return kind >= cudaMemcpyHostToHost && kind <= cudaMemcpyDefault; }

cudaError_t stream_synchronize(cudaStream_t stream, StreamFlavour flavour) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().stream_synchronize[flavour](stream));
}

cudaError_t stream_query(cudaStream_t stream, StreamFlavour flavour) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().stream_query[flavour](stream));
}

cudaError_t event_record(cudaEvent_t event, cudaStream_t stream, StreamFlavour flavour) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().event_record[flavour](event, stream));
}

// Unified addressing: every direction is one driver copy.
cudaError_t copy(void* dst, const void* src, size_t count, cudaMemcpyKind kind, StreamFlavour flavour) {
  if (!valid_kind(kind)) return record(cudaErrorInvalidMemcpyDirection);
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().memcpy[flavour](device_address(dst), device_address(src), count));
}

cudaError_t copy_async(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t stream,
                       StreamFlavour flavour) {
  if (!valid_kind(kind)) return record(cudaErrorInvalidMemcpyDirection);
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().memcpy_async[flavour](device_address(dst), device_address(src), count, stream));
}

cudaError_t set(void* devPtr, int value, size_t count, StreamFlavour flavour) {
  if (cudaError_t error = ready_with_context()) return record(error);
  auto byte = static_cast<unsigned char>(value);
  return record(driver().memset_d8[flavour](device_address(devPtr), byte, count));
}

cudaError_t set_async(void* devPtr, int value, size_t count, cudaStream_t stream, StreamFlavour flavour) {
  if (cudaError_t error = ready_with_context()) return record(error);
  auto byte = static_cast<unsigned char>(value);
  return record(driver().memset_d8_async[flavour](device_address(devPtr), byte, count, stream));
}

}  // namespace

extern "C" {

// cudaStream* and cudaEvent* flags are the driver's bits.
cudaError_t CUDARTAPI cudaStreamCreate(cudaStream_t* pStream) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().stream_create(pStream, 0));
}

cudaError_t CUDARTAPI cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().stream_create(pStream, flags));
}

cudaError_t CUDARTAPI cudaStreamCreateWithPriority(cudaStream_t* pStream, unsigned int flags, int priority) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().stream_create_with_priority(pStream, flags, priority));
}

cudaError_t CUDARTAPI cudaStreamDestroy(cudaStream_t stream) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().stream_destroy(stream));
}

cudaError_t CUDARTAPI cudaStreamSynchronize(cudaStream_t stream) {
  return stream_synchronize(stream, kLegacyStream);
}
cudaError_t CUDARTAPI cudaStreamSynchronize_ptsz(cudaStream_t stream) {
  return stream_synchronize(stream, kPerThreadStream);
}
cudaError_t CUDARTAPI cudaStreamQuery(cudaStream_t stream) { return stream_query(stream, kLegacyStream); }
cudaError_t CUDARTAPI cudaStreamQuery_ptsz(cudaStream_t stream) {
  return stream_query(stream, kPerThreadStream);
}

cudaError_t CUDARTAPI cudaEventCreate(cudaEvent_t* event) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().event_create(event, 0));
}

cudaError_t CUDARTAPI cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().event_create(event, flags));
}

cudaError_t CUDARTAPI cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  return event_record(event, stream, kLegacyStream);
}
cudaError_t CUDARTAPI cudaEventRecord_ptsz(cudaEvent_t event, cudaStream_t stream) {
  return event_record(event, stream, kPerThreadStream);
}

cudaError_t CUDARTAPI cudaEventQuery(cudaEvent_t event) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().event_query(event));
}

cudaError_t CUDARTAPI cudaEventSynchronize(cudaEvent_t event) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().event_synchronize(event));
}

cudaError_t CUDARTAPI cudaEventDestroy(cudaEvent_t event) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().event_destroy(event));
}

cudaError_t CUDARTAPI cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (cudaError_t error = ready_with_context()) return record(error);
  return record(driver().event_elapsed_time(ms, start, end));
}

cudaError_t CUDARTAPI cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  return copy(dst, src, count, kind, kLegacyStream);
}
cudaError_t CUDARTAPI cudaMemcpy_ptds(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  return copy(dst, src, count, kind, kPerThreadStream);
}
cudaError_t CUDARTAPI cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                      cudaStream_t stream) {
  return copy_async(dst, src, count, kind, stream, kLegacyStream);
}
cudaError_t CUDARTAPI cudaMemcpyAsync_ptsz(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                                           cudaStream_t stream) {
  return copy_async(dst, src, count, kind, stream, kPerThreadStream);
}

cudaError_t CUDARTAPI cudaMemset(void* devPtr, int value, size_t count) {
  return set(devPtr, value, count, kLegacyStream);
}
cudaError_t CUDARTAPI cudaMemset_ptds(void* devPtr, int value, size_t count) {
  return set(devPtr, value, count, kPerThreadStream);
}
cudaError_t CUDARTAPI cudaMemsetAsync(void* devPtr, int value, size_t count, cudaStream_t stream) {
  return set_async(devPtr, value, count, stream, kLegacyStream);
}
cudaError_t CUDARTAPI cudaMemsetAsync_ptsz(void* devPtr, int value, size_t count, cudaStream_t stream) {
  return set_async(devPtr, value, count, stream, kPerThreadStream);
}

}  // extern "C"
