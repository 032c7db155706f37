// Finds each device's peak of live device bytes, and what was live then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "analyzer/live_memory.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

struct PeakMoment {
  uint64_t bytes = 0;
  uint64_t time_ns = 0;
  uint64_t live_allocations = 0;
  size_t event_index = 0;  // the event after which the peak first held
};

class PeakTracker {
 public:
  // Call after `live` has applied events[index].
  void observe(size_t index, const trace::Event& event, const LiveChange& change, const LiveMemory& live);

  // Devices whose live device bytes ever rose above zero.
  const std::map<uint32_t, PeakMoment>& peaks() const { return peaks_; }

 private:
  std::map<uint32_t, PeakMoment> peaks_;
};

// The allocations live on each device at its peak (kinds that occupy device
// memory). Replays the events up to the last peak: keeping a copy of the live
// set at every new high would cost quadratic time on a job that only grows.
std::map<uint32_t, std::vector<Allocation>> live_at_peaks(const std::vector<trace::Event>& events,
                                                          const std::map<uint32_t, PeakMoment>& peaks);

}  // namespace vramscope::analysis
