// Budget evaluation: each limit against each report, then the worst over all.
#include "analyzer/budget.h"

namespace vramscope::analysis {

namespace {

const DeviceReport* highest_peak(const Report& report) {
  const DeviceReport* highest = nullptr;
  for (const DeviceReport& d : report.devices) {
    if (highest == nullptr || d.peak.bytes > highest->peak.bytes) highest = &d;
  }
  return highest;
}

std::optional<Site> top_site_at_peak(const Report& report) {
  const DeviceReport* highest = highest_peak(report);
  if (highest == nullptr || highest->peak.bytes == 0 || highest->peak.sites.empty()) return std::nullopt;
  return highest->peak.sites.front().site;
}

// Reserved: the segments the process holds, i.e. the device peak.
BudgetCheck reserved_check(const Report& report, uint64_t limit) {
  BudgetCheck check{BudgetName::MaxReserved, static_cast<double>(limit), 0, true, std::nullopt, std::nullopt};
  if (const DeviceReport* highest = highest_peak(report))
    check.value = static_cast<double>(highest->peak.bytes);
  check.site = top_site_at_peak(report);
  return check;
}

// Allocated: with an allocator's tensor blocks, their peak (all devices
// together); without, the device peak, which is then what was allocated. The
// sites at the device peak are the allocator's segments, not the blocks', so
// a peak of blocks names none rather than the wrong one.
BudgetCheck peak_check(const Report& report, uint64_t limit) {
  BudgetCheck check = reserved_check(report, limit);
  check.name = BudgetName::MaxPeak;
  for (const KindTotals& k : report.kinds) {
    if (k.kind != trace::MemoryKind::Block) continue;
    check.value = static_cast<double>(k.peak_bytes);
    check.site.reset();
  }
  return check;
}

BudgetCheck growth_check(const Report& report, uint64_t limit) {
  BudgetCheck check{BudgetName::MaxGrowth, static_cast<double>(limit), 0, true, std::nullopt, std::nullopt};
  const GrowthLeak* fastest = nullptr;
  for (const GrowthLeak& g : report.growth_leaks) {
    if (fastest == nullptr || g.bytes_per_iteration > fastest->bytes_per_iteration) fastest = &g;
  }
  if (fastest != nullptr && fastest->bytes_per_iteration > 0) {
    check.value = static_cast<double>(fastest->bytes_per_iteration);
    check.site = fastest->site;
  }
  return check;
}

BudgetCheck fragmentation_check(const Report& report, double limit) {
  BudgetCheck check{BudgetName::MaxFragmentation, limit, 0, true, std::nullopt, std::nullopt};
  for (const DeviceReport& d : report.devices) {
    const std::optional<FragmentationReport>& worst = d.fragmentation.worst;
    if (worst && worst->metric > check.value) {
      check.value = worst->metric;
      check.at = BudgetMoment{d.ordinal, worst->time_ns};
    }
  }
  return check;
}

BudgetCheck leak_check(const Report& report, uint64_t limit) {
  BudgetCheck check{BudgetName::MaxLeak,
                    static_cast<double>(limit),
                    static_cast<double>(report.leaks.bytes),
                    true,
                    std::nullopt,
                    std::nullopt};
  // Groups come by bytes descending; those outside the headline don't count.
  for (const LeakGroup& group : report.leaks.groups) {
    if (check.value > 0 && group.counted) {
      check.site = group.site;
      break;
    }
  }
  return check;
}

// Allocations that failed for want of memory; a request refused for another
// reason breaks no memory budget.
BudgetCheck failed_check(const Report& report, uint64_t limit) {
  BudgetCheck check{BudgetName::MaxFailed,
                    static_cast<double>(limit),
                    static_cast<double>(out_of_memory_count(report.failed_allocations)),
                    true,
                    std::nullopt,
                    std::nullopt};
  for (const FailedAllocation& failure : report.failed_allocations) {
    if (!ran_out_of_memory(failure)) continue;
    check.site = failure.site;
    break;
  }
  return check;
}

}  // namespace

const char* to_string(BudgetName name) {
  switch (name) {
    case BudgetName::MaxPeak:
      return "max_peak";
    case BudgetName::MaxLeak:
      return "max_leak";
    case BudgetName::MaxFailed:
      return "max_failed";
    case BudgetName::MaxReserved:
      return "max_reserved";
    case BudgetName::MaxGrowth:
      return "max_growth";
    case BudgetName::MaxFragmentation:
      return "max_fragmentation";
  }
  return "unknown";
}

Measure measure_of(BudgetName name) {
  switch (name) {
    case BudgetName::MaxFailed:
      return Measure::Count;
    case BudgetName::MaxFragmentation:
      return Measure::Ratio;
    default:
      return Measure::Bytes;
  }
}

std::vector<BudgetCheck> check_budgets(const Report& report, const Budgets& budgets) {
  std::vector<BudgetCheck> checks;
  if (budgets.max_peak) checks.push_back(peak_check(report, *budgets.max_peak));
  if (budgets.max_reserved) checks.push_back(reserved_check(report, *budgets.max_reserved));
  if (budgets.max_leak) checks.push_back(leak_check(report, *budgets.max_leak));
  if (budgets.max_growth) checks.push_back(growth_check(report, *budgets.max_growth));
  if (budgets.max_failed) checks.push_back(failed_check(report, *budgets.max_failed));
  if (budgets.max_fragmentation) checks.push_back(fragmentation_check(report, *budgets.max_fragmentation));
  for (BudgetCheck& check : checks) check.passed = check.value <= check.limit;
  return checks;
}

Verdict verdict_of(const std::vector<Report>& reports, const Budgets& budgets) {
  Verdict verdict;
  for (const Report& report : reports) {
    TraceVerdict trace{report.trace, check_budgets(report, budgets), true};
    for (const BudgetCheck& check : trace.checks) trace.passed = trace.passed && check.passed;
    verdict.passed = verdict.passed && trace.passed;
    verdict.traces.push_back(std::move(trace));
  }
  if (verdict.traces.empty()) return verdict;
  size_t budget_count = verdict.traces.front().checks.size();
  for (size_t b = 0; b < budget_count; ++b) {
    const BudgetCheck& first = verdict.traces.front().checks[b];
    BudgetOutcome outcome{first.name, first.limit, first.value, true, 0, first.site, first.at, {}};
    for (size_t t = 0; t < verdict.traces.size(); ++t) {
      const BudgetCheck& check = verdict.traces[t].checks[b];
      if (check.value > outcome.value) {
        outcome.value = check.value;
        outcome.worst_trace = t;
        outcome.site = check.site;
        outcome.at = check.at;
      }
      if (!check.passed) outcome.broken_by.push_back(t);
    }
    outcome.passed = outcome.broken_by.empty();
    verdict.budgets.push_back(std::move(outcome));
  }
  return verdict;
}

}  // namespace vramscope::analysis
