// What the injector offers the framework hooks that run inside the job (the
// Python start-up hook in python/, see docs/frameworks.md): where this
// process's trace is, so that a framework's own record of its allocator is
// written beside it and merged into it when the job ends.
#include "formats/trace_file_writer.h"
#include "injector/state.h"
#include "injector/trace_open.h"

using namespace vramscope::inject;

// The path of this process's trace, opening it if no event has yet; null when
// this process is not recorded (disabled, or the file could not be made).
extern "C" __attribute__((visibility("default"))) const char* vramscope_trace_path() {
  vramscope::trace::TraceFileWriter* writer = trace_writer();
  return writer ? writer->path().c_str() : nullptr;
}
