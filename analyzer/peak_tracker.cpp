// The peak moments' out-of-line parts, and the call paths live at them.
#include "analyzer/peak_tracker.h"

#include <algorithm>

namespace vramscope::analysis {

bool PeakTracker::switch_peak_device(uint32_t device, uint64_t bytes) {
  auto found = peaks_.find(device);
  if (found == peaks_.end() && bytes == 0) return false;
  last_peak_ = &peaks_[device];  // map entries stay where they are
  last_peak_device_ = device;
  return true;
}

void PeakTracker::new_peak(size_t index, const trace::Event& event, const LiveMemory& live) {
  uint32_t device = last_peak_device_;
  *last_peak_ = PeakMoment{live.device_bytes(device), event.time_ns, live.device_allocations(device), index};
  just_peaked_ = true;
}

std::map<uint32_t, BytesByStack> stacks_at_peaks(const LifetimeLog& lifetimes,
                                                 const std::map<uint32_t, PeakMoment>& peaks) {
  std::map<uint32_t, BytesByStack> result;
  if (peaks.empty()) return result;
  size_t last_peak = 0;
  for (const auto& [device, peak] : peaks) {
    result[device];
    last_peak = std::max(last_peak, peak.event_index);
  }
  // Allocations come in event order: none made after the last peak was live at one.
  lifetimes.for_each_allocation([&](const Lifetime& l) {
    if (l.alloc_index > last_peak) return false;
    if (!trace::occupies_device_memory(l.kind)) return true;
    auto peak = peaks.find(l.device);
    if (peak == peaks.end() || l.alloc_index > peak->second.event_index ||
        l.free_index <= peak->second.event_index) {
      return true;
    }
    StackBytes& entry = result[l.device][l.stack.value];
    entry.bytes += l.size;
    entry.count += 1;
    return true;
  });
  return result;
}

}  // namespace vramscope::analysis
