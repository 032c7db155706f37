// Failed allocations, in time order.
#include "analyzer/failure_log.h"

namespace vramscope::analysis {

void FailureLog::observe(const trace::Event& event, const LiveMemory& live) {
  if (event.type != trace::EventType::FailedAlloc) return;
  failures_.push_back(RecordedFailure{event, live.device_bytes(event.device)});
}

}  // namespace vramscope::analysis
