// Totals by kind, thread, API and event type.
#include "analyzer/tallies.h"

#include <algorithm>

namespace vramscope::analysis {

namespace {

using What = LiveChange::What;

bool valid_kind(trace::MemoryKind kind) { return static_cast<size_t>(kind) < trace::kMemoryKindCount; }

}  // namespace

void KindTally::observe(const trace::Event& event, const LiveChange& change, const LiveMemory& live) {
  bool counted = event.type == trace::EventType::Alloc || event.type == trace::EventType::Free ||
                 event.type == trace::EventType::FailedAlloc;
  if (!counted || !valid_kind(event.kind)) return;
  size_t index = static_cast<size_t>(event.kind);
  seen_[index] = true;
  KindTotals& totals = kinds_[index];
  if (change.what == What::Allocated) {
    totals.allocations += 1;
    totals.allocated_bytes += event.size;
    totals.peak_bytes = std::max(totals.peak_bytes, live.kind_bytes(event.kind));
  } else if (change.what == What::Freed) {
    totals.frees += 1;
  }
}

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

void ThreadTally::observe(const trace::Event& event, const LiveChange& change) {
  bool counted = change.what == What::Allocated || change.what == What::Freed ||
                 event.type == trace::EventType::FailedAlloc;
  if (!counted) return;
  uint32_t index = event.thread.value;
  if (last_ == nullptr || index != last_index_) {
    last_ = &threads_[index];  // map entries stay where they are
    last_index_ = index;
  }
  if (change.what == What::Allocated) {
    last_->allocations += 1;
    last_->allocated_bytes += event.size;
  } else if (change.what == What::Freed) {
    last_->frees += 1;
  } else {
    last_->failed_allocations += 1;
  }
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

void ApiTally::observe(const trace::Event& event) {
  if (event.api == trace::Api::None && event.via == trace::Api::None) return;
  std::pair<trace::Api, trace::Api> key{event.api, event.via};
  for (auto& [apis, count] : counts_) {
    if (apis == key) {
      count += 1;
      return;
    }
  }
  counts_.push_back({key, 1});
}

std::vector<ApiCount> ApiTally::counts() const {
  std::vector<ApiCount> result;
  auto sorted = counts_;
  std::sort(sorted.begin(), sorted.end());  // by (api, via), as the report always listed them on a tie
  for (const auto& [apis, count] : sorted) result.push_back(ApiCount{apis.first, apis.second, count});
  std::stable_sort(result.begin(), result.end(),
                   [](const ApiCount& a, const ApiCount& b) { return a.count > b.count; });
  return result;
}

void EventCounter::observe(const trace::Event& event, const LiveChange& change) {
  counts_.events += 1;
  switch (change.what) {
    case What::Allocated:
      counts_.allocations += 1;
      if (change.displaced) counts_.missing_frees += 1;
      break;
    case What::Freed:
      counts_.frees += 1;
      break;
    case What::UnmatchedFree:
      counts_.unmatched_frees += 1;
      break;
    case What::None:
      break;
  }
  if (event.type == trace::EventType::FailedAlloc) counts_.failed_allocations += 1;
  if (event.type == trace::EventType::Marker) counts_.markers += 1;
  if (event.type == trace::EventType::Fork) {
    counts_.forks += 1;
    forks_.push_back(ForkEvent{event.time_ns, event.child_pid});
  }
}

}  // namespace vramscope::analysis
