// Cross-rank summary. Each report stays as it is; this only compares them.
#include "analyzer/ranks.h"

#include <algorithm>

namespace vramscope::analysis {

std::optional<double> RankSummary::peak_ratio() const {
  if (peak_min == 0) return std::nullopt;
  return static_cast<double>(peak_max) / static_cast<double>(peak_min);
}

RankSummary summarize_ranks(const std::vector<Report>& reports) {
  RankSummary summary;
  for (size_t i = 0; i < reports.size(); ++i) {
    const Report& r = reports[i];
    RankRow row{r.trace, 0, r.leaks.bytes, out_of_memory_count(r.failed_allocations)};
    for (const DeviceReport& d : r.devices) row.peak_bytes = std::max(row.peak_bytes, d.peak.bytes);
    // A launcher or a data loader that never held device memory is not a GPU rank.
    if (row.peak_bytes > 0) {
      summary.peak_min = summary.peak_max == 0 ? row.peak_bytes : std::min(summary.peak_min, row.peak_bytes);
      summary.peak_max = std::max(summary.peak_max, row.peak_bytes);
    }
    summary.rows.push_back(std::move(row));

    // Failures are in time order: the first that ran out of memory is the trace's earliest.
    auto failure_at =
        std::find_if(r.failed_allocations.begin(), r.failed_allocations.end(), ran_out_of_memory);
    if (failure_at == r.failed_allocations.end()) continue;
    const FailedAllocation& failure = *failure_at;
    uint64_t when = r.trace.start_unix_ns + failure.time_ns;
    if (!summary.first_failure || when < summary.first_failure->time_unix_ns) {
      summary.first_failure = FirstFailure{i, when, failure};
    }
  }
  return summary;
}

}  // namespace vramscope::analysis
