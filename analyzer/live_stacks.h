// What was live at a device's peak, or at the trace's end, by call stack: the
// whole stacks behind the report's peak and leaks, for the exports. Each
// answer is its own walk over the events, holding the live set, no more.
#pragma once

#include <cstdint>
#include <map>

#include "analyzer/peak_tracker.h"
#include "formats/trace_reader.h"

namespace vramscope::analysis {

// The allocations live on one device at one moment, by stack id.
struct LiveStacks {
  uint64_t time_ns = 0;
  uint64_t bytes = 0;  // all of `stacks` together
  uint64_t count = 0;
  BytesByStack stacks;
};

// Per device that ever held device memory: its peak as the report finds it
// (the first moment of the most live device memory) and the device-memory
// allocations live then. Two walks: one finds the peaks, one stops at the last.
std::map<uint32_t, LiveStacks> live_at_peaks(const trace::TraceContents& trace);

// The device-memory allocations live on `device` just after the last event
// at or before `time_ns` (the viewer's call tree at a selected moment).
LiveStacks live_at(const trace::TraceContents& trace, uint32_t device, uint64_t time_ns);

// Per device: the allocations live at the trace's end that the report
// counts as leaked memory (LeakRule, analyzer/leak_finder.h).
std::map<uint32_t, LiveStacks> live_at_exit(const trace::TraceContents& trace);

}  // namespace vramscope::analysis
