// A diff of two reports as terminal text and as JSON (docs/ci.md).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "analyzer/diff.h"

namespace vramscope::analysis {

std::string diff_to_text(const ReportDiff& diff, size_t top_sites = 10);

// `fail_above`: the --fail-above threshold, written with the devices over it.
nlohmann::ordered_json diff_to_json(const ReportDiff& diff, std::optional<double> fail_above);

}  // namespace vramscope::analysis
