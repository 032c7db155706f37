// The viewer's timeline levels (the highest value per pixel column at every
// zoom, against a direct scan of the finest buckets) and its window's zoom and pan.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "ui/timeline_levels.h"
#include "ui/timeline_window.h"

using namespace vramscope;

namespace {

// 1000 buckets of 1000 ns from 0: allocated, reserved and two categories at random.
analysis::Timeline random_timeline(std::mt19937_64& random) {
  analysis::Timeline t;
  t.start_ns = 0;
  t.end_ns = 1'000'000;
  t.bucket_count = 1000;
  auto fill = [&](const char* name) {
    analysis::TimelineSeries s;
    s.name = name;
    for (size_t b = 0; b < t.bucket_count; ++b) s.buckets.push_back({random() % 1'000'000, 0});
    return s;
  };
  t.allocated = fill("allocated");
  t.reserved = fill("reserved");
  t.groups = {fill("parameters"), fill("activations")};
  return t;
}

uint64_t scan(const analysis::TimelineSeries& s, uint64_t from_ns, uint64_t to_ns) {
  uint64_t highest = 0;
  for (size_t b = from_ns / 1000; b < std::min<uint64_t>(1000, (to_ns + 999) / 1000); ++b) {
    highest = std::max(highest, s.buckets[b].max);
  }
  return highest;
}

}  // namespace

TEST_CASE("timeline levels: columns on level boundaries are exact, others within one coarse bucket") {
  std::mt19937_64 random(5);
  const analysis::Timeline t = random_timeline(random);
  const ui::TimelineLevels levels(t);
  REQUIRE(levels.series_count() == 4);
  CHECK(levels.name(ui::TimelineLevels::kReserved) == "reserved");
  CHECK(levels.name(ui::TimelineLevels::kFirstGroup + 1) == "activations");
  CHECK(levels.level_count() == 11);  // 1000, 500, ..., 2, 1 buckets

  // Columns of 1, 4 and 64 buckets from the start: one level's buckets each.
  for (uint64_t width : {1000u, 4000u, 64'000u}) {
    CAPTURE(width);
    const size_t n = 1'000'000 / width;
    std::vector<uint64_t> out(n);
    levels.columns(ui::TimelineLevels::kReserved, 0, n * width, out);
    for (size_t c = 0; c < n; ++c) {
      CAPTURE(c);
      REQUIRE(out[c] == scan(t.reserved, c * width, (c + 1) * width));
    }
  }
  // Any window: never below the column's own highest, never above that of
  // the column widened by a bucket of the level used (no wider than a column) each side.
  for (int trial = 0; trial < 200; ++trial) {
    const uint64_t from = random() % 999'000;
    const uint64_t to = from + 1 + random() % (1'000'000 - from);
    const size_t n = 1 + random() % 700;
    std::vector<uint64_t> out(n);
    levels.columns(ui::TimelineLevels::kFirstGroup, from, to, out);
    const double column = static_cast<double>(to - from) / static_cast<double>(n);
    for (size_t c = 0; c < n; ++c) {
      const auto begin = static_cast<uint64_t>(static_cast<double>(from) + column * static_cast<double>(c));
      const auto end = static_cast<uint64_t>(static_cast<double>(from) + column * static_cast<double>(c + 1));
      const uint64_t slack = static_cast<uint64_t>(std::max(column, 1000.0)) + 1000;
      CHECK(out[c] >= scan(t.groups[0], begin, std::max(end, begin + 1)));
      CHECK(out[c] <= scan(t.groups[0], begin > slack ? begin - slack : 0, end + slack));
    }
  }
  // Outside the trace: nothing.
  std::vector<uint64_t> past(10);
  levels.columns(ui::TimelineLevels::kAllocated, 2'000'000, 3'000'000, past);
  CHECK(std::all_of(past.begin(), past.end(), [](uint64_t v) { return v == 0; }));
}

TEST_CASE("timeline levels: a trace of one instant (a snapshot without a trace) fills every column") {
  analysis::Timeline t;
  t.start_ns = 0;
  t.end_ns = 1;
  t.bucket_count = 1;
  t.allocated.buckets = {{7, 7}};
  t.reserved.buckets = {{9, 9}};
  const ui::TimelineLevels levels(t);
  CHECK(levels.level_count() == 1);
  std::vector<uint64_t> out(800);
  levels.columns(ui::TimelineLevels::kReserved, 0, 1, out);
  CHECK(std::count(out.begin(), out.end(), 9u) == 800);
}

TEST_CASE(
    "timeline window: zoom keeps the time under the cursor, stays in the trace, stops at a microsecond") {
  analysis::Timeline t;
  t.start_ns = 1'000;
  t.end_ns = 1'001'000;  // a millisecond
  ui::TimelineWindow w = ui::TimelineWindow::whole(t);
  CHECK(w.from_ns == 1'000);
  CHECK(w.to_ns == 1'001'000);

  // Halved at a quarter across: the time there (251000) stays a quarter across.
  w.zoom(0.5, 0.25, t);
  CHECK(w.from_ns == 126'000);
  CHECK(w.to_ns == 626'000);
  // Out past the whole trace: the whole trace, no further.
  w.zoom(8, 0.5, t);
  CHECK(w.from_ns == 1'000);
  CHECK(w.to_ns == 1'001'000);
  // In past a microsecond: a microsecond, at the cursor.
  w.zoom(1e-9, 0.5, t);
  CHECK(w.to_ns - w.from_ns == ui::TimelineWindow::kMinSpanNs);
  CHECK(w.from_ns == 500'500);

  // Panning: by a share of the span, never past either end.
  w = ui::TimelineWindow::whole(t);
  w.zoom(0.1, 0.0, t);  // the first 100 us
  CHECK(w.from_ns == 1'000);
  CHECK(w.to_ns == 101'000);
  w.pan(2.5, t);
  CHECK(w.from_ns == 251'000);
  CHECK(w.to_ns == 351'000);
  w.pan(-100, t);
  CHECK(w.from_ns == 1'000);
  w.pan(100, t);
  CHECK(w.to_ns == 1'001'000);
  CHECK(w.from_ns == 901'000);
}

TEST_CASE("timeline window: centred on a time, a share of the trace, the selections kept") {
  analysis::Timeline t;
  t.start_ns = 1'000;
  t.end_ns = 1'001'000;  // a millisecond
  ui::TimelineWindow w = ui::TimelineWindow::whole(t);
  w.zoom(0.01, 0.9, t);
  w.selected_ns = 5'000;
  w.selected_allocation = 7;
  w.range = std::pair<uint64_t, uint64_t>{2'000, 3'000};
  w.centre_on(501'000, 0.1, t);  // a tenth around the middle
  CHECK(w.from_ns == 451'000);
  CHECK(w.to_ns == 551'000);
  CHECK(w.selected_ns == 5'000);
  CHECK(w.selected_allocation == 7);
  CHECK(w.range == std::pair<uint64_t, uint64_t>{2'000, 3'000});
  w.centre_on(10'000, 0.1, t);  // near the start: the first tenth
  CHECK(w.from_ns == 1'000);
  CHECK(w.to_ns == 101'000);
}

TEST_CASE(
    "timeline window and columns at times past 2^53 ns: the last nanosecond reached, nothing after it") {
  // A damaged trace's times can be anything. Doubles step by 2 ns past 2^53
  // and by 2,048 just under 2^64, where one more step has no uint64_t.
  for (const uint64_t end : {uint64_t{17'059'708'644'699'461}, UINT64_MAX}) {
    CAPTURE(end);
    analysis::Timeline t;
    t.start_ns = 0;
    t.end_ns = end;
    t.bucket_count = 4;
    t.allocated.buckets = {{1, 1}, {2, 2}, {3, 3}, {4, 4}};
    t.reserved.buckets = t.allocated.buckets;
    ui::TimelineWindow w = ui::TimelineWindow::whole(t);
    w.zoom(1e-30, 1.0, t);  // the last microsecond
    CHECK(w.from_ns == end - 1'000);
    CHECK(w.to_ns == end);
    w.pan(-1e30, t);
    CHECK(w.from_ns == 0);
    CHECK(w.to_ns == 1'000);
    w.pan(1e30, t);
    CHECK(w.from_ns == end - 1'000);
    CHECK(w.to_ns == end);
    w.zoom(1e30, 0.5, t);
    CHECK(w.from_ns == 0);
    CHECK(w.to_ns == end);

    // The last microsecond in 8 columns, each in the last bucket; past the end, nothing.
    const ui::TimelineLevels levels(t);
    std::vector<uint64_t> out(8);
    levels.columns(ui::TimelineLevels::kAllocated, end - 1'000, end, out);
    CHECK(std::count(out.begin(), out.end(), 4u) == 8);
    if (end < UINT64_MAX) {
      levels.columns(ui::TimelineLevels::kAllocated, end, end + 1'000, out);
      CHECK(std::count(out.begin(), out.end(), 0u) == 8);
    }
  }
}

TEST_CASE("a timeline at the last nanosecond of uint64_t: one nanosecond wide in the window and the levels") {
  // A damaged trace can start and end at 2^64 - 1; the window, the levels
  // and the memory map share one rule for its extent (TimelineWindow::spanning).
  analysis::Timeline t;
  t.start_ns = UINT64_MAX;
  t.end_ns = UINT64_MAX;
  t.bucket_count = 1;
  t.allocated.buckets = {{5, 5}};
  t.reserved.buckets = {{6, 6}};
  const ui::TimelineWindow w = ui::TimelineWindow::whole(t);
  CHECK(w.from_ns == UINT64_MAX - 1);
  CHECK(w.to_ns == UINT64_MAX);
  const ui::TimelineLevels levels(t);
  CHECK(levels.start_ns() == UINT64_MAX - 1);
  CHECK(levels.end_ns() == UINT64_MAX);
  std::vector<uint64_t> out(800);
  levels.columns(ui::TimelineLevels::kReserved, w.from_ns, w.to_ns, out);
  CHECK(std::count(out.begin(), out.end(), 6u) == 800);
  CHECK(ui::TimelineWindow::spanning(3, 3).from_ns == 3);
  CHECK(ui::TimelineWindow::spanning(3, 3).to_ns == 4);
  CHECK(ui::TimelineWindow::spanning(3, 9).to_ns == 9);
}
