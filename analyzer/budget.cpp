// Budget evaluation: each limit against each report, then the worst over all.
#include "analyzer/budget.h"

namespace vramscope::analysis {

namespace {

BudgetCheck peak_check(const Report& report, uint64_t limit) {
  BudgetCheck check{BudgetName::MaxPeak, limit, 0, true, std::nullopt};
  const DeviceReport* highest = nullptr;
  for (const DeviceReport& d : report.devices) {
    if (highest == nullptr || d.peak.bytes > highest->peak.bytes) highest = &d;
  }
  if (highest != nullptr) {
    check.value = highest->peak.bytes;
    if (check.value > 0 && !highest->peak.sites.empty()) check.site = highest->peak.sites.front().site;
  }
  return check;
}

BudgetCheck leak_check(const Report& report, uint64_t limit) {
  BudgetCheck check{BudgetName::MaxLeak, limit, report.leaks.bytes, true, std::nullopt};
  // Groups come by bytes descending; those outside the headline don't count.
  for (const LeakGroup& group : report.leaks.groups) {
    if (check.value > 0 && counts_as_leaked_memory(group.kind)) {
      check.site = group.site;
      break;
    }
  }
  return check;
}

BudgetCheck failed_check(const Report& report, uint64_t limit) {
  BudgetCheck check{BudgetName::MaxFailed, limit, report.failed_allocations.size(), true, std::nullopt};
  if (!report.failed_allocations.empty()) check.site = report.failed_allocations.front().site;
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
  }
  return "unknown";
}

bool counts_bytes(BudgetName name) { return name != BudgetName::MaxFailed; }

std::vector<BudgetCheck> check_budgets(const Report& report, const Budgets& budgets) {
  std::vector<BudgetCheck> checks;
  if (budgets.max_peak) checks.push_back(peak_check(report, *budgets.max_peak));
  if (budgets.max_leak) checks.push_back(leak_check(report, *budgets.max_leak));
  if (budgets.max_failed) checks.push_back(failed_check(report, *budgets.max_failed));
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
    BudgetOutcome outcome{first.name, first.limit, first.value, true, 0, first.site, {}};
    for (size_t t = 0; t < verdict.traces.size(); ++t) {
      const BudgetCheck& check = verdict.traces[t].checks[b];
      if (check.value > outcome.value) {
        outcome.value = check.value;
        outcome.worst_trace = t;
        outcome.site = check.site;
      }
      if (!check.passed) outcome.broken_by.push_back(t);
    }
    outcome.passed = outcome.broken_by.empty();
    verdict.budgets.push_back(std::move(outcome));
  }
  return verdict;
}

}  // namespace vramscope::analysis
