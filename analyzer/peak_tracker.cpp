// The high-water mark of device memory, per device.
#include "analyzer/peak_tracker.h"

namespace vramscope::analysis {

void PeakTracker::copy_peak(DeviceStacks& d) {
  for (uint32_t stack : d.changed) {
    Entry& entry = d.stacks[trace::StackId{stack}];
    d.at_peak[stack] = entry.now;
    entry.changed = false;
  }
  d.changed.clear();
  d.peak_pending = false;
}

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
  last_stacks_->peak_pending = true;  // count() has just pointed it at this device
  just_peaked_ = true;
}

const BytesByStack& PeakTracker::stacks_at_peak(uint32_t device) {
  DeviceStacks& d = stacks_[device];
  if (d.peak_pending) copy_peak(d);
  return d.at_peak;
}

}  // namespace vramscope::analysis
