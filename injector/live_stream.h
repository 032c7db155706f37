// vramscope run --live: a thread of the job's own sends its trace to a viewer
// over a Unix socket, read back from the trace file, so the job's threads
// never wait for it (formats/live_protocol.h, docs/live.md).
#pragma once

#include "formats/trace_file_writer.h"

namespace vramscope::inject {

// With VRAMSCOPE_LIVE=1: listens at <live directory>/<pid>.sock and starts the
// sending thread for the trace `writer` has just opened. Anything that fails
// is one line on standard error ("vramscope: live off: ..."); the trace is
// written as ever.
void start_live_stream(trace::TraceFileWriter* writer);
// Removes this process's socket (at its end; not a parent's after fork).
void stop_live_stream();
// In a forked child: closes the parent's listening socket, trace descriptor
// and viewers' connections, which the child inherited without the thread.
void forget_live_stream_after_fork();

}  // namespace vramscope::inject
