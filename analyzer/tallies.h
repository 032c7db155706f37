// Counting passes over the event stream: per kind, per thread, per API call,
// and per event type. None needs a stack, so none symbolizes anything.
#pragma once

#include <algorithm>
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
  void observe(const trace::Event& event, const LiveChange& change, const LiveMemory& live) {
    bool counted = event.type == trace::EventType::Alloc || event.type == trace::EventType::Free ||
                   event.type == trace::EventType::FailedAlloc;
    if (!counted) return;
    if (change.what == LiveChange::What::Allocated) {
      allocated(event.kind, event.size, live);
    } else if (change.what == LiveChange::What::Freed) {
      freed(event.kind);
    } else {
      seen(event.kind);
    }
  }
  // observe() for an allocation, and for a free of an allocation of `kind`.
  void allocated(trace::MemoryKind kind, uint64_t size, const LiveMemory& live) {
    KindTotals* totals = seen(kind);
    if (!totals) return;
    totals->allocations += 1;
    totals->allocated_bytes += size;
    totals->peak_bytes = std::max(totals->peak_bytes, live.kind_bytes(kind));
  }
  void freed(trace::MemoryKind kind) {
    if (KindTotals* totals = seen(kind)) totals->frees += 1;
  }
  // Kinds that occur in any Alloc, Free or FailedAlloc, in enum order; live
  // at exit comes from the final live set.
  std::vector<KindTotals> totals(const LiveMemory& final_live) const;

 private:
  // The kind's totals, now seen; null for a kind past the known ones.
  KindTotals* seen(trace::MemoryKind kind) {
    size_t index = static_cast<size_t>(kind);
    if (index >= trace::kMemoryKindCount) return nullptr;
    seen_[index] = true;
    return &kinds_[index];
  }

  std::array<KindTotals, trace::kMemoryKindCount> kinds_{};
  std::array<bool, trace::kMemoryKindCount> seen_{};
};

class ThreadTally {
 public:
  void observe(const trace::Event& event, const LiveChange& change) {
    using What = LiveChange::What;
    bool counted = change.what == What::Allocated || change.what == What::Freed ||
                   event.type == trace::EventType::FailedAlloc;
    if (!counted) return;
    if (change.what == What::Allocated) {
      allocated(event.thread, event.size);
    } else if (change.what == What::Freed) {
      freed(event.thread);
    } else {
      totals_of(event.thread).failed_allocations += 1;
    }
  }
  // observe() for an allocation and a free.
  void allocated(trace::ThreadIndex thread, uint64_t size) {
    ThreadTotals& totals = totals_of(thread);
    totals.allocations += 1;
    totals.allocated_bytes += size;
  }
  void freed(trace::ThreadIndex thread) { totals_of(thread).frees += 1; }
  // Every thread the trace names, plus any that only events mention.
  std::vector<ThreadTotals> totals(const std::vector<trace::Thread>& threads) const;

 private:
  ThreadTotals& totals_of(trace::ThreadIndex thread) {
    if (last_ == nullptr || thread.value != last_index_) switch_thread(thread.value);
    return *last_;
  }
  void switch_thread(uint32_t index);

  std::map<uint32_t, ThreadTotals> threads_;
  // The last thread's entry: events come in runs from one thread.
  uint32_t last_index_ = UINT32_MAX;
  ThreadTotals* last_ = nullptr;
};

class ApiTally {
 public:
  void observe(const trace::Event& event) {
    if (event.api == trace::Api::None && event.via == trace::Api::None) return;
    uint16_t row = row_of_api_[static_cast<uint8_t>(event.api)];
    if (row == 0) row = add_row(event.api);
    rows_[row - 1][static_cast<uint8_t>(event.via)] += 1;
  }
  std::vector<ApiCount> counts() const;  // by count descending, then api and via

 private:
  uint16_t add_row(trace::Api api);

  // By (api, via), both a byte: a direct count, no search, for every event.
  // A row of 256 per api seen (a trace uses a few of them): 1 + its index
  // in rows_, 0 for none yet.
  std::array<uint16_t, 256> row_of_api_{};
  std::vector<std::array<uint64_t, 256>> rows_;
};

class EventCounter {
 public:
  void observe(const trace::Event& event, const LiveChange& change) {
    switch (change.what) {
      case LiveChange::What::Allocated:
        allocated();
        if (change.displaced) counts_.missing_frees += 1;
        return;
      case LiveChange::What::Freed:
        freed();
        return;
      case LiveChange::What::UnmatchedFree:
        counts_.events += 1;
        counts_.unmatched_frees += 1;
        return;
      case LiveChange::What::None:
        counts_.events += 1;
        observe_other(event);
        return;
    }
  }
  // observe() for an allocation that displaced none, and for a free.
  void allocated() {
    counts_.events += 1;
    counts_.allocations += 1;
  }
  void freed() {
    counts_.events += 1;
    counts_.frees += 1;
  }
  const EventCounts& counts() const { return counts_; }
  const std::vector<ForkEvent>& forks() const { return forks_; }

 private:
  // Events that neither allocate nor free.
  void observe_other(const trace::Event& event);

  EventCounts counts_;
  std::vector<ForkEvent> forks_;
};

}  // namespace vramscope::analysis
