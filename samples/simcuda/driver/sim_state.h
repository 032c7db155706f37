// The simulated driver's one state object: devices, contexts, allocations, VMM ranges.
//
// A driver is a C API with no handle to hang state on, so simcuda keeps it in
// one process-wide object, never destroyed (programs call CUDA from atexit
// handlers and from threads that outlive main). One mutex guards it: simcuda is
// the workload under the profiler, not the thing being measured.
#pragma once

#include <cuda.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sim_config.h"

// The opaque handle types of cuda.h, completed here.
struct CUctx_st {
  int device = 0;
  bool primary = false;
  // False once cuCtxDestroy'ed; the object is kept so that stale handles stay
  // harmless. Atomic: other threads read it without the lock.
  std::atomic<bool> alive = true;
  unsigned flags = 0;
};

struct CUstream_st {
  int device = 0;
  unsigned flags = 0;
  int priority = 0;
};

struct CUevent_st {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point when;
};

struct CUmemPoolHandle_st {
  int device = 0;
  bool is_default = false;
  bool destroyed = false;  // cuMemPoolDestroy with allocations outstanding
  size_t live = 0;         // allocations from this pool not yet freed
};

namespace simcuda {

enum class Kind : uint8_t { device, pitched, async, managed, pinned_host, registered_host };

inline bool on_device(Kind kind) { return kind != Kind::pinned_host && kind != Kind::registered_host; }

struct Allocation {
  size_t size = 0;     // what the program asked for
  size_t charged = 0;  // what the device lost: size rounded up to the granularity; 0 for host memory
  size_t mapped = 0;   // length of simcuda's own mapping; 0 when the program owns the memory
  int device = 0;
  Kind kind = Kind::device;
  CUctx_st* context = nullptr;
  CUmemPoolHandle_st* pool = nullptr;
};

// Physical memory of cuMemCreate: a memfd, so that every mapping of it aliases.
struct PhysicalChunk {
  size_t size = 0;
  int device = 0;
  int fd = -1;
  int mappings = 0;
  bool released = false;  // cuMemRelease'd; freed when the last mapping goes
};

struct Mapping {
  size_t size = 0;
  size_t offset = 0;
  CUmemGenericAllocationHandle handle = 0;
};

struct SimDevice {
  uint64_t capacity = 0;
  uint64_t other_process = 0;
  uint64_t charged = 0;
  CUctx_st primary;
  int primary_refcount = 0;
  unsigned primary_flags = 0;
  CUmemPoolHandle_st default_pool;
  CUmemPoolHandle_st* current_pool = nullptr;
};

class Simulator {
 public:
  Simulator();

  std::mutex mutex;
  std::atomic<bool> initialized{false};

  // Everything below is guarded by mutex. devices is sized once, at cuInit,
  // so pointers to its primary contexts and default pools stay valid.
  bool init_attempted = false;
  CUresult init_result = CUDA_ERROR_NOT_INITIALIZED;
  SimConfig config;
  std::vector<SimDevice> devices;
  std::map<CUdeviceptr, Allocation> allocations;
  std::unordered_set<CUctx_st*> created_contexts;  // every cuCtxCreate'd context, alive or not
  std::unordered_set<CUstream_st*> streams;
  std::unordered_set<CUevent_st*> events;
  std::unordered_set<CUmemPoolHandle_st*> pools;  // created pools; default pools live in devices
  std::map<CUmemGenericAllocationHandle, PhysicalChunk> chunks;
  CUmemGenericAllocationHandle next_chunk_handle = 1;
  std::map<CUdeviceptr, size_t> reservations;  // start -> size
  std::map<CUdeviceptr, Mapping> mappings;     // start -> mapping

  // Freed device mappings kept for reuse, by length: a tight cudaMalloc/cudaFree
  // loop then costs no system call, and gets the same address back as on a GPU.
  std::unordered_map<size_t, std::vector<void*>> spare_mappings;
  size_t spare_bytes = 0;
};

Simulator& sim();

inline uint64_t round_up(uint64_t value, uint64_t to) { return (value + to - 1) / to * to; }

// CUDA_ERROR_NOT_INITIALIZED until cuInit has succeeded.
inline CUresult check_initialized() {
  return sim().initialized.load(std::memory_order_acquire) ? CUDA_SUCCESS : CUDA_ERROR_NOT_INITIALIZED;
}

bool valid_device(CUdevice device);

// The calling thread's context stack (top = current context).
std::vector<CUctx_st*>& context_stack();
inline CUctx_st* current_context() {
  auto& stack = context_stack();
  return stack.empty() ? nullptr : stack.back();
}

// Initialized driver and a live current context, as every call that works on
// "the current device" needs.
CUresult require_context(CUctx_st*& context);

// A context handle simcuda made: a primary context or a created one.
bool known_context_locked(CUctx_st* context);

// NULL, the legacy and per-thread default streams, or one cuStreamCreate made.
bool valid_stream_locked(CUstream stream);

// Device memory: charges the device size rounded up to the granularity, maps,
// records. The caller holds the mutex.
CUresult charge_and_allocate_locked(CUdeviceptr* out, size_t size, Kind kind, int device, CUctx_st* context,
                                    CUmemPoolHandle_st* pool);
// Undo of any entry of allocations (device or host); erases it.
void release_allocation_locked(std::map<CUdeviceptr, Allocation>::iterator it);
// What cuCtxDestroy and a primary-context reset do to the memory of a context.
void release_context_allocations_locked(CUctx_st* context);

// The allocation whose [start, start + size) holds address, or allocations.end().
std::map<CUdeviceptr, Allocation>::iterator find_containing_locked(CUdeviceptr address);
// The VMM mapping holding address, or mappings.end().
std::map<CUdeviceptr, Mapping>::iterator find_mapping_locked(CUdeviceptr address);

}  // namespace simcuda
