// Unit tests of budget evaluation (`vramscope check`) on hand-made reports.
#include <doctest/doctest.h>

#include "analyzer/budget.h"
#include "analyzer/budget_output.h"

using namespace vramscope::analysis;
using vramscope::trace::MemoryKind;

namespace {

constexpr uint64_t MiB = 1024 * 1024;

Site site(const std::string& function, const std::string& file, uint32_t line) {
  Site s;
  s.function = function;
  s.file = file;
  s.line = line;
  return s;
}

// Two devices (peaks 40 and 70 MiB), 12 MiB leaked of which the largest group
// is registered host memory (outside the headline), two failures.
Report job(int32_t rank, uint64_t scale = 1) {
  Report r;
  r.trace.path = "job.rank" + std::to_string(rank) + ".vstrace";
  r.trace.rank = rank;
  r.trace.pid = 100 + static_cast<uint32_t>(rank);
  DeviceReport d0;
  d0.ordinal = 0;
  d0.peak.bytes = 40 * MiB * scale;
  d0.peak.sites = {SiteBytes{site("small", "a.cpp", 1), 40 * MiB * scale, 1, {}, {}, {}}};
  DeviceReport d1;
  d1.ordinal = 1;
  d1.peak.bytes = 70 * MiB * scale;
  d1.peak.sites = {SiteBytes{site("weights", "model.cpp", 7), 50 * MiB * scale, 1, {}, {}, {}},
                   SiteBytes{site("acts", "model.cpp", 9), 20 * MiB * scale, 1, {}, {}, {}}};
  r.devices = {d0, d1};
  r.leaks.bytes = 12 * MiB * scale;
  r.leaks.count = 2;
  r.leaks.groups = {LeakGroup{MemoryKind::HostRegistered, 0, 64 * MiB, 1, site("pin", "io.cpp", 3), {}},
                    LeakGroup{MemoryKind::Device, 1, 12 * MiB * scale, 2, site("cache", "step.cpp", 21), {}}};
  FailedAllocation first;
  first.time_ns = 10;
  first.site = site("grow", "oom.cpp", 25);
  FailedAllocation second;
  second.time_ns = 20;
  second.site = site("other", "oom.cpp", 40);
  r.failed_allocations = {first, second};
  return r;
}

}  // namespace

TEST_CASE("budgets: values, limits and the site responsible for each") {
  std::vector<BudgetCheck> checks = check_budgets(job(0), Budgets{70 * MiB, 11 * MiB, 2});
  REQUIRE(checks.size() == 3);
  CHECK(checks[0].name == BudgetName::MaxPeak);
  CHECK(checks[0].value == 70 * MiB);
  CHECK(checks[0].passed);  // equal to the limit holds
  CHECK(checks[0].site->function == "weights");
  CHECK(checks[1].name == BudgetName::MaxLeak);
  CHECK(checks[1].value == 12 * MiB);
  CHECK_FALSE(checks[1].passed);
  CHECK(checks[1].site->function == "cache");  // registered host memory is not in the headline
  CHECK(checks[2].name == BudgetName::MaxFailed);
  CHECK(checks[2].value == 2);
  CHECK(checks[2].passed);
  CHECK(checks[2].site->function == "grow");
}

TEST_CASE("budgets: only those asked for; nothing leaked or failed has no site") {
  Report clean;
  clean.devices = {DeviceReport{}};
  std::vector<BudgetCheck> checks = check_budgets(clean, Budgets{std::nullopt, 0, 0});
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].name == BudgetName::MaxLeak);
  CHECK(checks[0].passed);
  CHECK_FALSE(checks[0].site.has_value());
  CHECK_FALSE(checks[1].site.has_value());
  CHECK(check_budgets(clean, Budgets{}).empty());
}

TEST_CASE("budgets over several traces: worst value, its site, the traces that broke it") {
  Verdict v = verdict_of({job(0), job(1, 2), job(2, 3)}, Budgets{100 * MiB, std::nullopt, std::nullopt});
  CHECK_FALSE(v.passed);
  REQUIRE(v.budgets.size() == 1);
  const BudgetOutcome& peak = v.budgets[0];
  CHECK(peak.value == 210 * MiB);
  CHECK(peak.worst_trace == 2);
  CHECK(peak.broken_by == std::vector<size_t>{1, 2});
  CHECK(peak.site->function == "weights");
  CHECK(v.traces[0].passed);
  CHECK_FALSE(v.traces[1].passed);

  std::string text = verdict_to_text(v);
  CHECK(text.find("max_peak    BROKEN  peak 210.00 MiB (limit 100.00 MiB) in rank 1, rank 2; worst rank 2: "
                  "weights (model.cpp:7)") != std::string::npos);
  CHECK(text.find("check failed: 1 of 1 budget broken") != std::string::npos);

  auto json = verdict_to_json(v);
  CHECK(json["passed"] == false);
  CHECK(json["budgets"][0]["name"] == "max_peak");
  CHECK(json["budgets"][0]["limit"] == 100 * MiB);
  CHECK(json["budgets"][0]["broken_by"] == nlohmann::ordered_json::array({1, 2}));
  CHECK(json["budgets"][0]["site"] ==
        nlohmann::ordered_json{{"function", "weights"}, {"file", "model.cpp"}, {"line", 7}});
  CHECK(json["traces"][1]["rank"] == 1);
  CHECK(json["traces"][1]["budgets"][0]["value"] == 140 * MiB);
}

TEST_CASE("budgets held: text says so") {
  Verdict v = verdict_of({job(0)}, Budgets{std::nullopt, std::nullopt, 5});
  CHECK(v.passed);
  CHECK(verdict_to_text(v) ==
        "vramscope check: job.rank0.vstrace\n"
        "  max_failed  ok      failed allocations 2 (limit 5)\n"
        "check passed: 1 budget held\n");
}
