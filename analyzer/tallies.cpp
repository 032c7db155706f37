// Totals by kind, thread, API and event type.
#include "analyzer/tallies.h"

#include <algorithm>

namespace vramscope::analysis {

std::vector<KindTotals> KindTally::totals(const LiveMemory& final_live) const {
  std::vector<KindTotals> result;
  for (size_t i = 0; i < kinds_.size(); ++i) {
    if (!seen_[i]) continue;
    KindTotals totals = kinds_[i];
    totals.kind = static_cast<trace::MemoryKind>(i);
    result.push_back(totals);
  }
  final_live.for_each_live([&](const Allocation& a) {
    for (KindTotals& totals : result) {
      if (totals.kind != a.kind) continue;
      totals.live_at_exit_bytes += a.size;
      totals.live_at_exit_count += 1;
    }
  });
  return result;
}

std::vector<ThreadTotals> ThreadTally::totals(const std::vector<trace::Thread>& threads) const {
  std::map<uint32_t, ThreadTotals> merged = threads_;
  for (const trace::Thread& thread : threads) {
    ThreadTotals& totals = merged[thread.index.value];
    totals.os_tid = thread.os_tid;
    totals.name = thread.name;
  }
  std::vector<ThreadTotals> result;
  for (auto& [index, totals] : merged) {
    totals.index = index;
    result.push_back(std::move(totals));
  }
  return result;
}

uint16_t ApiTally::add_row(trace::Api api) {
  rows_.emplace_back();                                  // zeroed
  const auto row = static_cast<uint16_t>(rows_.size());  // at most 256: one row per api
  row_of_api_[static_cast<uint8_t>(api)] = row;
  return row;
}

std::vector<ApiCount> ApiTally::counts() const {
  std::vector<ApiCount> result;
  for (size_t api = 0; api < row_of_api_.size(); ++api) {  // in (api, via) order, as the report lists ties
    if (row_of_api_[api] == 0) continue;
    const std::array<uint64_t, 256>& row = rows_[row_of_api_[api] - 1];
    for (size_t via = 0; via < row.size(); ++via) {
      if (row[via] == 0) continue;
      result.push_back(ApiCount{static_cast<trace::Api>(api), static_cast<trace::Api>(via), row[via]});
    }
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const ApiCount& a, const ApiCount& b) { return a.count > b.count; });
  return result;
}

void ThreadTally::switch_thread(uint32_t index) {
  last_ = &threads_[index];  // map entries stay where they are
  last_index_ = index;
}

void EventCounter::observe_other(const trace::Event& event) {
  if (event.type == trace::EventType::FailedAlloc) counts_.failed_allocations += 1;
  if (event.type == trace::EventType::Marker) counts_.markers += 1;
  if (event.type == trace::EventType::Fork) {
    counts_.forks += 1;
    forks_.push_back(ForkEvent{event.time_ns, event.child_pid});
  }
}

}  // namespace vramscope::analysis
