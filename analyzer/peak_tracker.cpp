// The high-water mark of device memory, per device.
#include "analyzer/peak_tracker.h"

#include <algorithm>

namespace vramscope::analysis {

void PeakTracker::copy_peak(DeviceStacks& d) {
  for (uint32_t stack : d.changed) {
    Entry* entry = d.stacks.find(stack);
    d.at_peak[stack] = entry->now;
    entry->changed = false;
  }
  d.changed.clear();
  d.peak_pending = false;
}

void PeakTracker::count(const Allocation& a, int sign) {
  if (!trace::occupies_device_memory(a.kind)) return;
  if (last_stacks_ == nullptr || a.device != last_device_) {
    last_stacks_ = &stacks_[a.device];  // map entries stay where they are
    last_device_ = a.device;
  }
  DeviceStacks& d = *last_stacks_;
  // Only an allocation with no free in the same event surely makes a new high.
  if (d.peak_pending && !(sign > 0 && a.size > 0)) copy_peak(d);
  Entry& entry = *d.stacks.insert(Entry{a.stack.value, false, {}}).first;
  if (!entry.changed) {
    entry.changed = true;
    d.changed.push_back(a.stack.value);
  }
  entry.now.bytes += sign > 0 ? a.size : -a.size;
  entry.now.count += sign > 0 ? 1 : -1;
}

void PeakTracker::observe(size_t index, const trace::Event& event, const LiveChange& change,
                          const LiveMemory& live) {
  just_peaked_ = false;
  if (change.displaced) count(*change.displaced, -1);
  if (change.what == LiveChange::What::Freed) count(change.allocation, -1);
  // Only an allocation can raise live bytes; a free never sets a new peak.
  if (change.what != LiveChange::What::Allocated) return;
  if (!trace::occupies_device_memory(change.allocation.kind)) return;
  count(change.allocation, +1);
  uint32_t device = change.allocation.device;
  uint64_t bytes = live.device_bytes(device);
  if (last_peak_ == nullptr || device != last_peak_device_) {
    auto found = peaks_.find(device);
    if (found == peaks_.end() && bytes == 0) return;
    last_peak_ = &peaks_[device];  // map entries stay where they are
    last_peak_device_ = device;
  }
  if (bytes <= last_peak_->bytes) return;  // strictly higher: the peak's time is its first moment
  *last_peak_ = PeakMoment{bytes, event.time_ns, live.device_allocations(device), index};
  stacks_[device].peak_pending = true;
  just_peaked_ = true;
}

const BytesByStack& PeakTracker::stacks_at_peak(uint32_t device) {
  DeviceStacks& d = stacks_[device];
  if (d.peak_pending) copy_peak(d);
  return d.at_peak;
}

}  // namespace vramscope::analysis
