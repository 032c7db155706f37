// Many traces of one job (ranks, forked processes): a row per trace, the
// spread of peaks between them, and which one failed an allocation first.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "analyzer/report.h"

namespace vramscope::analysis {

struct RankRow {
  TraceFacts trace;
  uint64_t peak_bytes = 0;  // highest device peak of the trace
  uint64_t leaked_bytes = 0;
  uint64_t failed_allocations = 0;  // that ran out of memory (ran_out_of_memory)
};

// The trace whose first allocation that ran out of memory came earliest in wall-clock time
// (trace start + event time), since ranks start at different moments.
struct FirstFailure {
  size_t trace = 0;  // index into the reports / rows
  uint64_t time_unix_ns = 0;
  FailedAllocation failure;
};

struct RankSummary {
  std::vector<RankRow> rows;  // in the order of the reports
  // Over the traces that held device memory (peak above 0); 0 when none did.
  uint64_t peak_min = 0;
  uint64_t peak_max = 0;
  uint64_t peak_spread() const { return peak_max - peak_min; }
  std::optional<double> peak_ratio() const;  // max / min; none when no trace held device memory
  std::optional<FirstFailure> first_failure;
};

RankSummary summarize_ranks(const std::vector<Report>& reports);

}  // namespace vramscope::analysis
