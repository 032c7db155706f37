// A timeline as terminal text (a line per bucket) and as JSON
// (docs/timeline.schema.json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "analyzer/timeline.h"

namespace vramscope::analysis {

std::string timeline_to_text(const Timeline& timeline);

nlohmann::ordered_json timeline_to_json(const Timeline& timeline);

}  // namespace vramscope::analysis
