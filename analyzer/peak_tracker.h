// Finds each device's peak of live device bytes, and what was live then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "analyzer/live_memory.h"
#include "analyzer/per_stack.h"
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
    just_peaked_ = false;
    const Allocation& a = change.allocation;
    if (change.what == LiveChange::What::Freed) {
      count(a, -1);
      return;  // a free never sets a new peak
    }
    if (change.what != LiveChange::What::Allocated) return;
    if (change.displaced) count(*change.displaced, -1);  // its free is missing
    if (!trace::occupies_device_memory(a.kind)) return;
    count(a, +1);
    uint64_t bytes = live.device_bytes(a.device);
    if (last_peak_ == nullptr || a.device != last_peak_device_) {
      if (!switch_peak_device(a.device, bytes)) return;
    }
    // Strictly higher: the peak's time is its first moment.
    if (bytes > last_peak_->bytes) new_peak(index, event, live);
  }

  // Whether the last event observed set a new peak.
  bool just_peaked() const { return just_peaked_; }
  // Devices whose live device bytes ever rose above zero.
  const std::map<uint32_t, PeakMoment>& peaks() const { return peaks_; }
  // What was live on the device at its peak, by call path. Call after the last event.
  const BytesByStack& stacks_at_peak(uint32_t device);

 private:
  // The live bytes per call path, and a copy of them at the peak. The copy
  // is made only when the peak has passed (the next change that is not a
  // new high), and only of the call paths that changed since the last copy:
  // a job that keeps growing would otherwise copy at every allocation.
  struct Entry {
    bool changed = false;  // since the last copy
    StackBytes now;
  };
  struct DeviceStacks {
    PerStack<Entry> stacks;
    std::vector<uint32_t> changed;
    BytesByStack at_peak;
    bool peak_pending = false;  // the peak is in `stacks`, not yet in `at_peak`
  };

  void count(const Allocation& a, int sign) {
    if (!trace::occupies_device_memory(a.kind)) return;
    if (last_stacks_ == nullptr || a.device != last_device_) {
      last_stacks_ = &stacks_[a.device];  // map entries stay where they are
      last_device_ = a.device;
    }
    DeviceStacks& d = *last_stacks_;
    // Only an allocation with no free in the same event surely makes a new high.
    if (d.peak_pending && !(sign > 0 && a.size > 0)) copy_peak(d);
    Entry& entry = d.stacks[a.stack];
    if (!entry.changed) {
      entry.changed = true;
      d.changed.push_back(a.stack.value);
    }
    entry.now.bytes += sign > 0 ? a.size : -a.size;
    entry.now.count += sign > 0 ? 1 : -1;
  }
  static void copy_peak(DeviceStacks& d);
  // Points last_peak_ at the device's entry; false (and nothing kept) while
  // the device never had live bytes.
  bool switch_peak_device(uint32_t device, uint64_t bytes);
  void new_peak(size_t index, const trace::Event& event, const LiveMemory& live);

  std::map<uint32_t, PeakMoment> peaks_;
  uint32_t last_peak_device_ = 0;
  PeakMoment* last_peak_ = nullptr;  // the last device's entry
  std::map<uint32_t, DeviceStacks> stacks_;
  uint32_t last_device_ = 0;
  DeviceStacks* last_stacks_ = nullptr;
  bool just_peaked_ = false;
};

}  // namespace vramscope::analysis
