// The TRACE arguments of `report` and `check`: files, or directories that
// stand for every trace in them (the traces of a job's ranks).
#pragma once

#include <string>
#include <vector>

#include "analyzer/report.h"
#include "cli/commands.h"
#include "formats/any_trace.h"
#include "formats/trace_reader.h"

namespace vramscope::cli {

// Each directory becomes its `*.vstrace` files, in name order with numbers
// compared as numbers (rank2 before rank10); files stay as given. A directory
// without traces is an error (UsageError, status 1).
std::vector<std::string> expand_trace_inputs(const Args& inputs);

// Reads and analyzes every trace before anything is printed, so one that
// cannot be read fails the command (TraceError) with no partial output.
std::vector<analysis::Report> analyze_traces(const std::vector<std::string>& paths);

}  // namespace vramscope::cli
