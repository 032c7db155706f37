// The Chrome trace event format (JSON), which Perfetto (ui.perfetto.dev) and
// chrome://tracing open: per device, counter tracks of allocated and reserved
// bytes; instants for failed allocations and for what is live at exit; NVTX
// ranges as slices on their thread's track, marks as instants. Written as the
// events go by: memory holds the live set and the counters' points, never
// the events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "formats/trace_reader.h"

namespace vramscope::analysis {

inline constexpr size_t kDefaultChromePoints = 100'000;

struct ChromeOptions {
  // Only this device's counters, failed allocations and leaks (ranges and
  // marks are the threads', and stay); default: every device.
  std::optional<uint32_t> device;
  // The most points of each counter track. A device with more changes has
  // its time cut in this many equal parts, each drawn at its highest value.
  size_t points = kDefaultChromePoints;
  // The verdict of each failed allocation of the trace, in time order (see
  // OomVerdict). Called once, after the walk, and only when the trace has a
  // failed allocation: finding verdicts takes the whole analysis.
  std::function<std::vector<std::string>()> verdicts;
};

struct ChromeSummary {
  uint64_t counter_events = 0;
  uint64_t slices = 0;                    // NVTX ranges
  uint64_t instants = 0;                  // marks, failed allocations, leaks
  std::vector<uint32_t> thinned_devices;  // with more changes than points
};

// Throws std::invalid_argument with a message for the user for `points` 0
// and for a device the trace neither lists nor uses.
ChromeSummary write_chrome_trace(const trace::TraceContents& trace, const ChromeOptions& options,
                                 std::ostream& out);

}  // namespace vramscope::analysis
