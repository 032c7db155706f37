// The TRACE arguments of `report` and `check`: files, or directories that
// stand for every trace in them (the traces of a job's ranks).
#pragma once

#include <string>
#include <vector>

#include "analyzer/report.h"
#include "cli/commands.h"
#include "formats/trace_reader.h"

namespace vramscope::cli {

// Each directory becomes its `*.vstrace` files, in name order with numbers
// compared as numbers (rank2 before rank10); files stay as given. A directory
// without traces is an error (UsageError, status 1).
std::vector<std::string> expand_trace_inputs(const Args& inputs);

// The forms of trace a command reads, told from a file's first bytes. A pipe
// or a device is refused (trace::TraceError): telling its form would use up
// what the command then reads.
enum class TraceForm { Vramscope, PytorchSnapshot, ProfilerTrace };
TraceForm trace_form(const std::string& path);

// Reads one trace of any form vramscope reads: its own (.vstrace) or one it
// imports. Throws trace::TraceError for one it cannot read.
trace::TraceContents read_any_trace(const std::string& path);

// Reads and analyzes every trace before anything is printed, so one that
// cannot be read fails the command (TraceError) with no partial output.
std::vector<analysis::Report> analyze_traces(const std::vector<std::string>& paths);

}  // namespace vramscope::cli
