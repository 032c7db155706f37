// Unit tests of the cross-rank summary on hand-made reports.
#include <doctest/doctest.h>

#include "analyzer/ranks.h"
#include "analyzer/ranks_output.h"

using namespace vramscope::analysis;

namespace {

constexpr uint64_t MiB = 1024 * 1024;

Report rank(int32_t r, uint64_t start_unix_ns, uint64_t peak, std::vector<uint64_t> failure_times = {}) {
  Report report;
  report.trace.path = "/jobs/t.node1.rank" + std::to_string(r) + ".7" + std::to_string(r) + ".vstrace";
  report.trace.rank = r;
  report.trace.host = "node1";
  report.trace.pid = 70 + static_cast<uint32_t>(r);
  report.trace.start_unix_ns = start_unix_ns;
  DeviceReport d;
  d.peak.bytes = peak;
  report.devices = {d};
  for (uint64_t t : failure_times) {
    FailedAllocation f;
    f.time_ns = t;
    f.requested_bytes = 256 * MiB;
    f.error_name = "CUDA_ERROR_OUT_OF_MEMORY";
    f.site.function = "grow";
    f.site.file = "oom.cpp";
    f.site.line = 25;
    report.failed_allocations.push_back(f);
  }
  return report;
}

}  // namespace

TEST_CASE("ranks: the first failure in wall-clock time, not in trace time") {
  // Rank 1 fails 500 ns into its trace but started 10 us late; rank 3 fails
  // 2000 ns into a trace that started first.
  std::vector<Report> reports = {rank(0, 1'000'000, 40 * MiB), rank(1, 1'010'000, 80 * MiB, {500}),
                                 rank(2, 1'000'000, 20 * MiB), rank(3, 1'000'000, 60 * MiB, {2000, 3000})};
  reports[2].leaks.bytes = 5 * MiB;
  reports[3].trace.cut_short = true;
  RankSummary s = summarize_ranks(reports);
  REQUIRE(s.rows.size() == 4);
  CHECK(s.rows[1].peak_bytes == 80 * MiB);
  CHECK(s.rows[2].leaked_bytes == 5 * MiB);
  CHECK(s.rows[3].failed_allocations == 2);
  CHECK(s.peak_min == 20 * MiB);
  CHECK(s.peak_max == 80 * MiB);
  CHECK(s.peak_spread() == 60 * MiB);
  CHECK(*s.peak_ratio() == doctest::Approx(4.0));
  REQUIRE(s.first_failure.has_value());
  CHECK(s.first_failure->trace == 3);
  CHECK(s.first_failure->time_unix_ns == 1'002'000);

  std::string text = ranks_to_text(s);
  CHECK(text.find("vramscope report: 4 traces") != std::string::npos);
  CHECK(text.find("      3  node1                  73   60.00 MiB         0 B       2   yes  "
                  "t.node1.rank3.73.vstrace") != std::string::npos);
  CHECK(text.find("peak spread: 60.00 MiB (min 20.00 MiB, max 80.00 MiB, max/min 4.00)") !=
        std::string::npos);
  CHECK(text.find("first out of memory: rank 3 on node1, 2.000 us after the first trace began") !=
        std::string::npos);

  auto json = ranks_to_json(reports, s);
  CHECK(json["ranks"].size() == 4);
  CHECK(json["ranks"][1]["trace"]["start_unix_ns"] == 1'010'000);
  CHECK(json["summary"]["peak_spread_bytes"] == 60 * MiB);
  CHECK(json["summary"]["first_failure"]["rank"] == 3);
  CHECK(json["summary"]["first_failure"]["time_unix_ns"] == 1'002'000);
  CHECK(json["summary"]["rows"][3]["cut_short"] == true);
}

TEST_CASE("ranks: a request refused with memory free is no failure of the rank") {
  // Every rank of a PyTorch job with expandable segments has its cuMemCreate
  // probe refused at start; rank 1 then runs out of memory.
  std::vector<Report> reports = {rank(0, 1'000'000, 40 * MiB, {100}),
                                 rank(1, 1'000'000, 80 * MiB, {100, 900})};
  for (Report& r : reports) {
    r.failed_allocations[0].error_name = "CUDA_ERROR_NOT_PERMITTED";
    r.failed_allocations[0].diagnosis.verdict = OomVerdict::NotOutOfMemory;
  }
  RankSummary s = summarize_ranks(reports);
  CHECK(s.rows[0].failed_allocations == 0);
  CHECK(s.rows[1].failed_allocations == 1);
  REQUIRE(s.first_failure.has_value());
  CHECK(s.first_failure->trace == 1);
  CHECK(s.first_failure->time_unix_ns == 1'000'900);
}

TEST_CASE("ranks: no failures; a launcher with no device memory is left out of the spread") {
  RankSummary s = summarize_ranks({rank(-1, 0, 0), rank(0, 0, 8 * MiB), rank(1, 0, 6 * MiB)});
  CHECK(s.rows.size() == 3);
  CHECK(s.peak_min == 6 * MiB);
  CHECK(s.peak_spread() == 2 * MiB);
  CHECK(*s.peak_ratio() == doctest::Approx(4.0 / 3.0));
  CHECK_FALSE(s.first_failure.has_value());
  std::string text = ranks_to_text(s);
  CHECK(text.find("\n      -  node1                  69         0 B") != std::string::npos);
  CHECK(text.find("max 8.00 MiB, max/min 1.33)\nout of memory: none\n") != std::string::npos);
  CHECK(ranks_to_json({}, s)["summary"]["first_failure"].is_null());

  RankSummary none = summarize_ranks({rank(-1, 0, 0)});
  CHECK(none.peak_spread() == 0);
  CHECK_FALSE(none.peak_ratio().has_value());
  CHECK(ranks_to_text(none).find("(min 0 B, max 0 B, no trace held device memory)") != std::string::npos);
}
