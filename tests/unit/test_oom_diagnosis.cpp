// Unit tests of the fragmentation map and the OOM verdict rules, on traces and
// figures built by hand.
#include <doctest/doctest.h>

#include "analyzer/analysis.h"
#include "analyzer/budget.h"
#include "analyzer/cuda_errors.h"
#include "analyzer/diff.h"
#include "analyzer/fragmentation.h"
#include "analyzer/oom_diagnosis.h"
#include "analyzer/report_text.h"
#include "trace_builder.h"

using namespace vramscope;
using analysis::OomFacts;
using analysis::OomVerdict;
using analysis::rule_verdict;
using analysis::SiteTrend;
using trace::MemoryKind;
using vramscope::testing::TraceBuilder;

namespace {

constexpr uint64_t MiB = 1024 * 1024;

trace::Event& failed(TraceBuilder& b, uint64_t time, uint64_t size, uint64_t free, uint64_t total,
                     trace::StackId stack = {}) {
  trace::Event& e = b.add(trace::EventType::FailedAlloc, time);
  e.size = size;
  e.free_bytes = free;
  e.total_bytes = total;
  e.error = 2;
  e.stack = stack;
  return e;
}

}  // namespace

TEST_CASE("fragmentation: holes, largest hole and metric of a segment with blocks") {
  TraceBuilder b;
  b.alloc(1, 0x10000, 1000);                              // segment [0x10000, +1000)
  b.alloc(2, 0x10000 + 100, 200, {}, MemoryKind::Block);  // hole 100 before
  b.alloc(3, 0x10000 + 500, 100, {}, MemoryKind::Block);  // hole 200 between, 400 after
  b.alloc(4, 0x90000, 300);                               // a segment with no block data: used whole
  analysis::LiveMemory live;
  analysis::FragmentationTracker t;
  for (const trace::Event& e : b.trace.events.collect()) t.apply(e, live.apply(e), live);
  analysis::FragmentationFigures f = t.figures(0, live);
  CHECK(f.segments == 2);
  CHECK(f.segment_bytes == 1300);
  CHECK(f.block_bytes == 600);
  CHECK(f.total_free_bytes == 700);
  CHECK(f.largest_free_bytes == 400);
  CHECK(f.reserved_but_unallocated_bytes() == 700);
  CHECK(f.metric() == doctest::Approx(1.0 - 400.0 / 700.0));

  analysis::DeviceFragmentationMap map = t.map(0, live);
  REQUIRE(map.segments.size() == 2);
  REQUIRE(map.segments[0].holes.size() == 3);
  CHECK(map.segments[0].holes[0].address == 0x10000);
  CHECK(map.segments[0].holes[0].size == 100);
  CHECK(map.segments[0].holes[1].size == 200);
  CHECK(map.segments[0].holes[2].size == 400);
  CHECK_FALSE(map.segments[1].has_blocks);
  CHECK(map.segments[1].holes.empty());

  // A block returned merges its hole with its neighbours.
  trace::Event returned = b.free(5, 0x10000 + 500, MemoryKind::Block);
  t.apply(returned, live.apply(returned), live);
  f = t.figures(0, live);
  CHECK(f.total_free_bytes == 800);
  CHECK(f.largest_free_bytes == 700);
  // The segment freed takes its holes with it.
  trace::Event freed = b.free(6, 0x10000);
  t.apply(freed, live.apply(freed), live);
  f = t.figures(0, live);
  CHECK(f.total_free_bytes == 0);
  CHECK(f.largest_free_bytes == 0);
  CHECK(f.metric() == 0.0);
  CHECK(f.segment_bytes == 300);

  // The map at a moment replays the events up to it.
  analysis::DeviceFragmentationMap at3 = analysis::fragmentation_at(b.trace, 0, 3);
  CHECK(at3.figures.largest_free_bytes == 400);
  CHECK(at3.segments.size() == 1);
}

TEST_CASE("fragmentation: a segment that ends at the top of the address space has its blocks and holes") {
  // Its end, start + size, is 2^64: found by the report fuzzer, whose
  // memory map's holes did not add up to the free bytes counted. The block
  // was left out as overlapping its segment's end, and the map showed no
  // hole where 2 MiB were counted free.
  constexpr uint64_t start = UINT64_MAX - 2 * MiB + 1;
  TraceBuilder b;
  b.alloc(1, start, 2 * MiB);
  b.alloc(2, start + MiB, 512 * 1024, {}, MemoryKind::Block);
  analysis::LiveMemory live;
  analysis::FragmentationTracker t;
  for (const trace::Event& e : b.trace.events.collect()) t.apply(e, live.apply(e), live);
  const analysis::FragmentationFigures f = t.figures(0, live);
  CHECK(f.block_bytes == 512 * 1024);
  CHECK(f.total_free_bytes == MiB + 512 * 1024);
  CHECK(f.largest_free_bytes == MiB);
  const analysis::DeviceFragmentationMap map = t.map(0, live);
  REQUIRE(map.segments.size() == 1);
  REQUIRE(map.segments[0].blocks.size() == 1);
  REQUIRE(map.segments[0].holes.size() == 2);
  CHECK(map.segments[0].holes[0].address == start);
  CHECK(map.segments[0].holes[0].size == MiB);
  CHECK(map.segments[0].holes[1].address == start + MiB + 512 * 1024);
  CHECK(map.segments[0].holes[1].size == 512 * 1024);

  // The block given back: one hole, the whole segment.
  const trace::Event returned = b.free(3, start + MiB, MemoryKind::Block);
  t.apply(returned, live.apply(returned), live);
  CHECK(t.figures(0, live).total_free_bytes == 2 * MiB);
  CHECK(t.figures(0, live).largest_free_bytes == 2 * MiB);
  REQUIRE(t.map(0, live).segments[0].holes.size() == 1);
  CHECK(t.map(0, live).segments[0].holes[0].size == 2 * MiB);
}

TEST_CASE("fragmentation map: a pointer and a VMM handle of one value are listed by address, then kind") {
  // The live set's order is no order: whichever was made first, the device
  // memory comes before the physical allocation (kind 0 before 6).
  for (bool pointer_first : {true, false}) {
    CAPTURE(pointer_first);
    TraceBuilder b;
    if (pointer_first) b.alloc(1, 0x4000, 1000);
    b.alloc(2, 0x4000, 2 * MiB, {}, MemoryKind::VirtualPhysical);
    if (!pointer_first) b.alloc(3, 0x4000, 1000);
    b.alloc(4, 0x2000, 300);
    analysis::LiveMemory live;
    analysis::FragmentationTracker t;
    for (const trace::Event& e : b.trace.events.collect()) t.apply(e, live.apply(e), live);
    analysis::DeviceFragmentationMap map = t.map(0, live);
    REQUIRE(map.segments.size() == 3);
    CHECK(map.segments[0].range.address == 0x2000);
    CHECK(map.segments[1].range.address == 0x4000);
    CHECK(map.segments[1].kind == MemoryKind::Device);
    CHECK(map.segments[1].range.size == 1000);
    CHECK(map.segments[2].kind == MemoryKind::VirtualPhysical);
    CHECK(map.segments[2].range.size == 2 * MiB);
  }
}

TEST_CASE("fragmentation in the report: at the peak and the worst moment") {
  TraceBuilder b;
  b.alloc(1, 0x10000, 1000);
  b.alloc(2, 0x10000, 250, {}, MemoryKind::Block);
  b.alloc(3, 0x10000 + 250, 250, {}, MemoryKind::Block);
  b.alloc(4, 0x10000 + 500, 250, {}, MemoryKind::Block);
  b.free(5, 0x10000 + 250, MemoryKind::Block);  // holes 250 and 250: metric 0.5
  b.free(6, 0x10000, MemoryKind::Block);        // holes 500 and 250: metric 1/3
  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.devices.size() == 1);
  const analysis::DeviceFragmentation& f = r.devices[0].fragmentation;
  CHECK(f.has_block_data);
  REQUIRE(f.at_peak);
  CHECK(f.at_peak->time_ns == 1);
  CHECK(f.at_peak->block_bytes == 1000);  // no block data yet: the segment counts as used
  REQUIRE(f.worst);
  CHECK(f.worst->time_ns == 5);
  CHECK(f.worst->metric == doctest::Approx(0.5));
  CHECK(f.worst->largest_free_bytes == 250);
}

TEST_CASE("verdict rules, in their order") {
  OomFacts f;
  f.requested_bytes = 256 * MiB;
  f.total_bytes = 1024 * MiB;
  f.free_bytes = 100 * MiB;
  f.reserved_bytes = 512 * MiB;
  f.allocated_bytes = 512 * MiB;
  f.live_segments = 2;
  SUBCASE("not out of memory: an error other than CUDA_ERROR_OUT_OF_MEMORY comes before every rule") {
    f.error = 800;  // CUDA_ERROR_NOT_PERMITTED; the facts alone would say another process
    CHECK(rule_verdict(f, {}).verdict == OomVerdict::NotOutOfMemory);
    CHECK(analysis::is_out_of_memory(2));
    CHECK(analysis::is_out_of_memory(0));
    CHECK_FALSE(analysis::is_out_of_memory(800));  // CUDA_ERROR_NOT_PERMITTED
    CHECK_FALSE(analysis::is_out_of_memory(1));    // CUDA_ERROR_INVALID_VALUE
  }
  SUBCASE("another process: 412 MiB outside, more than the 156 MiB shortfall and 10% of the device") {
    CHECK(rule_verdict(f, {}).verdict == OomVerdict::AnotherProcess);
    analysis::OomEvidence e = analysis::evidence_of(f);
    CHECK(e.outside_process_bytes == 412 * MiB);
    CHECK(e.shortfall_bytes == 156 * MiB);
  }
  SUBCASE("within one granularity per segment of nothing outside: not another process") {
    f.reserved_bytes = 924 * MiB - 3 * MiB;  // 3 MiB "outside" with 2 segments: rounding
    f.allocated_bytes = f.reserved_bytes;
    CHECK(rule_verdict(f, {}).verdict == OomVerdict::OverSubscription);
  }
  f.reserved_bytes = 924 * MiB;
  SUBCASE("fragmentation: enough free in segments, no hole big enough") {
    f.has_block_data = true;
    f.allocated_bytes = 600 * MiB;
    f.total_free_bytes = 324 * MiB;
    f.largest_free_bytes = 200 * MiB;
    CHECK(rule_verdict(f, {}).verdict == OomVerdict::Fragmentation);
    f.largest_free_bytes = 256 * MiB;  // it would fit: the cache was not the problem
    CHECK(rule_verdict(f, {}).verdict == OomVerdict::OverSubscription);
  }
  SUBCASE("outsized request: over half the device") {
    f.requested_bytes = 600 * MiB;
    CHECK(rule_verdict(f, {}).verdict == OomVerdict::OutsizedRequest);
  }
  SUBCASE("outsized request: more than all this process held") {
    f.total_bytes = 16384 * MiB;
    f.free_bytes = 100 * MiB;
    f.reserved_bytes = f.allocated_bytes = 16284 * MiB;
    f.requested_bytes = 16300 * MiB;
    CHECK(rule_verdict(f, {}).verdict == OomVerdict::OutsizedRequest);
  }
  SUBCASE("leak: one site climbs every quarter and holds half, after frees") {
    f.allocated_bytes = 924 * MiB;
    f.freed_before = true;
    SiteTrend climbing{{100 * MiB, 200 * MiB, 300 * MiB}, 500 * MiB};
    SiteTrend flat{{424 * MiB, 424 * MiB, 424 * MiB}, 424 * MiB};
    analysis::RuledVerdict v = rule_verdict(f, {flat, climbing});
    CHECK(v.verdict == OomVerdict::Leak);
    CHECK(v.leak_site == 1);
    f.freed_before = false;  // only ever allocating: filling up, not leaking
    CHECK(rule_verdict(f, {flat, climbing}).verdict == OomVerdict::OverSubscription);
    f.freed_before = true;
    SiteTrend dip{{100 * MiB, 300 * MiB, 200 * MiB}, 500 * MiB};
    CHECK(rule_verdict(f, {flat, dip}).verdict == OomVerdict::OverSubscription);
  }
  SUBCASE("over-subscription otherwise") { CHECK(rule_verdict(f, {}).verdict == OomVerdict::OverSubscription); }
}

TEST_CASE("diagnosis in the report: a leak found from the trace, with its site") {
  TraceBuilder b;
  b.device(0, "gpu", 1000 * MiB);
  auto leaky = b.stack({{"main", "train.py", 1}, {"cache_stats", "train.py", 5}});
  auto work = b.stack({{"main", "train.py", 1}, {"workspace", "train.py", 9}});
  uint64_t t = 1;
  for (uint64_t step = 0; step < 8; ++step) {
    b.alloc(t++, 0x100000 + step * 0x10000000, 100 * MiB, work);
    b.free(t++, 0x100000 + step * 0x10000000);
    b.alloc(t++, 0x80000000 + step * 0x10000000, 100 * MiB, leaky);
  }
  failed(b, t++, 300 * MiB, 200 * MiB, 1000 * MiB, work);
  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.failed_allocations.size() == 1);
  const analysis::OomDiagnosis& d = r.failed_allocations[0].diagnosis;
  CHECK(d.verdict == OomVerdict::Leak);
  CHECK(d.evidence.allocated_bytes == 800 * MiB);
  CHECK(d.evidence.shortfall_bytes == 100 * MiB);
  REQUIRE(d.sites.size() == 1);
  CHECK(d.sites[0].site.function == "cache_stats");
  CHECK(d.sites[0].bytes == 800 * MiB);
  REQUIRE(d.grew);
  CHECK(d.grew->site.function == "cache_stats");
  CHECK(d.grew->growth_bytes == 600 * MiB);  // from 200 MiB after the first quarter (6 of 24 events)
  CHECK(d.explanation.find("800.00 MiB") != std::string::npos);
}

TEST_CASE("diagnosis in the report: a request refused with memory free is not out of memory") {
  // As PyTorch's expandable segments on an H200: cuMemCreate of 20 MiB answered
  // CUDA_ERROR_NOT_PERMITTED with 139 GiB free, and the job went on.
  TraceBuilder b;
  b.device(0, "gpu", 1000 * MiB);
  auto work = b.stack({{"main", "train.py", 1}, {"workspace", "train.py", 9}});
  b.alloc(1, 0x100000, 100 * MiB, work);
  failed(b, 2, 20 * MiB, 900 * MiB, 1000 * MiB, work).error = 800;
  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.failed_allocations.size() == 1);
  CHECK(r.failed_allocations[0].error_name == "CUDA_ERROR_NOT_PERMITTED");
  const analysis::OomDiagnosis& d = r.failed_allocations[0].diagnosis;
  CHECK(d.verdict == OomVerdict::NotOutOfMemory);
  CHECK(d.sites.empty());
  CHECK_FALSE(d.grew);
  CHECK(
      d.explanation ==
      "The 20.00 MiB request failed with CUDA_ERROR_NOT_PERMITTED, not for lack of memory: 900.00 MiB of the "
      "device's 1000.00 MiB was free.");
}

TEST_CASE("an allocator's failed tries at the driver are one request with its own notice") {
  // As PyTorch runs out: cuMemAlloc fails, the allocator gives back its cache,
  // cuMemAlloc fails again, and the allocator says so; the merge marks the
  // tries as the allocator's. Between them, another device runs out on its
  // own, and at the end a try whose notice the trace never got.
  TraceBuilder b;
  b.device(0, "gpu0", 1000 * MiB);
  b.device(1, "gpu1", 1000 * MiB);
  auto step = b.stack({{"main", "train.py", 1}, {"step", "train.py", 47}});
  b.alloc(1'000'000, 0x100000, 400 * MiB, step);
  const auto driver_try = [&](uint64_t time) -> trace::Event& {
    trace::Event& e = failed(b, time, 600 * MiB, 500 * MiB, 1000 * MiB);
    e.api = trace::Api::cuMemAlloc;
    e.via = trace::Api::cachingAllocator;
    return e;
  };
  driver_try(2'000'000);
  auto other_site = b.stack({{"main", "train.py", 1}, {"evaluate", "train.py", 60}});
  trace::Event& other = failed(b, 3'000'000, 2000 * MiB, 1000 * MiB, 1000 * MiB, other_site);
  other.api = trace::Api::cuMemAlloc;
  other.via = trace::Api::cudaMalloc;
  other.device = 1;
  driver_try(4'000'000);
  failed(b, 5'000'000, 590 * MiB, 500 * MiB, 1000 * MiB, step).api = trace::Api::cachingAllocator;
  driver_try(6'000'000);

  analysis::Report r = analysis::analyze_trace(b.trace);
  REQUIRE(r.failed_allocations.size() == 5);
  const auto& f = r.failed_allocations;
  CHECK(f[0].attempt_of == size_t{3});
  CHECK_FALSE(f[1].attempt_of);
  CHECK(f[2].attempt_of == size_t{3});
  CHECK_FALSE(f[3].attempt_of);
  CHECK(f[3].driver_attempts == 2);
  CHECK_FALSE(f[4].attempt_of);  // cut short before its notice: a failure of its own
  CHECK(f[4].driver_attempts == 0);
  CHECK(analysis::failed_request_count(f) == 3);
  CHECK(analysis::out_of_memory_count(f) == 3);

  // The text: three failures, the notice with its tries under it.
  const std::string text = analysis::report_to_text(r);
  CHECK(text.find("Failed allocations: 3 (with 2 failed tries of the allocator at the driver)\n") !=
        std::string::npos);
  CHECK(text.find(
            "  5.000 ms  device 0  caching allocator: 590.00 MiB requested, CUDA_ERROR_OUT_OF_MEMORY (2)\n"
            "      free 500.00 MiB of 1000.00 MiB; this process held 400.00 MiB on the device\n"
            "      its tries at the driver failed first: cuMemAlloc 600.00 MiB at 2.000 ms, cuMemAlloc "
            "600.00 MiB\n"
            "      at 4.000 ms.\n") != std::string::npos);
  CHECK(text.find("  2.000 ms") == std::string::npos);  // not a failure line of its own

  // A budget of 2 failures is broken by 3, not by 5; a diff counts 3.
  analysis::Budgets budgets;
  budgets.max_failed = 2;
  const std::vector<analysis::BudgetCheck> checks = analysis::check_budgets(r, budgets);
  REQUIRE(checks.size() == 1);
  CHECK(checks[0].value == 3);
  CHECK_FALSE(checks[0].passed);
  REQUIRE(checks[0].site);
  CHECK(checks[0].site->function == "evaluate");  // the first request that failed
  CHECK(analysis::diff_reports(r, r).failed_allocations.after == 3);
}
