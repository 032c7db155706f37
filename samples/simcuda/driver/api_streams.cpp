// Streams and events. Work completes the moment it is issued, so every query
// says "done" and events carry the host time at which they were recorded.
#include <algorithm>

#include "exported_names.h"
#include "sim_state.h"

using simcuda::require_context;
using simcuda::sim;

namespace {

constexpr int kLeastPriority = 0;
constexpr int kGreatestPriority = -5;

CUresult create_stream(CUstream* phStream, unsigned int flags, int priority) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  if (phStream == nullptr || (flags & ~CU_STREAM_NON_BLOCKING) != 0) return CUDA_ERROR_INVALID_VALUE;
  priority = std::min(kLeastPriority, std::max(kGreatestPriority, priority));
  auto* stream = new CUstream_st{context->device, flags, priority};
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  s.streams.insert(stream);
  *phStream = stream;
  return CUDA_SUCCESS;
}

CUresult check_stream(CUstream stream) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  return simcuda::valid_stream_locked(stream) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult record_event(CUevent event, CUstream stream) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  if (s.events.count(event) == 0 || !simcuda::valid_stream_locked(stream)) return CUDA_ERROR_INVALID_HANDLE;
  event->recorded = true;
  event->when = std::chrono::steady_clock::now();
  return CUDA_SUCCESS;
}

CUresult check_event(CUevent event) {
  if (CUresult r = simcuda::check_initialized()) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  return s.events.count(event) != 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuStreamCreate(CUstream* phStream, unsigned int Flags) {
  return create_stream(phStream, Flags, 0);
}

CUresult CUDAAPI cuStreamCreateWithPriority(CUstream* phStream, unsigned int flags, int priority) {
  return create_stream(phStream, flags, priority);
}

CUresult CUDAAPI cuStreamDestroy_v2(CUstream hStream) {
  if (CUresult r = simcuda::check_initialized()) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  if (s.streams.erase(hStream) == 0) return CUDA_ERROR_INVALID_HANDLE;
  delete hStream;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamSynchronize(CUstream hStream) { return check_stream(hStream); }
CUresult CUDAAPI cuStreamSynchronize_ptsz(CUstream hStream) { return check_stream(hStream); }
CUresult CUDAAPI cuStreamQuery(CUstream hStream) { return check_stream(hStream); }
CUresult CUDAAPI cuStreamQuery_ptsz(CUstream hStream) { return check_stream(hStream); }

CUresult CUDAAPI cuEventCreate(CUevent* phEvent, unsigned int Flags) {
  CUctx_st* context = nullptr;
  if (CUresult r = require_context(context)) return r;
  constexpr unsigned kKnown = CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS;
  if (phEvent == nullptr || (Flags & ~kKnown) != 0) return CUDA_ERROR_INVALID_VALUE;
  auto* event = new CUevent_st{Flags, false, {}};
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  s.events.insert(event);
  *phEvent = event;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventRecord(CUevent hEvent, CUstream hStream) { return record_event(hEvent, hStream); }
CUresult CUDAAPI cuEventRecord_ptsz(CUevent hEvent, CUstream hStream) {
  return record_event(hEvent, hStream);
}
CUresult CUDAAPI cuEventSynchronize(CUevent hEvent) { return check_event(hEvent); }
CUresult CUDAAPI cuEventQuery(CUevent hEvent) { return check_event(hEvent); }

CUresult CUDAAPI cuEventDestroy_v2(CUevent hEvent) {
  if (CUresult r = simcuda::check_initialized()) return r;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  if (s.events.erase(hEvent) == 0) return CUDA_ERROR_INVALID_HANDLE;
  delete hEvent;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventElapsedTime_v2(float* pMilliseconds, CUevent hStart, CUevent hEnd) {
  if (CUresult r = simcuda::check_initialized()) return r;
  if (pMilliseconds == nullptr) return CUDA_ERROR_INVALID_VALUE;
  auto& s = sim();
  std::lock_guard lock(s.mutex);
  if (s.events.count(hStart) == 0 || s.events.count(hEnd) == 0) return CUDA_ERROR_INVALID_HANDLE;
  if ((hStart->flags | hEnd->flags) & CU_EVENT_DISABLE_TIMING) return CUDA_ERROR_INVALID_HANDLE;
  if (!hStart->recorded || !hEnd->recorded) return CUDA_ERROR_INVALID_HANDLE;
  std::chrono::duration<float, std::milli> elapsed = hEnd->when - hStart->when;
  *pMilliseconds = elapsed.count();
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventElapsedTime(float* pMilliseconds, CUevent hStart, CUevent hEnd) {
  return cuEventElapsedTime_v2(pMilliseconds, hStart, hEnd);
}

}  // extern "C"
