// Unit tests of the timeline pass on traces built by hand, where every byte of
// every bucket is known: totals, spikes, zoomed windows, kinds, sites,
// categories, blocks inside segments, and the queries it refuses.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/timeline.h"
#include "analyzer/timeline_output.h"
#include "formats/duration.h"
#include "trace_builder.h"
#include "training_loop.h"

using namespace vramscope;
using analysis::BucketValue;
using analysis::Timeline;
using analysis::TimelineGrouping;
using analysis::TimelineQuery;
using analysis::TimelineSeries;
using trace::MemoryKind;
using vramscope::testing::pop_range;
using vramscope::testing::push_range;
using vramscope::testing::TraceBuilder;
using vramscope::testing::training_loop;

namespace {

std::vector<uint64_t> maxes(const TimelineSeries& s) {
  std::vector<uint64_t> v;
  for (const BucketValue& b : s.buckets) v.push_back(b.max);
  return v;
}
std::vector<uint64_t> ends(const TimelineSeries& s) {
  std::vector<uint64_t> v;
  for (const BucketValue& b : s.buckets) v.push_back(b.end);
  return v;
}
using Bytes = std::vector<uint64_t>;

const TimelineSeries& group(const Timeline& t, const std::string& name) {
  for (const TimelineSeries& g : t.groups) {
    if (g.name == name) return g;
  }
  FAIL("no group " << name);
  return t.groups.front();
}

std::vector<std::string> group_names(const Timeline& t) {
  std::vector<std::string> names;
  for (const TimelineSeries& g : t.groups) names.push_back(g.name);
  return names;
}

TimelineQuery window(uint64_t from, uint64_t to, size_t buckets) {
  TimelineQuery q;
  q.from_ns = from;
  q.to_ns = to;
  q.buckets = buckets;
  return q;
}

// A 100-byte allocation at 5 (site make_a), 200 at 25 (make_b), a 1000-byte
// spike from 31 to 32 (make_spike), A freed at 45, 300 at 55 (make_c), B freed
// at 75, C at 95. Device 1 gets 5000 bytes at 50 that device 0 never sees.
TraceBuilder three_allocations() {
  TraceBuilder b;
  auto a = b.stack({{"main", "t.py", 1}, {"make_a", "m.py", 10}});
  auto bb = b.stack({{"main", "t.py", 2}, {"make_b", "m.py", 20}});
  auto spike = b.stack({{"main", "t.py", 3}, {"make_spike", "m.py", 30}});
  auto c = b.stack({{"main", "t.py", 4}, {"make_c", "m.py", 40}});
  b.device(0, "gpu0", 1 << 20);
  b.device(1, "gpu1", 1 << 20);
  b.alloc(5, 0x1000, 100, a);
  b.alloc(25, 0x2000, 200, bb);
  b.alloc(31, 0x9000, 1000, spike);
  b.free(32, 0x9000);
  b.free(45, 0x1000);
  b.alloc(50, 0x1000, 5000, a, MemoryKind::Device, 1);
  b.alloc(55, 0x3000, 300, c);
  b.free(75, 0x2000);
  b.free(95, 0x3000);
  return b;
}

}  // namespace

TEST_CASE("timeline: 10 buckets over [0, 100]: the highest value in each bucket and the value at its end") {
  TraceBuilder b = three_allocations();
  Timeline t = analysis::compute_timeline(b.trace, window(0, 100, 10));
  CHECK(t.device == 0);
  CHECK(t.device_name == "gpu0");
  CHECK(t.bucket_count == 10);
  CHECK(t.start_ns == 0);
  CHECK(t.end_ns == 100);
  CHECK(t.trace_end_ns == 95);
  CHECK(t.bucket_start(0) == 0);
  CHECK(t.bucket_start(3) == 30);
  CHECK(t.bucket_start(9) == 90);
  CHECK_FALSE(t.has_block_data);
  // The spike from 31 to 32 stays in bucket 3's max.
  CHECK(maxes(t.reserved) == Bytes{100, 100, 300, 1300, 300, 500, 500, 500, 300, 300});
  CHECK(ends(t.reserved) == Bytes{100, 100, 300, 300, 200, 500, 500, 300, 300, 0});
  CHECK(t.reserved.peak_bytes == 1300);
  // No tensor blocks: allocated is reserved.
  CHECK(maxes(t.allocated) == maxes(t.reserved));
  CHECK(ends(t.allocated) == ends(t.reserved));
  CHECK(t.groups.empty());
}

TEST_CASE("timeline: zoomed out, the spike is still the max; zoomed in, the value at the start counts") {
  TraceBuilder b = three_allocations();
  Timeline whole = analysis::compute_timeline(b.trace, window(0, 100, 1));
  CHECK(maxes(whole.reserved) == Bytes{1300});
  CHECK(ends(whole.reserved) == Bytes{0});

  // From 40 to 60 in 2 buckets: 300 live when the window opens, A freed at 45, C made at 55.
  Timeline zoom = analysis::compute_timeline(b.trace, window(40, 60, 2));
  CHECK(zoom.bucket_start(1) == 50);
  CHECK(maxes(zoom.reserved) == Bytes{300, 500});
  CHECK(ends(zoom.reserved) == Bytes{200, 500});

  // A window between two events: the value then, constant.
  Timeline quiet = analysis::compute_timeline(b.trace, window(60, 70, 5));
  CHECK(maxes(quiet.reserved) == Bytes{500, 500, 500, 500, 500});
  CHECK(ends(quiet.reserved) == Bytes{500, 500, 500, 500, 500});

  // Uneven buckets: 3 over [0, 100) start at 0, 34 and 67.
  Timeline uneven = analysis::compute_timeline(b.trace, window(0, 100, 3));
  CHECK(uneven.bucket_start(1) == 34);
  CHECK(uneven.bucket_start(2) == 67);
  CHECK(maxes(uneven.reserved) == Bytes{1300, 500, 500});
  CHECK(ends(uneven.reserved) == Bytes{300, 500, 0});
}

TEST_CASE("timeline: the default window is the whole trace, at most one bucket per nanosecond") {
  TraceBuilder b = three_allocations();
  b.trace.end = trace::End{100, trace::EndReason::Exit, 0, 0};
  Timeline t = analysis::compute_timeline(b.trace, TimelineQuery{});
  CHECK(t.start_ns == 0);
  CHECK(t.end_ns == 100);
  CHECK(t.bucket_count == 100);  // 1000 asked, 100 ns
  CHECK(t.reserved.peak_bytes == 1300);
  CHECK(t.reserved.buckets[31].max == 1300);
  CHECK(t.reserved.buckets[31].end == 1300);
  CHECK(t.reserved.buckets[32].max == 1300);  // freed at 32: the bucket opens with it live
  CHECK(t.reserved.buckets[32].end == 300);
  CHECK(t.reserved.buckets[99].max == 0);

  // Without an End record the trace ends at its last event (95).
  TraceBuilder cut = three_allocations();
  TimelineQuery q;
  q.buckets = 19;
  Timeline c = analysis::compute_timeline(cut.trace, q);
  CHECK(c.end_ns == 95);
  CHECK(c.bucket_count == 19);
  CHECK(c.bucket_start(18) == 90);
  CHECK(c.reserved.buckets[18].max == 300);
  CHECK(c.reserved.buckets[18].end == 0);  // the free at exactly the window's end is in the last bucket
}

TEST_CASE("timeline: buckets of a given width; after the trace's end nothing is held") {
  TraceBuilder b = three_allocations();
  TimelineQuery q = window(0, 100, 1);
  q.resolution_ns = 30;
  Timeline t = analysis::compute_timeline(b.trace, q);
  CHECK(t.bucket_count == 4);
  CHECK(t.end_ns == 120);  // out to a whole bucket
  CHECK(t.bucket_start(3) == 90);
  CHECK(maxes(t.reserved) == Bytes{300, 1300, 500, 300});
  CHECK(ends(t.reserved) == Bytes{300, 500, 300, 0});

  // A live allocation at the trace's end (at 10) is held up to it, not after.
  TraceBuilder leak;
  leak.alloc(2, 0x10, 64);
  leak.trace.end = trace::End{10, trace::EndReason::Exit, 0, 0};
  Timeline l = analysis::compute_timeline(leak.trace, window(0, 20, 4));
  CHECK(maxes(l.reserved) == Bytes{64, 64, 64, 0});  // bucket 2 [10, 15) holds the end
  CHECK(ends(l.reserved) == Bytes{64, 64, 64, 0});

  // A window past the trace: all zero.
  Timeline after = analysis::compute_timeline(b.trace, window(200, 300, 10));
  CHECK(after.bucket_count == 10);
  CHECK(maxes(after.reserved) == Bytes(10, 0));
  CHECK(ends(after.allocated) == Bytes(10, 0));
  CHECK(after.reserved.peak_bytes == 0);
}

TEST_CASE("timeline by kind: device and async pool add up to reserved; managed and host memory do not") {
  TraceBuilder b;
  b.alloc(5, 0x1000, 100);
  b.alloc(15, 0x2000, 40, {}, MemoryKind::AsyncPool);
  b.alloc(16, 0x3000, 999, {}, MemoryKind::Managed);
  b.alloc(17, 0x4000, 777, {}, MemoryKind::PinnedHost);
  b.free(25, 0x1000);
  b.free(35, 0x2000, MemoryKind::AsyncPool);
  TimelineQuery q = window(0, 40, 4);
  q.by = TimelineGrouping::Kind;
  Timeline t = analysis::compute_timeline(b.trace, q);
  CHECK(group_names(t) == std::vector<std::string>{"device", "async pool"});
  CHECK(maxes(group(t, "device")) == Bytes{100, 100, 100, 0});
  CHECK(ends(group(t, "device")) == Bytes{100, 100, 0, 0});
  CHECK(maxes(group(t, "async pool")) == Bytes{0, 40, 40, 40});
  CHECK(ends(group(t, "async pool")) == Bytes{0, 40, 40, 0});
  CHECK(maxes(t.reserved) == Bytes{100, 140, 140, 40});
  CHECK(group(t, "device").peak_bytes == 100);
  CHECK(group(t, "async pool").peak_bytes == 40);
}

TEST_CASE("timeline by site: the top sites by peak, the rest added up in 'other'") {
  TraceBuilder b = three_allocations();
  TimelineQuery q = window(0, 100, 10);
  q.by = TimelineGrouping::Site;
  q.top = 2;
  Timeline t = analysis::compute_timeline(b.trace, q);
  REQUIRE(group_names(t) == std::vector<std::string>{"make_spike (m.py:30)", "make_c (m.py:40)", "other"});
  CHECK(t.groups[0].site->function == "make_spike");
  CHECK(t.groups[1].site->line == 40);
  CHECK_FALSE(t.groups[2].site.has_value());
  CHECK(t.folded_sites == 2);  // make_b and make_a
  CHECK(maxes(t.groups[0]) == Bytes{0, 0, 0, 1000, 0, 0, 0, 0, 0, 0});
  CHECK(ends(t.groups[0]) == Bytes(10, 0));
  CHECK(maxes(t.groups[1]) == Bytes{0, 0, 0, 0, 0, 300, 300, 300, 300, 300});
  CHECK(ends(t.groups[1]) == Bytes{0, 0, 0, 0, 0, 300, 300, 300, 300, 0});
  // make_a and make_b together: the max of their sum, not the sum of their maxes.
  CHECK(maxes(t.groups[2]) == Bytes{100, 100, 300, 300, 300, 200, 200, 200, 0, 0});
  CHECK(ends(t.groups[2]) == Bytes{100, 100, 300, 300, 200, 200, 200, 0, 0, 0});

  // Ranked by the peak inside the window: from 40 on, the spike is gone.
  TimelineQuery later = window(40, 100, 6);
  later.by = TimelineGrouping::Site;
  later.top = 2;
  Timeline l = analysis::compute_timeline(b.trace, later);
  CHECK(group_names(l) == std::vector<std::string>{"make_c (m.py:40)", "make_b (m.py:20)", "other"});
  CHECK(maxes(l.groups[2]) == Bytes{100, 0, 0, 0, 0, 0});  // make_a, freed at 45
  CHECK(l.folded_sites == 1);

  // Fewer sites with bytes in the window than `top`: make_spike, gone before
  // 40, falls in "other" (no bytes, left out), not past the series. Before
  // the fix it took series 2 + 5 of 6 (a heap overflow under ASan; the
  // report fuzzer found it).
  TimelineQuery all_sites = window(40, 100, 6);
  all_sites.by = TimelineGrouping::Site;
  Timeline s = analysis::compute_timeline(b.trace, all_sites);
  CHECK(group_names(s) ==
        std::vector<std::string>{"make_c (m.py:40)", "make_b (m.py:20)", "make_a (m.py:10)"});
  CHECK(maxes(s.groups[0]) == Bytes{0, 300, 300, 300, 300, 300});
  CHECK(maxes(s.groups[1]) == Bytes{200, 200, 200, 200, 0, 0});
  CHECK(maxes(s.groups[2]) == Bytes{100, 0, 0, 0, 0, 0});
  CHECK(maxes(s.allocated) == Bytes{300, 500, 500, 500, 300, 300});
  CHECK(s.folded_sites == 0);

  // Device 1: its own site, nothing of device 0.
  TimelineQuery other_device = window(0, 100, 2);
  other_device.by = TimelineGrouping::Site;
  other_device.device = 1;
  Timeline d = analysis::compute_timeline(b.trace, other_device);
  CHECK(d.device_name == "gpu1");
  CHECK(group_names(d) == std::vector<std::string>{"make_a (m.py:10)"});
  CHECK(maxes(d.reserved) == Bytes{0, 5000});
  CHECK(d.folded_sites == 0);
}

TEST_CASE("timeline by category: the report's categories, every bucket exact") {
  TraceBuilder b = training_loop(3);
  TimelineQuery q = window(0, 60, 6);
  q.by = TimelineGrouping::Category;
  Timeline t = analysis::compute_timeline(b.trace, q);
  REQUIRE(group_names(t) == std::vector<std::string>{"parameters", "gradients", "optimizer state",
                                                     "activations", "temporaries", "inputs", "workspaces"});
  CHECK(maxes(group(t, "parameters")) == Bytes{200, 200, 200, 200, 200, 100});
  CHECK(ends(group(t, "parameters")) == Bytes{200, 200, 200, 200, 100, 0});
  CHECK(maxes(group(t, "gradients")) == Bytes{200, 200, 200, 200, 200, 200});
  CHECK(ends(group(t, "gradients")) == Bytes{200, 200, 200, 200, 200, 0});
  CHECK(maxes(group(t, "optimizer state")) == Bytes{0, 200, 200, 200, 200, 200});
  CHECK(ends(group(t, "optimizer state")) == Bytes{0, 200, 200, 200, 200, 0});
  CHECK(maxes(group(t, "activations")) == Bytes{40, 40, 40, 40, 40, 0});
  CHECK(ends(group(t, "activations")) == Bytes{40, 0, 20, 40, 0, 0});
  CHECK(maxes(group(t, "temporaries")) == Bytes{0, 5, 5, 5, 5, 0});
  CHECK(ends(group(t, "temporaries")) == Bytes{0, 0, 0, 0, 0, 0});
  CHECK(maxes(group(t, "inputs")) == Bytes{10, 10, 10, 10, 10, 0});
  CHECK(ends(group(t, "inputs")) == Bytes{10, 0, 10, 10, 0, 0});
  CHECK(maxes(group(t, "workspaces")) == Bytes{7, 7, 7, 7, 7, 0});
  CHECK(ends(group(t, "workspaces")) == Bytes{7, 0, 0, 7, 0, 0});
  // Step 2's workspace at 25 is the report's peak: 600 kept + 10 + 40 + 7.
  CHECK(maxes(t.allocated) == Bytes{457, 600, 657, 657, 657, 500});
  CHECK(t.allocated.peak_bytes == analysis::analyze_trace(b.trace).devices.at(0).peak.bytes);

  // Zoomed on step 2 (22 to 34): what step 1 left is live when the window opens.
  TimelineQuery step2 = window(22, 34, 2);
  step2.by = TimelineGrouping::Category;
  Timeline z = analysis::compute_timeline(b.trace, step2);
  CHECK(maxes(group(z, "optimizer state")) == Bytes{200, 200});
  CHECK(maxes(group(z, "inputs")) == Bytes{10, 10});
  CHECK(ends(group(z, "inputs")) == Bytes{10, 0});
  CHECK(ends(group(z, "activations")) == Bytes{40, 0});
  CHECK(maxes(group(z, "temporaries")) == Bytes{5, 5});  // made at 27, freed at 28
  CHECK(ends(group(z, "temporaries")) == Bytes{5, 0});
  CHECK(ends(group(z, "workspaces")) == Bytes{0, 0});
  CHECK(maxes(z.allocated) == Bytes{657, 655});  // 600 kept, the input, 2 activations, a temporary

  // Up to 30: the events after the window do not count; the one at 30 does.
  TimelineQuery early = window(0, 30, 3);
  early.by = TimelineGrouping::Category;
  Timeline e = analysis::compute_timeline(b.trace, early);
  CHECK(ends(group(e, "temporaries")) == Bytes{0, 0, 5});
  CHECK(ends(group(e, "activations")) == Bytes{40, 0, 20});
  CHECK(ends(group(e, "inputs")) == Bytes{10, 0, 10});

  // Past the trace's end (54) nothing is held.
  TimelineQuery late = window(40, 80, 4);
  late.by = TimelineGrouping::Category;
  Timeline l = analysis::compute_timeline(b.trace, late);
  CHECK(maxes(group(l, "parameters")) == Bytes{200, 100, 0, 0});
  CHECK(ends(group(l, "parameters")) == Bytes{100, 0, 0, 0});
  CHECK(maxes(group(l, "optimizer state")) == Bytes{200, 200, 0, 0});
  CHECK(ends(group(l, "optimizer state")) == Bytes{200, 0, 0, 0});
}

TEST_CASE("timeline: tensor blocks are allocated, the segments around them reserved") {
  TraceBuilder b;
  auto segment = b.stack({{"allocator", "a.py", 1}});
  auto weights = b.stack({{"init_weights", "m.py", 2}});
  auto act = b.stack({{"activation", "m.py", 3}});
  b.alloc(1, 0x100000, 4096, segment);
  b.alloc(2, 0x100000, 1000, weights, MemoryKind::Block);
  b.alloc(12, 0x100400, 2000, act, MemoryKind::Block);
  b.free(13, 0x100400, MemoryKind::Block);
  b.alloc(22, 0x200000, 8192, segment);
  b.free(25, 0x100000, MemoryKind::Block);
  TimelineQuery q = window(0, 30, 3);
  Timeline t = analysis::compute_timeline(b.trace, q);
  CHECK(t.has_block_data);
  CHECK(maxes(t.allocated) == Bytes{1000, 3000, 1000});
  CHECK(ends(t.allocated) == Bytes{1000, 1000, 0});
  CHECK(maxes(t.reserved) == Bytes{4096, 4096, 12288});
  CHECK(ends(t.reserved) == Bytes{4096, 4096, 12288});

  q.by = TimelineGrouping::Kind;
  Timeline k = analysis::compute_timeline(b.trace, q);
  CHECK(group_names(k) == std::vector<std::string>{"device", "tensor block"});
  CHECK(maxes(group(k, "tensor block")) == maxes(t.allocated));
  CHECK(maxes(group(k, "device")) == maxes(t.reserved));

  // Sites and categories break down the blocks, not the segments.
  q.by = TimelineGrouping::Site;
  Timeline s = analysis::compute_timeline(b.trace, q);
  CHECK(group_names(s) == std::vector<std::string>{"activation (m.py:3)", "init_weights (m.py:2)"});
  CHECK(maxes(s.groups[0]) == Bytes{0, 2000, 0});
  CHECK(maxes(s.groups[1]) == Bytes{1000, 1000, 1000});
  q.by = TimelineGrouping::Category;
  Timeline c = analysis::compute_timeline(b.trace, q);
  uint64_t first_bucket = 0;
  for (const TimelineSeries& g : c.groups) first_bucket += g.buckets[0].end;
  CHECK(first_bucket == 1000);
}

TEST_CASE("timeline: no events or no device memory give empty series, not a crash") {
  TraceBuilder empty;
  for (TimelineGrouping by :
       {TimelineGrouping::None, TimelineGrouping::Kind, TimelineGrouping::Site, TimelineGrouping::Category}) {
    TimelineQuery q;
    q.by = by;
    Timeline t = analysis::compute_timeline(empty.trace, q);
    CHECK(t.bucket_count == 0);
    CHECK(t.allocated.buckets.empty());
    CHECK(t.reserved.buckets.empty());
    CHECK(t.groups.empty());
    CHECK(analysis::timeline_to_text(t).find("nothing to show") != std::string::npos);
    CHECK(analysis::timeline_to_json(t)["starts_ns"].empty());
  }
  TraceBuilder host;
  host.alloc(5, 0x10, 100, {}, MemoryKind::PinnedHost);
  host.alloc(6, 0x20, 100, {}, MemoryKind::Managed);
  Timeline h = analysis::compute_timeline(host.trace, TimelineQuery{});
  CHECK(h.bucket_count == 0);
  CHECK(h.reserved.buckets.empty());
}

TEST_CASE("timeline: queries it cannot answer throw invalid_argument with a message") {
  TraceBuilder b = three_allocations();
  CHECK_THROWS_WITH_AS(analysis::compute_timeline(b.trace, window(0, 100, 0)),
                       "a timeline needs at least 1 bucket", std::invalid_argument);
  CHECK_THROWS_WITH_AS(analysis::compute_timeline(b.trace, window(50, 50, 10)),
                       "the window is empty: it starts at 0.050 us and ends at 0.050 us",
                       std::invalid_argument);
  TimelineQuery past;
  past.from_ns = 500;  // after the trace's end (95), no --to
  CHECK_THROWS_WITH_AS(analysis::compute_timeline(b.trace, past),
                       "the window is empty: it starts at 0.500 us, not before the trace's end at 0.095 us",
                       std::invalid_argument);
  TimelineQuery device;
  device.device = 7;
  CHECK_THROWS_WITH_AS(analysis::compute_timeline(b.trace, device), "no device 7: the trace has devices 0, 1",
                       std::invalid_argument);
  TimelineQuery zero_width = window(0, 100, 1);
  zero_width.resolution_ns = 0;
  CHECK_THROWS_AS(analysis::compute_timeline(b.trace, zero_width), std::invalid_argument);
  TimelineQuery too_fine = window(0, 10'000'000'000, 1);
  too_fine.resolution_ns = 1;
  CHECK_THROWS_AS(analysis::compute_timeline(b.trace, too_fine), std::invalid_argument);
  CHECK_THROWS_AS(analysis::compute_timeline(b.trace, window(0, 100, analysis::kMaxTimelineBuckets + 1)),
                  std::invalid_argument);

  // A device no record lists, but events use: known.
  TraceBuilder unlisted;
  unlisted.alloc(1, 0x10, 8, {}, MemoryKind::Device, 3);
  TimelineQuery q3;
  q3.device = 3;
  CHECK(analysis::compute_timeline(unlisted.trace, q3).reserved.peak_bytes == 8);
}

TEST_CASE("timeline output: JSON columns per series, text a line per bucket") {
  TraceBuilder b = three_allocations();
  TimelineQuery q = window(0, 100, 4);
  q.by = TimelineGrouping::Site;
  q.top = 1;
  Timeline t = analysis::compute_timeline(b.trace, q);
  nlohmann::ordered_json j = analysis::timeline_to_json(t);
  CHECK(j["schema_version"] == 1);
  CHECK(j["by"] == "site");
  CHECK(j["top"] == 1);
  CHECK(j["folded_sites"] == 3);
  CHECK(j["buckets"] == 4);
  CHECK(j["starts_ns"] == nlohmann::json::array({0, 25, 50, 75}));
  CHECK(j["reserved"]["max"] == nlohmann::json::array({100, 1300, 500, 500}));
  CHECK(j["reserved"]["end"] == nlohmann::json::array({100, 200, 500, 0}));
  CHECK(j["groups"][0]["name"] == "make_spike (m.py:30)");
  CHECK(j["groups"][0]["site"]["function"] == "make_spike");
  CHECK(j["groups"][1]["site"].is_null());
  CHECK(j["device"]["name"] == "gpu0");

  std::string text = analysis::timeline_to_text(t);
  CHECK(text.find("[2]   other (3 sites)") != std::string::npos);
  CHECK(text.find("  0.025 us     1.27 KiB     1.27 KiB       1000 B        300 B\n") != std::string::npos);
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  // 6 lines of header (the last: the trace ends at 95, before the window), a
  // blank, 2 of legend, a blank, the column titles, then a line per bucket.
  CHECK(lines == 11 + 4);
  CHECK(text.find("  the trace ends at 0.095 us: nothing is held after\n") != std::string::npos);
}

TEST_CASE("durations: units ns, us, ms, s, fractions; only 0 without a unit") {
  CHECK(parse_duration("500us") == 500'000u);
  CHECK(parse_duration("10ms") == 10'000'000u);
  CHECK(parse_duration("2.5s") == 2'500'000'000u);
  CHECK(parse_duration("2.5 s") == 2'500'000'000u);
  CHECK(parse_duration("7ns") == 7u);
  CHECK(parse_duration("1.5ns") == 2u);  // to the nearest nanosecond
  CHECK(parse_duration("3\u00b5s") == 3'000u);
  CHECK(parse_duration("0") == 0u);
  CHECK(parse_duration(".5ms") == 500'000u);
  CHECK_FALSE(parse_duration("5").has_value());
  CHECK_FALSE(parse_duration("5m").has_value());
  CHECK_FALSE(parse_duration("-1s").has_value());
  CHECK_FALSE(parse_duration("s").has_value());
  CHECK_FALSE(parse_duration("1e3s").has_value());
  CHECK_FALSE(parse_duration("").has_value());
  CHECK_FALSE(parse_duration("10000000000s").has_value());  // past 292 years
}
