// Any trace vramscope reads, told from its first bytes: its own (.vstrace),
// a PyTorch memory snapshot, or a torch.profiler trace. The CLI's commands
// and the viewer read traces through here.
#pragma once

#include <string>

#include "formats/trace_reader.h"

namespace vramscope::trace {

// The forms of trace vramscope reads. A pipe or a device is refused
// (TraceError): telling its form would use up what is then read.
enum class TraceForm { Vramscope, PytorchSnapshot, ProfilerTrace };
TraceForm trace_form(const std::string& path);

// Reads one trace of any form: its own or one it imports. Throws TraceError
// for one it cannot read.
TraceContents read_any_trace(const std::string& path);

}  // namespace vramscope::trace
