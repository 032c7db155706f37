// Writes a trace held in memory (an imported one) as a vramscope trace file,
// so that it reads back as the same events, stacks and devices.
#pragma once

#include <string>

#include "formats/trace_reader.h"

namespace vramscope::trace {

// Throws std::runtime_error when the file cannot be written. A trace without
// an End record reads back cut short, as it was.
void write_trace_file(const TraceContents& trace, const std::string& path);

}  // namespace vramscope::trace
