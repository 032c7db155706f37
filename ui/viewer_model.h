// What the viewer shows, computed once when a trace is opened: the
// analyzer's report and the live-memory timeline by category. Every view
// draws from here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "analyzer/report.h"
#include "analyzer/timeline.h"

namespace vramscope::ui {

struct ViewerModel {
  std::string path;
  analysis::Report report;
  // The whole trace by category, on the device with the most memory at its
  // peak, one bucket per pixel column of the widest plot the window allows.
  analysis::Timeline timeline;
};

// Reads a trace of any form vramscope reads and analyzes it. Throws
// trace::TraceError (or std::invalid_argument) with a message for the user.
ViewerModel load_model(const std::string& path, size_t timeline_buckets);

}  // namespace vramscope::ui
