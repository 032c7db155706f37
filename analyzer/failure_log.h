// Keeps every failed allocation with the state of this process at that moment.
#pragma once

#include <cstdint>
#include <vector>

#include "analyzer/live_memory.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

struct RecordedFailure {
  trace::Event event;
  uint64_t live_bytes = 0;  // this process's live device bytes on the event's device
};

class FailureLog {
 public:
  void observe(const trace::Event& event, const LiveMemory& live) {
    if (event.type != trace::EventType::FailedAlloc) return;
    failures_.push_back(RecordedFailure{event, live.device_bytes(event.device)});
  }
  const std::vector<RecordedFailure>& failures() const { return failures_; }

 private:
  std::vector<RecordedFailure> failures_;
};

}  // namespace vramscope::analysis
