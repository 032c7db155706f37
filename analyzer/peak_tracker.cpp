// The high-water mark of device memory, per device.
#include "analyzer/peak_tracker.h"

#include <algorithm>

namespace vramscope::analysis {

void PeakTracker::observe(size_t index, const trace::Event& event, const LiveChange& change,
                          const LiveMemory& live) {
  // Only an allocation can raise live bytes; a free never sets a new peak.
  if (change.what != LiveChange::What::Allocated) return;
  if (!trace::occupies_device_memory(change.allocation.kind)) return;
  uint32_t device = change.allocation.device;
  uint64_t bytes = live.device_bytes(device);
  auto found = peaks_.find(device);
  uint64_t previous = found == peaks_.end() ? 0 : found->second.bytes;
  if (bytes <= previous) return;  // strictly higher: the peak's time is its first moment
  peaks_[device] = PeakMoment{bytes, event.time_ns, live.device_allocations(device), index};
}

std::map<uint32_t, std::vector<Allocation>> live_at_peaks(const std::vector<trace::Event>& events,
                                                          const std::map<uint32_t, PeakMoment>& peaks) {
  std::map<uint32_t, std::vector<Allocation>> result;
  std::multimap<size_t, uint32_t> devices_by_index;
  for (const auto& [device, peak] : peaks) devices_by_index.emplace(peak.event_index, device);
  if (devices_by_index.empty()) return result;

  LiveMemory live;
  size_t last = std::min(devices_by_index.rbegin()->first, events.size() - 1);
  for (size_t i = 0; i <= last; ++i) {
    live.apply(events[i]);
    auto [first, end] = devices_by_index.equal_range(i);
    for (auto it = first; it != end; ++it) {
      std::vector<Allocation>& snapshot = result[it->second];
      live.for_each_live([&](const Allocation& a) {
        if (a.device == it->second && trace::occupies_device_memory(a.kind)) snapshot.push_back(a);
      });
    }
  }
  return result;
}

}  // namespace vramscope::analysis
