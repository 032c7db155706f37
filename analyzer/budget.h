// Budgets for `vramscope check`, the CI gate: limits on the peak of device
// memory, the bytes leaked and the failed allocations, held against reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/report.h"

namespace vramscope::analysis {

// The limits asked for; an unset one is not checked. A value equal to its
// limit holds.
struct Budgets {
  std::optional<uint64_t> max_peak;    // bytes, highest device peak of a trace
  std::optional<uint64_t> max_leak;    // bytes, leaks.bytes
  std::optional<uint64_t> max_failed;  // failed allocations
  bool empty() const { return !max_peak && !max_leak && !max_failed; }
};

enum class BudgetName { MaxPeak, MaxLeak, MaxFailed };
const char* to_string(BudgetName name);  // "max_peak", "max_leak", "max_failed"
bool counts_bytes(BudgetName name);      // sizes, not counts

// One budget held against one trace. `site` is the one responsible for the
// value: the top site at the highest peak, the largest leak group's site, the
// first failed allocation's site; none when the value is 0.
struct BudgetCheck {
  BudgetName name = BudgetName::MaxPeak;
  uint64_t limit = 0;
  uint64_t value = 0;
  bool passed = true;
  std::optional<Site> site;
};

// Every budget against one trace, in the order max_peak, max_leak, max_failed.
struct TraceVerdict {
  TraceFacts trace;
  std::vector<BudgetCheck> checks;
  bool passed = true;
};

// One budget over every trace: the worst value, its trace and site, and the
// traces that broke it (indices into Verdict::traces).
struct BudgetOutcome {
  BudgetName name = BudgetName::MaxPeak;
  uint64_t limit = 0;
  uint64_t value = 0;  // the highest over the traces
  bool passed = true;
  size_t worst_trace = 0;  // the first trace with the highest value
  std::optional<Site> site;
  std::vector<size_t> broken_by;
};

struct Verdict {
  bool passed = true;
  std::vector<BudgetOutcome> budgets;
  std::vector<TraceVerdict> traces;
};

std::vector<BudgetCheck> check_budgets(const Report& report, const Budgets& budgets);

// Needs at least one report.
Verdict verdict_of(const std::vector<Report>& reports, const Budgets& budgets);

}  // namespace vramscope::analysis
