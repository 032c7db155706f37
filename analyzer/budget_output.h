// A check verdict as terminal lines and as JSON (docs/ci.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "analyzer/budget.h"

namespace vramscope::analysis {

// One line per budget (ok / BROKEN, figures in human units, and for a broken
// budget the traces and the site responsible), then the outcome.
std::string verdict_to_text(const Verdict& verdict);

nlohmann::ordered_json verdict_to_json(const Verdict& verdict);

}  // namespace vramscope::analysis
