// The analysis of one trace: runs the passes over its events and assembles
// the Report that the CLI prints and the viewer shows.
#pragma once

#include "analyzer/report.h"
#include "formats/trace_reader.h"

namespace vramscope::analysis {

// Never throws for odd contents (unmatched frees, unknown stacks, modules
// that are gone): those are counted or shown as "??".
Report analyze_trace(const trace::TraceContents& trace);

}  // namespace vramscope::analysis
