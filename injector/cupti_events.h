// The CUPTI backend's reading of a driver call: which memory event a CUPTI
// driver-API callback stands for, from the call's parameters and result as
// CUPTI hands them over (generated_cuda_meta.h's `*_params` structs). Pure:
// the unit tests feed it the structures CUPTI fills.
#pragma once

#include <cupti_activity.h>
#include <cupti_callbacks.h>
#include <cupti_driver_cbid.h>

#include <cstdint>
#include <optional>
#include <span>

#include "formats/trace_events.h"

namespace vramscope::inject::cupti {

// Stands for "the device current on the calling thread".
inline constexpr int kCurrentDevice = -1;

struct CallEvent {
  enum class Type : uint8_t { Alloc, Free, Failed, PoolTrim };
  Type type = Type::Alloc;
  trace::MemoryKind kind = trace::MemoryKind::Device;
  trace::Api api = trace::Api::None;
  uint64_t address = 0;  // the pointer, handle or pool
  uint64_t size = 0;     // bytes made, unmapped or freed (ranged frees), requested (failed), kept (trim)
  uint64_t stream = 0;
  int device = kCurrentDevice;
  int error = 0;  // CUresult of a failed allocation
};

// Whether a callback id is a call that frees: its event is stamped at the
// call's entry (once the driver has the address back, another thread may get it).
bool frees(CUpti_CallbackId cbid);

// The driver callback ids vramscope records: every memory call, plain and
// per-thread-stream (_ptsz).
std::span<const CUpti_CallbackId> memory_calls();

// The event of a finished call: `params` is CUpti_CallbackData::functionParams,
// `result` its return value. Nullopt for a call that is not a memory call,
// and for a free or trim that failed.
std::optional<CallEvent> event_of(CUpti_CallbackId cbid, const void* params, CUresult result);

// CUPTI's activity records of memory (CUPTI_ACTIVITY_KIND_MEMORY2) and of
// memory pools (CUPTI_ACTIVITY_KIND_MEMORY_POOL), counted: a ledger kept
// beside the callbacks' events, to tell at the end whether the callbacks saw
// every allocation the driver reported.
struct ActivityTally {
  uint64_t allocations = 0;  // device, managed and pinned memory, and stream-ordered allocations
  uint64_t releases = 0;
  uint64_t pools_created = 0;
  uint64_t pools_destroyed = 0;
  uint64_t pools_trimmed = 0;
  uint64_t other = 0;  // records of other kinds
};
void tally(const CUpti_Activity& record, ActivityTally& tally);

// Whether a callback event is one the memory activity records count too.
bool counted_by_activity(const CallEvent& event);

}  // namespace vramscope::inject::cupti
