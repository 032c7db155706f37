// Opening the process's trace: its path, its header, and the lazy opening
// for processes that only make one when they first touch GPU memory.
#pragma once

#include "formats/trace_file_writer.h"
#include "injector/state.h"

namespace vramscope::inject {

// The open trace, opening it on first use; nullptr when it cannot be opened
// (said once on stderr) or recording is off.
trace::TraceFileWriter* open_trace_writer();
inline trace::TraceFileWriter* trace_writer() {
  trace::TraceFileWriter* writer = state().writer.load(std::memory_order_acquire);
  return writer ? writer : open_trace_writer();
}

// Reads the settings from the environment. Called once at load.
void read_settings();

}  // namespace vramscope::inject
