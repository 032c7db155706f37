// The simulator object, the per-thread context stack, and device memory bookkeeping.
#include "sim_state.h"

#include <pthread.h>
#include <sys/mman.h>

namespace simcuda {

namespace {

// Bounds on the mappings kept for reuse (untouched pages cost nothing, but
// touched ones stay resident until unmapped).
constexpr size_t kSpareBytesLimit = size_t{256} << 20;
constexpr size_t kSparePerLength = 16;

void* take_mapping_locked(Simulator& s, size_t length) {
  auto it = s.spare_mappings.find(length);
  if (it != s.spare_mappings.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    s.spare_bytes -= length;
    return p;
  }
  void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void give_back_mapping_locked(Simulator& s, void* p, size_t length) {
  auto& spares = s.spare_mappings[length];
  if (s.spare_bytes + length <= kSpareBytesLimit && spares.size() < kSparePerLength) {
    spares.push_back(p);
    s.spare_bytes += length;
    return;
  }
  munmap(p, length);
}

CUresult allocate_device_locked(Simulator& s, CUdeviceptr* out, size_t size, size_t charge, Kind kind,
                                int device_index, CUctx_st* context, CUmemPoolHandle_st* pool) {
  SimDevice& device = s.devices[device_index];
  // All or nothing, as on a GPU: a request that does not fit changes no state.
  if (charge > device.capacity - device.other_process - device.charged) return CUDA_ERROR_OUT_OF_MEMORY;
  void* p = take_mapping_locked(s, charge);
  if (p == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  device.charged += charge;
  if (pool != nullptr) ++pool->live;
  auto address = reinterpret_cast<CUdeviceptr>(p);
  s.allocations[address] = Allocation{size, charge, charge, device_index, kind, context, pool};
  *out = address;
  return CUDA_SUCCESS;
}

}  // namespace

Simulator::Simulator() {
  // A fork while another thread is inside simcuda must not leave the child
  // with a mutex nobody will unlock.
  pthread_atfork([] { sim().mutex.lock(); }, [] { sim().mutex.unlock(); }, [] { sim().mutex.unlock(); });
}

Simulator& sim() {
  static Simulator* instance = new Simulator();  // never destroyed: see sim_state.h
  return *instance;
}

namespace {
// Made when the library loads, before any thread of the job: the first call
// then never races on the static's guard, whose fast path ThreadSanitizer
// cannot see in this uninstrumented library (scripts/tsan.sh).
__attribute__((constructor)) void make_simulator() { sim(); }
}  // namespace

bool valid_device(CUdevice device) { return device >= 0 && device < static_cast<int>(sim().devices.size()); }

std::vector<CUctx_st*>& context_stack() {
  thread_local std::vector<CUctx_st*> stack;
  return stack;
}

CUresult require_context(CUctx_st*& context) {
  if (CUresult r = check_initialized()) return r;
  context = current_context();
  if (context == nullptr || !context->alive) return CUDA_ERROR_INVALID_CONTEXT;
  return CUDA_SUCCESS;
}

bool known_context_locked(CUctx_st* context) {
  Simulator& s = sim();
  for (auto& device : s.devices) {
    if (&device.primary == context) return true;
  }
  return s.created_contexts.count(context) != 0;
}

bool valid_stream_locked(CUstream stream) {
  return stream == nullptr || stream == CU_STREAM_LEGACY || stream == CU_STREAM_PER_THREAD ||
         sim().streams.count(stream) != 0;
}

CUresult charge_and_allocate_locked(CUdeviceptr* out, size_t size, Kind kind, int device, CUctx_st* context,
                                    CUmemPoolHandle_st* pool) {
  Simulator& s = sim();
  // Checked first, so that rounding a huge request up cannot overflow.
  if (size > s.devices[device].capacity) return CUDA_ERROR_OUT_OF_MEMORY;
  size_t charge = round_up(size, s.config.granularity);
  return allocate_device_locked(s, out, size, charge, kind, device, context, pool);
}

void release_allocation_locked(std::map<CUdeviceptr, Allocation>::iterator it) {
  Simulator& s = sim();
  const Allocation& a = it->second;
  void* p = reinterpret_cast<void*>(it->first);
  if (on_device(a.kind)) {
    s.devices[a.device].charged -= a.charged;
    give_back_mapping_locked(s, p, a.mapped);
  } else if (a.mapped != 0) {
    munmap(p, a.mapped);
  }
  if (CUmemPoolHandle_st* pool = a.pool) {
    --pool->live;
    if (pool->destroyed && pool->live == 0) {
      s.pools.erase(pool);
      delete pool;
    }
  }
  s.allocations.erase(it);
}

void release_context_allocations_locked(CUctx_st* context) {
  auto& all = sim().allocations;
  for (auto it = all.begin(); it != all.end();) {
    auto next = std::next(it);
    if (it->second.context == context) release_allocation_locked(it);
    it = next;
  }
}

std::map<CUdeviceptr, Allocation>::iterator find_containing_locked(CUdeviceptr address) {
  auto& all = sim().allocations;
  auto it = all.upper_bound(address);
  if (it == all.begin()) return all.end();
  --it;
  return address < it->first + it->second.size ? it : all.end();
}

std::map<CUdeviceptr, Mapping>::iterator find_mapping_locked(CUdeviceptr address) {
  auto& all = sim().mappings;
  auto it = all.upper_bound(address);
  if (it == all.begin()) return all.end();
  --it;
  return address < it->first + it->second.size ? it : all.end();
}

}  // namespace simcuda
