// Budgets for `vramscope check`, the CI gate: limits on the peaks of allocated
// and reserved memory, leaks, failures, growth per iteration and
// fragmentation, held against reports.
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
  std::optional<uint64_t> max_peak;      // bytes, allocated peak: tensor blocks when annotated, else device
  std::optional<uint64_t> max_leak;      // bytes, leaks.bytes
  std::optional<uint64_t> max_failed;    // failed allocations
  std::optional<uint64_t> max_reserved;  // bytes, highest device peak (segments)
  std::optional<uint64_t> max_growth;    // bytes per iteration, largest growth leak
  std::optional<double> max_fragmentation;  // 0..1, worst fragmentation metric of a device
  bool empty() const {
    return !max_peak && !max_leak && !max_failed && !max_reserved && !max_growth && !max_fragmentation;
  }
};

enum class BudgetName { MaxPeak, MaxReserved, MaxLeak, MaxGrowth, MaxFailed, MaxFragmentation };
const char* to_string(BudgetName name);  // "max_peak", "max_reserved", ...

// What a budget's figures are: bytes, a count, or a ratio from 0 to 1.
enum class Measure { Bytes, Count, Ratio };
Measure measure_of(BudgetName name);

// A device and a moment in the trace: where the worst fragmentation was.
struct BudgetMoment {
  uint32_t device = 0;
  uint64_t time_ns = 0;
};

// One budget held against one trace. Figures are doubles so that a ratio fits
// beside bytes and counts (whole numbers up to 2^53 are exact). `site` is the
// one responsible for the value: the top site at the highest peak, the largest
// leak group's site, the fastest-growing leak's site, the first failed
// allocation's site; none when the value is 0. `at` is set for fragmentation.
struct BudgetCheck {
  BudgetName name = BudgetName::MaxPeak;
  double limit = 0;
  double value = 0;
  bool passed = true;
  std::optional<Site> site;
  std::optional<BudgetMoment> at;
};

// Every budget against one trace, in the order of BudgetName.
struct TraceVerdict {
  TraceFacts trace;
  std::vector<BudgetCheck> checks;
  bool passed = true;
};

// One budget over every trace: the worst value, its trace and site, and the
// traces that broke it (indices into Verdict::traces).
struct BudgetOutcome {
  BudgetName name = BudgetName::MaxPeak;
  double limit = 0;
  double value = 0;  // the highest over the traces
  bool passed = true;
  size_t worst_trace = 0;  // the first trace with the highest value
  std::optional<Site> site;
  std::optional<BudgetMoment> at;
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
