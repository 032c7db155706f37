// Counting passes over the event stream: per kind, per thread, per API call,
// and per event type. None needs a stack, so none symbolizes anything.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "analyzer/live_memory.h"
#include "analyzer/report.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

class KindTally {
 public:
  void observe(const trace::Event& event, const LiveChange& change, const LiveMemory& live);
  // Kinds that occur in any Alloc, Free or FailedAlloc, in enum order; live
  // at exit comes from the final live set.
  std::vector<KindTotals> totals(const LiveMemory& final_live) const;

 private:
  std::array<KindTotals, trace::kMemoryKindCount> kinds_{};
  std::array<bool, trace::kMemoryKindCount> seen_{};
};

class ThreadTally {
 public:
  void observe(const trace::Event& event, const LiveChange& change);
  // Every thread the trace names, plus any that only events mention.
  std::vector<ThreadTotals> totals(const std::vector<trace::Thread>& threads) const;

 private:
  std::map<uint32_t, ThreadTotals> threads_;
  // The last thread's entry: events come in runs from one thread.
  uint32_t last_index_ = UINT32_MAX;
  ThreadTotals* last_ = nullptr;
};

class ApiTally {
 public:
  void observe(const trace::Event& event);
  std::vector<ApiCount> counts() const;  // by count descending, then api and via

 private:
  // A job uses a handful of (api, via) pairs: a short list beats any map.
  std::vector<std::pair<std::pair<trace::Api, trace::Api>, uint64_t>> counts_;
};

class EventCounter {
 public:
  void observe(const trace::Event& event, const LiveChange& change);
  const EventCounts& counts() const { return counts_; }
  const std::vector<ForkEvent>& forks() const { return forks_; }

 private:
  EventCounts counts_;
  std::vector<ForkEvent> forks_;
};

}  // namespace vramscope::analysis
