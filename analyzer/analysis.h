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

}  // namespace vramscope::analysis
