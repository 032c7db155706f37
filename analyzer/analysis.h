// The analysis of one trace: runs the passes over its events and assembles
// the Report that the CLI prints and the viewer shows.
#pragma once

#include <functional>

#include "analyzer/report.h"
#include "formats/trace_reader.h"

namespace vramscope::analysis {

// Never throws for odd contents (unmatched frees, unknown stacks, modules
// that are gone): those are counted or shown as "??".
// Told now and then how far the walk over the events has come, from 0 to 1.
using Progress = std::function<void(double fraction)>;

Report analyze_trace(const trace::TraceContents& trace, const Progress& progress = {});
// Reads the trace file and analyzes it, decoding its records once: the walk
// that feeds the passes checks them (trace::RecordCheck::OnFirstWalk). A
// trace whose records are not as written is read again, checked, which says
// what is wrong with it (TraceError) or reads around it. The same report as
// analyze_trace(read_trace_file(path)).
Report analyze_trace_file(const std::string& path, const Progress& progress = {});
// The same, and the trace read, its records checked, for further walks (the viewer's timeline).
Report analyze_trace_file(const std::string& path, const Progress& progress, trace::TraceContents& read);

}  // namespace vramscope::analysis
