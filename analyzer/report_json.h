// The report as JSON (schema_version 1; every field in docs/report.md).
#pragma once

#include <nlohmann/json.hpp>

#include "analyzer/report.h"

namespace vramscope::analysis {

inline constexpr int kReportSchemaVersion = 1;

// Keys keep the order of docs/report.md, so a person can read the file too.
nlohmann::ordered_json report_to_json(const Report& report);

}  // namespace vramscope::analysis
