// Many traces reported together: the per-rank table as text, and the JSON
// document {schema_version, ranks: [report...], summary} (docs/ci.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyzer/ranks.h"

namespace vramscope::analysis {

std::string ranks_to_text(const RankSummary& summary);

nlohmann::ordered_json ranks_to_json(const std::vector<Report>& reports, const RankSummary& summary);

}  // namespace vramscope::analysis
