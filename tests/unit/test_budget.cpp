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

Budgets peak_leak_failed(std::optional<uint64_t> peak, std::optional<uint64_t> leak,
                         std::optional<uint64_t> failed) {
  Budgets budgets;
  budgets.max_peak = peak;
  budgets.max_leak = leak;
  budgets.max_failed = failed;
  return budgets;
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
  r.leaks.groups = {
      LeakGroup{MemoryKind::HostRegistered, 0, 64 * MiB, 1, site("pin", "io.cpp", 3), {}, false, false},
      LeakGroup{MemoryKind::Device, 1, 12 * MiB * scale, 2, site("cache", "step.cpp", 21), {}, true, false}};
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
  std::vector<BudgetCheck> checks = check_budgets(job(0), peak_leak_failed(70 * MiB, 11 * MiB, 2));
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

TEST_CASE("budgets: --max-failed counts allocations that ran out of memory, not requests refused otherwise") {
  Report r = job(0);
  r.failed_allocations[0].diagnosis.verdict = OomVerdict::NotOutOfMemory;  // "grow", refused with memory free
  std::vector<BudgetCheck> checks = check_budgets(r, peak_leak_failed(std::nullopt, std::nullopt, 0));
  REQUIRE(checks.size() == 1);
  CHECK(checks[0].value == 1);
  CHECK_FALSE(checks[0].passed);
  CHECK(checks[0].site->function == "other");
  r.failed_allocations[1].diagnosis.verdict = OomVerdict::NotOutOfMemory;
  checks = check_budgets(r, peak_leak_failed(std::nullopt, std::nullopt, 0));
  CHECK(checks[0].value == 0);
  CHECK(checks[0].passed);
  CHECK_FALSE(checks[0].site.has_value());
}

TEST_CASE("budgets: only those asked for; nothing leaked or failed has no site") {
  Report clean;
  clean.devices = {DeviceReport{}};
  std::vector<BudgetCheck> checks = check_budgets(clean, peak_leak_failed(std::nullopt, 0, 0));
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].name == BudgetName::MaxLeak);
  CHECK(checks[0].passed);
  CHECK_FALSE(checks[0].site.has_value());
  CHECK_FALSE(checks[1].site.has_value());
  CHECK(check_budgets(clean, Budgets{}).empty());
}

TEST_CASE("budgets over several traces: worst value, its site, the traces that broke it") {
  Verdict v =
      verdict_of({job(0), job(1, 2), job(2, 3)}, peak_leak_failed(100 * MiB, std::nullopt, std::nullopt));
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
  Verdict v = verdict_of({job(0)}, peak_leak_failed(std::nullopt, std::nullopt, 5));
  CHECK(v.passed);
  CHECK(verdict_to_text(v) ==
        "vramscope check: job.rank0.vstrace\n"
        "  max_failed  ok      out-of-memory failures 2 (limit 5)\n"
        "check passed: 1 budget held\n");
}

namespace {

FragmentationReport fragmentation_at(uint64_t time_ns, double metric) {
  FragmentationReport f;
  f.time_ns = time_ns;
  f.metric = metric;
  return f;
}

// job(0) with an allocator's tensor blocks (peak 55 MiB inside the 70 MiB of
// segments), two growth leaks and fragmentation on both devices.
Report allocator_job() {
  Report r = job(0);
  r.kinds = {KindTotals{MemoryKind::Device, 5, 0, 110 * MiB, 110 * MiB, 0, 0},
             KindTotals{MemoryKind::Block, 40, 38, 300 * MiB, 55 * MiB, 0, 0}};
  GrowthLeak slow{MemoryKind::Device, 0, 256 * 1024, 10, 5 * MiB, site("slow", "step.cpp", 30), {}};
  GrowthLeak fast{MemoryKind::Device, 1, MiB, 4, 4 * MiB, site("fast", "step.cpp", 44), {}};
  r.growth_leaks = {slow, fast};  // by live bytes: the faster one is second
  r.devices[0].fragmentation.worst = fragmentation_at(1500000, 0.25);
  r.devices[1].fragmentation.worst = fragmentation_at(2500000, 0.75);
  return r;
}

}  // namespace

TEST_CASE("budgets: allocated peak from tensor blocks, reserved from segments, growth, fragmentation") {
  Budgets budgets;
  budgets.max_peak = 60 * MiB;
  budgets.max_reserved = 64 * MiB;
  budgets.max_growth = 512 * 1024;
  budgets.max_fragmentation = 0.75;
  std::vector<BudgetCheck> checks = check_budgets(allocator_job(), budgets);
  REQUIRE(checks.size() == 4);
  CHECK(checks[0].name == BudgetName::MaxPeak);
  CHECK(checks[0].value == 55 * MiB);  // the blocks, not the 70 MiB of segments
  CHECK(checks[0].passed);
  CHECK_FALSE(checks[0].site.has_value());  // the sites at the peak are segments
  CHECK(checks[1].name == BudgetName::MaxReserved);
  CHECK(checks[1].value == 70 * MiB);
  CHECK_FALSE(checks[1].passed);
  CHECK(checks[1].site->function == "weights");
  CHECK(checks[2].name == BudgetName::MaxGrowth);
  CHECK(checks[2].value == MiB);  // the fastest, not the one with the most live bytes
  CHECK_FALSE(checks[2].passed);
  CHECK(checks[2].site->function == "fast");
  CHECK(checks[3].name == BudgetName::MaxFragmentation);
  CHECK(checks[3].value == 0.75);
  CHECK(checks[3].passed);  // equal to the limit holds
  REQUIRE(checks[3].at.has_value());
  CHECK(checks[3].at->device == 1);
  CHECK(checks[3].at->time_ns == 2500000);
  CHECK_FALSE(checks[3].site.has_value());

  // Without tensor blocks the allocated peak is the device peak.
  CHECK(check_budgets(job(0), peak_leak_failed(60 * MiB, std::nullopt, std::nullopt))[0].value == 70 * MiB);
  // Nothing growing and nothing fragmented: 0, no site, no moment.
  Budgets clean_budgets;
  clean_budgets.max_growth = 0;
  clean_budgets.max_fragmentation = 0;
  std::vector<BudgetCheck> clean = check_budgets(job(0), clean_budgets);
  REQUIRE(clean.size() == 2);
  CHECK(clean[0].value == 0);
  CHECK(clean[0].passed);
  CHECK_FALSE(clean[0].site.has_value());
  CHECK(clean[1].value == 0);
  CHECK_FALSE(clean[1].at.has_value());
}

TEST_CASE("budgets: growth and fragmentation as text and JSON") {
  Budgets budgets;
  budgets.max_growth = 512 * 1024;
  budgets.max_fragmentation = 0.5;
  Verdict v = verdict_of({allocator_job()}, budgets);
  CHECK_FALSE(v.passed);
  CHECK(verdict_to_text(v) ==
        "vramscope check: job.rank0.vstrace\n"
        "  max_growth        BROKEN  growth 1.00 MiB per iteration (limit 512.00 KiB): fast (step.cpp:44)\n"
        "  max_fragmentation BROKEN  fragmentation 0.75 (limit 0.50): device 1 at 2.500 ms\n"
        "check failed: 2 of 2 budgets broken\n");
  auto json = verdict_to_json(v);
  CHECK(json["budgets"][0]["name"] == "max_growth");
  CHECK(json["budgets"][0]["value"] == MiB);
  CHECK(json["budgets"][0]["value"].is_number_unsigned());
  CHECK(json["budgets"][0]["at"].is_null());
  CHECK(json["budgets"][1]["name"] == "max_fragmentation");
  CHECK(json["budgets"][1]["limit"] == 0.5);
  CHECK(json["budgets"][1]["value"] == 0.75);
  CHECK(json["budgets"][1]["at"] == nlohmann::ordered_json{{"device", 1}, {"time_ns", 2500000}});
  CHECK(json["traces"][0]["budgets"][1]["at"]["device"] == 1);
}
