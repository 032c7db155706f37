// The report as text for a terminal, readable in 100 columns.
#pragma once

#include <cstddef>
#include <string>

#include "analyzer/report.h"

namespace vramscope::analysis {

struct TextOptions {
  size_t top = 10;  // sites per device and leak groups shown; the JSON has all
};

std::string report_to_text(const Report& report, const TextOptions& options = {});

}  // namespace vramscope::analysis
