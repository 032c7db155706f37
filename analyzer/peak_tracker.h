// Finds each device's peak of live device bytes; what was live then comes
// afterwards from the lifetime log (stacks_at_peaks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>

#include "analyzer/lifetimes.h"
#include "analyzer/live_memory.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

struct PeakMoment {
  uint64_t bytes = 0;
  uint64_t time_ns = 0;
  uint64_t live_allocations = 0;
  size_t event_index = 0;  // the event after which the peak first held
};

// Live device bytes and allocations of one call path.
struct StackBytes {
  uint64_t bytes = 0;
  uint64_t count = 0;
};
using BytesByStack = std::unordered_map<uint32_t, StackBytes>;  // by stack id

class PeakTracker {
 public:
  PeakTracker() = default;
  PeakTracker(const PeakTracker&) = delete;  // it points into its own map
  PeakTracker& operator=(const PeakTracker&) = delete;

  // Call after `live` has applied events[index].
  void observe(size_t index, const trace::Event& event, const LiveChange& change, const LiveMemory& live) {
    // A free never sets a new peak.
    if (change.what == LiveChange::What::Allocated) {
      allocated(index, event, change.allocation.kind, change.allocation.device, live);
    } else {
      just_peaked_ = false;
    }
  }
  // observe() for an allocation of `kind` on `device`.
  void allocated(size_t index, const trace::Event& event, trace::MemoryKind kind, uint32_t device,
                 const LiveMemory& live) {
    just_peaked_ = false;
    // Memory that is not the device's never sets one.
    if (!trace::occupies_device_memory(kind)) return;
    uint64_t bytes = live.device_bytes(device);
    if (last_peak_ == nullptr || device != last_peak_device_) {
      if (!switch_peak_device(device, bytes)) return;
    }
    // Strictly higher: the peak's time is its first moment.
    if (bytes > last_peak_->bytes) new_peak(index, event, live);
  }
  // observe() for a free.
  void freed() { just_peaked_ = false; }

  // Whether the last event observed set a new peak.
  bool just_peaked() const { return just_peaked_; }
  // Devices whose live device bytes ever rose above zero.
  const std::map<uint32_t, PeakMoment>& peaks() const { return peaks_; }

 private:
  // Points last_peak_ at the device's entry; false (and nothing kept) while
  // the device never had live bytes.
  bool switch_peak_device(uint32_t device, uint64_t bytes);
  void new_peak(size_t index, const trace::Event& event, const LiveMemory& live);

  std::map<uint32_t, PeakMoment> peaks_;
  uint32_t last_peak_device_ = 0;
  PeakMoment* last_peak_ = nullptr;  // the last device's entry
  bool just_peaked_ = false;
};

// What was live on each device at its peak, by call path: the device-memory
// allocations made at or before the peak's event and freed after it.
std::map<uint32_t, BytesByStack> stacks_at_peaks(const LifetimeLog& lifetimes,
                                                 const std::map<uint32_t, PeakMoment>& peaks);

}  // namespace vramscope::analysis
