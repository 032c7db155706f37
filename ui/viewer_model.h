// What the viewer shows, computed once when a trace is opened: the
// analyzer's report and the live-memory timeline by category. Every view
// draws from here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "analyzer/report.h"
#include "analyzer/timeline.h"
#include "ui/timeline_levels.h"

namespace vramscope::ui {

struct ViewerModel {
  std::string path;
  analysis::Report report;
  // The whole trace by category, on the device with the most memory at its
  // peak, in kTimelineBuckets buckets (their series moved into `levels`).
  analysis::Timeline timeline;
  TimelineLevels levels;
};

// The finest timeline the viewer keeps: 2^18 buckets of each series, a few
// tens of megabytes, a bucket 14 ms wide on an hour of trace.
inline constexpr size_t kTimelineBuckets = size_t{1} << 18;

// Reads a trace of any form vramscope reads and analyzes it. Throws
// trace::TraceError (or std::invalid_argument) with a message for the user.
ViewerModel load_model(const std::string& path, size_t timeline_buckets = kTimelineBuckets);

}  // namespace vramscope::ui
