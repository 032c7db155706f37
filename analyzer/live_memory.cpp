// Allocation matching and live-byte accounting.
#include "analyzer/live_memory.h"

namespace vramscope::analysis {

LiveMemory::DeviceUsage LiveMemory::other_device_usage(uint32_t device) const {
  auto found = devices_.find(device);
  return found == devices_.end() ? DeviceUsage{} : found->second;
}

}  // namespace vramscope::analysis
