// The viewer's headless mode under Xvfb: screenshots of sample traces, with
// the pixels asserted where the layout puts them (ui/timeline_view.h: the
// plot from x = 90 to width - 16 and from y = 28 to height - 44; the top of
// the plot is 1.1 times the capacity when the capacity is at most twice the
// highest reserved bytes, else 1.1 times those).
#include <doctest/doctest.h>
#include <stb_image.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

using namespace vramscope::testing;

namespace {

struct Rgb {
  uint8_t r, g, b;
  bool operator==(const Rgb&) const = default;
};

// The viewer's colours (ui/palette.h), written out again: a change there must show here.
constexpr Rgb kCapacity{255, 215, 0};
constexpr Rgb kOom{255, 0, 255};
constexpr Rgb kIteration{90, 90, 100};
const std::array<std::pair<const char*, Rgb>, 6> kCategories = {{
    {"parameters", {31, 119, 180}},
    {"gradients", {255, 127, 14}},
    {"optimizer state", {44, 160, 44}},
    {"activations", {214, 39, 40}},
    {"temporaries", {148, 103, 189}},
    {"inputs", {140, 86, 75}},
}};

constexpr int kLeft = 90, kRight = 16, kTop = 28, kBottom = 44;

class Image {
 public:
  explicit Image(const std::string& path) {
    int channels = 0;
    unsigned char* data = stbi_load(path.c_str(), &width_, &height_, &channels, 3);
    REQUIRE(data != nullptr);
    pixels_.assign(data, data + static_cast<size_t>(width_) * height_ * 3);
    stbi_image_free(data);
  }
  int width() const { return width_; }
  int height() const { return height_; }
  Rgb at(int x, int y) const {
    const size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
    return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
  }
  // Pixels of `colour` inside the plot.
  size_t count_in_plot(Rgb colour) const {
    size_t n = 0;
    for (int y = kTop; y < height_ - kBottom; ++y) {
      for (int x = kLeft; x < width_ - kRight; ++x) n += at(x, y) == colour;
    }
    return n;
  }

 private:
  int width_ = 0, height_ = 0;
  std::vector<unsigned char> pixels_;
};

// `vramscope view TRACE --screenshot PNG --view VIEW --size WxH [EXTRA...]` under xvfb-run.
ProcessResult screenshot(const std::string& trace, const std::string& png, const std::string& view,
                         const std::string& size, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> command = {"xvfb-run",    "-a",     "-s",  "-screen 0 1280x1024x24",
                                      VRAMSCOPE_BIN, "view",   trace, "--screenshot",
                                      png,           "--view", view,  "--size",
                                      size};
  command.insert(command.end(), extra.begin(), extra.end());
  return run_process(command);
}

// The same, which must succeed: the image it wrote.
Image rendered(const std::string& trace, const std::string& png, const std::string& view,
               const std::string& size, const std::vector<std::string>& extra = {}) {
  ProcessResult shot = screenshot(trace, png, view, size, extra);
  INFO("stderr: " << shot.err);
  REQUIRE(shot.exit_status == 0);
  return Image(png);
}

// The centre of the button (Dear ImGui's button colour) on the row of a
// diagnosis line's mark of `mark` colour; its place depends on the text before it.
std::pair<int, int> button_by_mark(const Image& image, Rgb mark) {
  constexpr Rgb kButton{40, 74, 117};
  int top = -1, bottom = -1;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = 0; x < 40; ++x) {
      if (image.at(x, y) == mark) {
        if (top < 0) top = y;
        bottom = y;
      }
    }
  }
  REQUIRE(top > 0);
  const int row = (top + bottom) / 2;
  int first = -1, last = -1;
  for (int x = 40; x < image.width(); ++x) {
    if (image.at(x, row) == kButton) {
      if (first < 0) first = x;
      last = x;
    }
  }
  REQUIRE(first > 0);
  return {(first + last) / 2, row};
}

// train_mlp with Adam on 112 MiB, profiled into `dir`: the trace's path.
std::string adam_trace(const ScratchDir& dir) {
  const std::string trace = dir.path("adam.vstrace");
  run_profiled(trace, {sample("train_mlp"), "--optimizer", "adam"}, {"--simulate=112MiB"});
  return trace;
}

// Script steps: key 6 (the diagnosis), a click at `at`, the mouse moved away.
std::string click_in_diagnosis(std::pair<int, int> at) {
  return "key 6; move " + std::to_string(at.first) + " " + std::to_string(at.second) +
         "; press left; release left; move 990 490";
}

}  // namespace

TEST_CASE("viewer timeline of train_mlp (Adam) on 112 MiB: the capacity line, every category, the steps") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-adam");
  const std::string trace = adam_trace(dir);
  const std::string png = dir.path("timeline.png");
  const Image image = rendered(trace, png, "timeline", "800x1000");
  REQUIRE(image.width() == 800);
  REQUIRE(image.height() == 1000);

  // 112 MiB is under twice the peak (65.6 MiB): the plot's top is 123.2 MiB,
  // and 112 MiB is 843.6 of its 928 rows up from y = 956, at y = 112: the
  // 2-pixel line fills rows 112 and 113 across the plot.
  std::set<int> capacity_rows;
  for (int y = kTop; y < 1000 - kBottom; ++y) {
    int run = 0;
    for (int x = kLeft; x < 800 - kRight; ++x) run += image.at(x, y) == kCapacity;
    if (run >= (800 - kRight - kLeft) * 3 / 4) capacity_rows.insert(y);
  }
  CHECK(capacity_rows == std::set<int>{112, 113});

  for (const auto& [name, colour] : kCategories) {
    CAPTURE(name);
    CHECK(image.count_in_plot(colour) > 0);
  }
  // Three steps, each an NVTX range: a mark at each start, seen above the bands.
  std::set<int> step_columns;
  for (int x = kLeft; x < 800 - kRight; ++x) {
    if (image.at(x, 200) == kIteration) step_columns.insert(x);
  }
  CHECK(step_columns.size() == 3);
  CHECK(image.count_in_plot(kOom) == 0);  // nothing failed

  // By site (the top 8 and "other"): the sites' colours in turn, no category's.
  const Image by_site = rendered(trace, dir.path("sites.png"), "timeline", "800x1000", {"--by", "site"});
  const Rgb kSites[] = {{78, 121, 167}, {242, 142, 43}, {225, 87, 89}, {118, 183, 178}};
  for (const Rgb& colour : kSites) CHECK(by_site.count_in_plot(colour) > 0);
  for (const auto& [name, colour] : kCategories) {
    CAPTURE(name);
    CHECK(by_site.count_in_plot(colour) == 0);
  }
}

TEST_CASE("viewer timeline of oom: the failed allocation's mark at its time") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-oom");
  const std::string trace = dir.path("oom.vstrace");
  run_profiled(trace, {sample("oom")}, {"--simulate=1124MiB"});
  nlohmann::json report = report_json(trace);
  REQUIRE(report["failed_allocations"].size() == 1);
  const double failed_at = report["failed_allocations"][0]["time_ns"].get<double>();
  const double end = report["trace"]["duration_ns"].get<double>();

  const std::string png = dir.path("timeline.png");
  const Image image = rendered(trace, png, "timeline", "1000x500");
  const int expected = static_cast<int>(std::lround(kLeft + failed_at / end * (1000 - kRight - kLeft)));
  std::set<int> columns;
  for (int x = kLeft; x < 1000 - kRight; ++x) {
    if (image.at(x, 250) == kOom) columns.insert(x);
  }
  CHECK(columns == std::set<int>{expected - 1, expected});  // 2 pixels wide, ending at its time
}

TEST_CASE("viewer --at selects a moment: its line at that time's column") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-at");
  const std::string trace = dir.path("leak.vstrace");
  run_profiled(trace, {sample("leak")});
  nlohmann::json report = report_json(trace);
  const double end = report["trace"]["duration_ns"].get<double>();
  const uint64_t at = static_cast<uint64_t>(end * 0.4);  // 40% in
  const std::string png = dir.path("at.png");
  const Image image = rendered(trace, png, "timeline", "700x300", {"--at", std::to_string(at) + "ns"});
  constexpr Rgb kSelection{0, 220, 255};
  std::set<int> columns;
  for (int x = kLeft; x < 700 - kRight; ++x) {
    if (image.at(x, 60) == kSelection) columns.insert(x);
  }
  const int expected =
      static_cast<int>(std::lround(kLeft + static_cast<double>(at) / end * (700 - kRight - kLeft)));
  CHECK(columns == std::set<int>{expected});

  ProcessResult bad = run_vramscope({"view", trace, "--at", "soon"});
  CHECK(bad.exit_status == 2);
  CHECK(bad.err == "vramscope view: --at soon: give a time with its unit (500ms, 2.5s)\n");
}

TEST_CASE(
    "viewer fragmentation at the caching allocator's OOM: two segment bars, 4 MiB blocks and holes in turn") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-fragmentation");
  const std::string trace = dir.path("fragment.vstrace");
  run_profiled(trace, {sample("caching_allocator"), "--workload", "fragment"}, {"--simulate=40MiB"});
  nlohmann::json report = report_json(trace);
  REQUIRE(report["failed_allocations"].size() == 1);
  const uint64_t failed_at = report["failed_allocations"][0]["time_ns"];
  const std::string png = dir.path("fragmentation.png");
  const Image image =
      rendered(trace, png, "fragmentation", "900x300", {"--at", std::to_string(failed_at) + "ns"});
  constexpr Rgb kBlock{70, 150, 230}, kHole{110, 40, 40};
  // Bars: runs of rows whose first plot column is a block or a hole (ui/fragmentation_view.h: from y = 52,
  // 14 rows each, 6 between).
  auto in_bar = [&](int x, int y) { return image.at(x, y) == kBlock || image.at(x, y) == kHole; };
  int bars = 0;
  for (int y = 52; y < 300; ++y) bars += in_bar(kLeft + 1, y) && !in_bar(kLeft + 1, y - 1);
  CHECK(bars == 2);
  // Across each bar's middle row: five 4 MiB runs of the 20 MiB segment, in turn.
  auto runs = [&](int y) {
    std::vector<std::pair<bool, int>> found;  // (a block?, length)
    for (int x = kLeft; x < 900 - kRight; ++x) {
      if (!in_bar(x, y)) continue;
      const bool block = image.at(x, y) == kBlock;
      if (found.empty() || found.back().first != block) found.push_back({block, 0});
      ++found.back().second;
    }
    return found;
  };
  const auto first = runs(52 + 7), second = runs(52 + 20 + 7);
  REQUIRE(first.size() == 5);
  REQUIRE(second.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    CAPTURE(i);
    CHECK(first[i].first == (i % 2 == 0));  // used, free, used, free, used
    CHECK(second[i].first == (i % 2 == 1));
    CHECK(std::abs(first[i].second - 159) <= 1);  // 794 columns / 5
    CHECK(std::abs(second[i].second - 159) <= 1);
  }
}

// The marks of the diagnosis view's findings of `colour`: runs of rows of
// it down the column through their middle (ui/diagnosis_view.cpp: 12 pixels
// square, from x = 12).
int diagnosis_marks(const Image& image, Rgb colour) {
  int marks = 0;
  for (int y = 1; y < image.height(); ++y)
    marks += image.at(18, y) == colour && !(image.at(18, y - 1) == colour);
  return marks;
}

TEST_CASE("viewer diagnosis: one out-of-memory finding for oom; a leak, a growing site and advice for leak") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-diagnosis");
  auto diagnosis = [&](const std::string& name, const std::vector<std::string>& command,
                       const std::vector<std::string>& run_options) {
    const std::string trace = dir.path(name + ".vstrace"), png = dir.path(name + ".png");
    run_profiled(trace, command, run_options);
    return rendered(trace, png, "diagnosis", "1000x400");
  };
  constexpr Rgb kLeak{255, 140, 0}, kGrowth{255, 90, 160}, kAdvice{60, 200, 120};
  const Image oom = diagnosis("oom", {sample("oom")}, {"--simulate=1124MiB"});
  CHECK(diagnosis_marks(oom, kOom) == 1);
  CHECK(diagnosis_marks(oom, kLeak) == 0);
  CHECK(diagnosis_marks(oom, kGrowth) == 0);
  const Image leak = diagnosis("leak", {sample("leak")}, {});
  CHECK(diagnosis_marks(leak, kOom) == 0);
  CHECK(diagnosis_marks(leak, kLeak) == 1);  // 10 MiB in 10 allocations at cache_step_statistics
  CHECK(diagnosis_marks(leak, kGrowth) == 1);
  CHECK(diagnosis_marks(leak, kAdvice) == 1);
  // A PyTorch job (on simtorch): one out-of-memory (the allocator's notice,
  // its tries at the driver under it) and one leak (its tensor blocks; the
  // segments it caches to the end, and their heaps, are not leaks). Were 3 and 9.
  ProcessOptions simtorch;
  simtorch.set_env["PYTHONPATH"] = std::string(VRAMSCOPE_SOURCE_DIR) + "/samples/simtorch";
  const std::string torch_trace = dir.path("torch.vstrace"), torch_png = dir.path("torch.png");
  run_profiled(torch_trace, {python(), std::string(VRAMSCOPE_SOURCE_DIR) + "/samples/torch_leak_oom.py"},
               {"--simulate=4GiB"}, simtorch);
  const Image torch = rendered(torch_trace, torch_png, "diagnosis", "1000x600");
  CHECK(diagnosis_marks(torch, kOom) == 1);
  CHECK(diagnosis_marks(torch, kLeak) == 1);
}

TEST_CASE("viewer call tree at train_mlp's peak: each path's bar as wide as its share of the bytes") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-call-tree");
  const std::string trace = adam_trace(dir);
  const std::string png = dir.path("tree.png");
  const Image image = rendered(trace, png, "calltree", "900x400");
  constexpr Rgb kTreeBar{230, 160, 60};
  // Each bar's width, read on its top row (ui/call_tree_view.h: 200 pixels for all the bytes).
  std::multiset<int> widths;
  for (int y = 1; y < 400; ++y) {
    for (int x = 0; x < 900; ++x) {
      if (!(image.at(x, y) == kTreeBar) || image.at(x, y - 1) == kTreeBar ||
          (x > 0 && image.at(x - 1, y) == kTreeBar)) {
        continue;
      }
      int width = 0;
      while (x + width < 900 && image.at(x + width, y) == kTreeBar) ++width;
      widths.insert(width);
    }
  }
  // At the peak, 68747264 bytes: the root and _start all of it; main's
  // line 207 and Adam's state 2P = 33587200 (97.7 px); the parameters' and
  // the gradients' lines and functions P each (48.9 px).
  CHECK(widths.count(200) == 2);
  CHECK(widths.count(98) == 2);
  CHECK(widths.count(49) == 4);
}

TEST_CASE("viewer memory map of oom: the four 256 MiB chunks as four equal bands of one site") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-memory-map");
  const std::string trace = dir.path("oom.vstrace");
  run_profiled(trace, {sample("oom")}, {"--simulate=1124MiB"});
  const std::string png = dir.path("map.png");
  const Image image = rendered(trace, png, "memorymap", "900x400", {"--by", "site"});
  constexpr Rgb kFirstSite{78, 121, 167};  // ui/palette.cpp: the first site's colour
  // The column where most of the plot is the site's: all four chunks live.
  int best = -1, most = 0;
  for (int x = kLeft; x < 900 - kRight; ++x) {
    int n = 0;
    for (int y = kTop; y < 400 - kBottom; ++y) n += image.at(x, y) == kFirstSite;
    if (n > most) most = n, best = x;
  }
  REQUIRE(best >= 0);
  // Down that column: four runs of the site's colour, outlined apart, each a
  // quarter of the 328 rows of packed addresses (1 GiB).
  std::vector<int> runs;
  for (int y = kTop; y < 400 - kBottom; ++y) {
    if (!(image.at(best, y) == kFirstSite)) continue;
    if (y == kTop || !(image.at(best, y - 1) == kFirstSite)) runs.push_back(0);
    ++runs.back();
  }
  REQUIRE(runs.size() == 4);
  for (int run : runs) CHECK(std::abs(run - 80) <= 2);  // 82 rows, less the outline
}

TEST_CASE(
    "viewer --select: the row highlighted in the table, the allocation framed in the timeline and map") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-select");
  const std::string trace = adam_trace(dir);
  // Allocation 5 is the third of the four 4 MiB parameters (1, 3, 5, 7).
  const std::vector<std::string> select = {"--select", "5"};
  constexpr Rgb kSelectedRow{20, 110, 90}, kBar{230, 160, 60}, kHighlight{80, 255, 80};

  // The table, largest first, ties in allocation order: 1, 3, 5, ... Each
  // row has a size bar; the highlighted band is the third bar's row.
  const Image table = rendered(trace, dir.path("table.png"), "allocations", "1000x600", select);
  std::vector<std::pair<int, int>> bar_rows, selected_rows;  // [first, last] row of each
  auto add_row = [](std::vector<std::pair<int, int>>& rows, int y) {
    if (!rows.empty() && rows.back().second == y - 1) {
      rows.back().second = y;
    } else {
      rows.emplace_back(y, y);
    }
  };
  for (int y = 0; y < 600; ++y) {
    int bar = 0, selected = 0;
    for (int x = 0; x < 1000; ++x) {
      bar += table.at(x, y) == kBar;
      selected += table.at(x, y) == kSelectedRow;
    }
    if (bar > 0) add_row(bar_rows, y);
    if (selected > 500) add_row(selected_rows, y);
  }
  REQUIRE(bar_rows.size() >= 20);  // 59 allocations, as many as fit
  REQUIRE(selected_rows.size() == 1);
  CHECK(selected_rows[0].first < bar_rows[2].first);
  CHECK(selected_rows[0].second > bar_rows[2].second);
  CHECK(selected_rows[0].second < bar_rows[3].first);

  // The timeline: a frame over the allocation's 4 MiB and its lifetime. The
  // plot's top is 123.2 MiB: 4 MiB is 17.1 of the 528 rows, its top edge at
  // y = 539 (2 rows), the bottom edge at 554.
  const Image timeline = rendered(trace, dir.path("timeline.png"), "timeline", "1000x600", select);
  std::vector<int> edge_rows;
  std::vector<int> edge_columns;
  for (int y = kTop; y < 600 - kBottom; ++y) {
    int run = 0;
    for (int x = kLeft; x < 1000 - kRight; ++x) run += timeline.at(x, y) == kHighlight;
    if (run > 20) edge_rows.push_back(y);
  }
  for (int x = kLeft; x < 1000 - kRight; ++x) {
    if (timeline.at(x, 547) == kHighlight) edge_columns.push_back(x);
  }
  CHECK(edge_rows == std::vector<int>{539, 540, 554, 555});
  REQUIRE(edge_columns.size() == 4);
  // Its left edge is where the parameters' band steps from 8 to 12 MiB (tops
  // at rows 522 and 505, under the reserved line: their colour starts a row
  // lower). The band's step and the frame's edge are each rounded to a
  // column, so they may lie one column apart: the band is checked two
  // columns before the edge and three after.
  const int made = edge_columns[0];
  const Rgb kParameters{31, 119, 180};
  auto band_top = [&](int x) {
    int y = kTop;
    while (y < 600 - kBottom && !(timeline.at(x, y) == kParameters)) ++y;
    return y;
  };
  CHECK(band_top(made - 2) == 523);
  CHECK(band_top(made + 3) == 506);

  // The memory map: the same columns, framing a rectangle 4 MiB of the 67.04 MiB of addresses high.
  const Image map = rendered(trace, dir.path("map.png"), "memorymap", "1000x600", select);
  std::vector<int> map_columns, map_rows;
  for (int x = kLeft; x < 1000 - kRight; ++x) {
    int run = 0;
    for (int y = kTop; y < 600 - kBottom; ++y) run += map.at(x, y) == kHighlight;
    if (run > 20) map_columns.push_back(x);
  }
  CHECK(map_columns == edge_columns);
  for (int y = kTop; y < 600 - kBottom; ++y) {
    if (map.at(made, y) == kHighlight) map_rows.push_back(y);
  }
  REQUIRE(!map_rows.empty());
  const int high = map_rows.back() + 1 - map_rows.front();
  CHECK((high == 31 || high == 32));  // 4 / 67.04 of 528 rows: 31.5
  // Coloured by category (the default): the tensors of each kind in their colours, no site's colour.
  for (const auto& [name, colour] : kCategories) {
    CAPTURE(name);
    CHECK(map.count_in_plot(colour) > 0);
  }
  CHECK(map.count_in_plot(Rgb{78, 121, 167}) == 0);  // the first site's colour (--by site)
}

TEST_CASE("viewer driven by the mouse: click, wheel, drag, a range; a map click selects the table's row") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-input");
  const std::string trace = adam_trace(dir);
  constexpr Rgb kSelection{0, 220, 255}, kRange{60, 60, 90};
  // Row 150 is inside the plot with or without the tabs above it, above the bands.
  auto columns_of = [](const Image& image, Rgb colour) {
    std::vector<int> columns;
    for (int x = kLeft; x < image.width() - kRight; ++x) {
      if (image.at(x, 150) == colour) columns.push_back(x);
    }
    return columns;
  };
  auto near = [](int x, double want) { return std::abs(x - want) <= 1.5; };

  const Image plain = rendered(trace, dir.path("plain.png"), "timeline", "1000x600");
  const std::vector<int> marks = columns_of(plain, kIteration);
  REQUIRE(!marks.empty());

  // A click 40 pixels beside the step mark nearest the middle selects that
  // moment; three notches of the wheel there zoom to 0.8^3 of the span, the
  // moment staying under the cursor; dragging 200 pixels towards the middle
  // pans by as much; a right-button drag on the other side of the selection
  // is a range. The job's timing decides where its steps fall (the first step
  // is the longest, and how much longer varies with the machine's load), so
  // the places follow the marks: that mark stays in view, 78 pixels from the
  // selection, clear of the range's edges. The click stays between 320 and
  // 750, where the zoomed window has room to pan both ways.
  const int centre = (kLeft + 1000 - kRight) / 2;  // of the plot
  const int middle = *std::min_element(
      marks.begin(), marks.end(), [&](int a, int b) { return std::abs(a - centre) < std::abs(b - centre); });
  const int at = std::clamp(middle + 40 <= 750 ? middle + 40 : middle - 40, 320, 750);
  const int pan = at < 540 ? 200 : -200;
  const int selected_at = at + pan;
  const int range_from = selected_at < 500 ? 600 : 120, range_to = range_from + 200;
  auto xy = [](int x) { return std::to_string(x) + " 300"; };
  const Image driven =
      rendered(trace, dir.path("driven.png"), "timeline", "1000x600",
               {"--input", "move " + xy(at) + "; press left; release left; wheel 3; drag " + xy(at) + " " +
                               xy(selected_at) + "; drag " + xy(range_from) + " " + xy(range_to) + " right"});
  const std::vector<int> selected = columns_of(driven, kSelection);
  REQUIRE(selected.size() == 1);
  CHECK(near(selected[0], selected_at));
  // Where each step mark must have gone; those that fall outside the plot,
  // or under the selection or the range's edges (drawn over them), are not
  // looked for.
  const std::vector<int> driven_marks = columns_of(driven, kIteration);
  size_t predicted_in_view = 0, found = 0;
  for (int mark : marks) {
    const double predicted = at + (mark - at) / 0.512 + pan;
    if (predicted < kLeft + 2 || predicted > 1000 - kRight - 3) continue;
    if (near(selected_at, predicted) || near(range_from, predicted) || near(range_to, predicted)) continue;
    ++predicted_in_view;
    found += std::any_of(driven_marks.begin(), driven_marks.end(), [&](int x) { return near(x, predicted); });
  }
  REQUIRE(predicted_in_view > 0);
  CHECK(found == predicted_in_view);
  const std::vector<int> range = columns_of(driven, kRange);
  REQUIRE(range.size() == 2);
  CHECK(near(range[0], range_from));
  CHECK(near(range[1], range_to));

  // Key 2 opens the memory map; a click on the lowest rectangle (the highest
  // address: the first parameter) selects it; key 4 opens the table, its row
  // (the first: 4 MiB, allocation 1) highlighted.
  const Image table = rendered(trace, dir.path("table.png"), "timeline", "1000x600",
                               {"--input", "key 2; move 900 550; press left; release left; key 4"});
  constexpr Rgb kSelectedRow{20, 110, 90}, kBar{230, 160, 60};
  int first_bar = -1, highlighted = 0, highlight_top = -1;
  for (int y = 0; y < 600; ++y) {
    int bar = 0, row = 0;
    for (int x = 0; x < 1000; ++x) {
      bar += table.at(x, y) == kBar;
      row += table.at(x, y) == kSelectedRow;
    }
    if (bar > 0 && first_bar < 0) first_bar = y;
    if (row > 500) {
      if (highlight_top < 0) highlight_top = y;
      ++highlighted;
    }
  }
  REQUIRE(first_bar > 0);
  CHECK(highlighted >= 12);
  CHECK(highlighted <= 20);
  CHECK(highlight_top < first_bar);
  CHECK(highlight_top + highlighted > first_bar + 9);  // the bar's 9 rows inside the band

  // A double click on the table's first row shows allocation 1 in the
  // timeline, still selected: its green frame there.
  const Image shown = rendered(trace, dir.path("shown.png"), "timeline", "1000x600",
                               {"--input",
                                "key 4; move 300 80; press left; release left; press left; "
                                "release left; move 990 590"});
  CHECK(shown.count_in_plot(Rgb{80, 255, 80}) > 0);
}

TEST_CASE("viewer with the mouse alone: the leak's List button lists the ten allocations live at exit") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-leak-list");
  const std::string trace = dir.path("leak.vstrace");
  run_profiled(trace, {sample("leak")});
  // Key 6 opens the diagnosis; its leak line's List button opens the table
  // of the site's allocations live at the end: ten of the twenty, a bar each.
  const Image diagnosis =
      rendered(trace, dir.path("diagnosis.png"), "timeline", "1000x500", {"--input", "key 6; move 990 490"});
  const Image table = rendered(trace, dir.path("list.png"), "timeline", "1000x500",
                               {"--input", click_in_diagnosis(button_by_mark(diagnosis, Rgb{255, 140, 0}))});
  constexpr Rgb kBar{230, 160, 60};
  int bars = 0;
  for (int y = 1; y < 500; ++y) {
    bool bar = false, above = false;
    for (int x = 0; x < 300; ++x) {
      bar |= table.at(x, y) == kBar;
      above |= table.at(x, y - 1) == kBar;
    }
    bars += bar && !above;
  }
  CHECK(bars == 10);
}

TEST_CASE("viewer timeline leak marks: a tick where each allocation live at the end was made") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-leak-marks");
  constexpr Rgb kLeak{255, 140, 0};
  // The marks: the 8 rows above the plot's bottom edge.
  auto mark_columns = [&](const Image& image) {
    std::set<int> columns;
    for (int x = kLeft; x < image.width() - kRight; ++x) {
      for (int y = image.height() - kBottom - 8; y < image.height() - kBottom; ++y) {
        if (image.at(x, y) == kLeak) columns.insert(x);
      }
    }
    return columns;
  };
  // leak: ten allocations never freed, a few microseconds apart; 16000
  // pixels across its few milliseconds put each in a column of its own.
  const std::string leak = dir.path("leak.vstrace");
  run_profiled(leak, {sample("leak")});
  CHECK(mark_columns(rendered(leak, dir.path("leak.png"), "timeline", "16000x200")).size() == 10);
  // train_mlp frees everything: no mark.
  const std::string adam = adam_trace(dir);
  CHECK(mark_columns(rendered(adam, dir.path("adam.png"), "timeline", "1000x400")).empty());
}

TEST_CASE("viewer with the mouse alone: the out-of-memory finding's Show button selects its moment") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-oom-show");
  const std::string trace = dir.path("oom.vstrace");
  run_profiled(trace, {sample("oom")}, {"--simulate=1124MiB"});
  const Image diagnosis =
      rendered(trace, dir.path("diagnosis.png"), "timeline", "1000x500", {"--input", "key 6; move 990 490"});
  const std::string click = click_in_diagnosis(button_by_mark(diagnosis, kOom));
  // Then the timeline, the moment selected: its cyan line on the magenta mark.
  const Image shown = rendered(trace, dir.path("shown.png"), "timeline", "1000x500", {"--input", click});
  std::vector<int> selected, oom;
  for (int x = kLeft; x < 1000 - kRight; ++x) {
    if (shown.at(x, 200) == Rgb{0, 220, 255}) selected.push_back(x);
    if (shown.at(x, 200) == kOom) oom.push_back(x);
  }
  REQUIRE(selected.size() == 1);
  REQUIRE(!oom.empty());
  CHECK(selected[0] >= oom.front() - 1);
  CHECK(selected[0] <= oom.back() + 1);
}

TEST_CASE("viewer reads a PyTorch snapshot directly: its reserved line peaks at the top's 1/1.1") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-snapshot");
  const std::string snapshot =
      std::string(VRAMSCOPE_TEST_DATA_DIR) + "/interop/pytorch-snapshots/decomfl_memory.pickle";
  const std::string png = dir.path("snapshot.png");
  const Image image = rendered(snapshot, png, "timeline", "1000x500");
  // No capacity in the snapshot: the top is 1.1 times the highest reserved
  // bytes, which the line reaches 428 / 1.1 = 389.1 rows above y = 456.
  constexpr Rgb kReserved{240, 240, 240};
  int highest = -1;
  for (int y = kTop; y < 500 - kBottom && highest < 0; ++y) {
    for (int x = kLeft; x < 1000 - kRight; ++x) {
      if (image.at(x, y) == kReserved) {
        highest = y;
        break;
      }
    }
  }
  CHECK(highest == 67);
  CHECK(image.count_in_plot(kCapacity) == 0);
  // Its categories: parameters and, for the rest, unknown (as the report says).
  CHECK(image.count_in_plot({127, 127, 127}) > 1000);
}

TEST_CASE("viewer: a trace it cannot read, a bad size and no display are one line each") {
  if (on_real_gpu())
    return;  // the viewer is tested on simcuda traces alone (scripts/gpu_check.sh has no Xvfb)
  ScratchDir dir("viewer-bad");
  ProcessResult missing = screenshot(dir.path("none.vstrace"), dir.path("x.png"), "timeline", "800x600");
  CHECK(missing.exit_status == 1);
  CHECK(missing.err ==
        "vramscope-view: cannot open " + dir.path("none.vstrace") + ": No such file or directory\n");

  ProcessResult size = run_vramscope({"view", dir.path("none.vstrace"), "--size", "80x60"});
  CHECK(size.exit_status == 2);
  CHECK(size.err ==
        "vramscope view: --size 80x60: give WIDTHxHEIGHT in pixels, from 200x120 to 16384x16384\n");

  ProcessResult view = run_vramscope({"view", dir.path("none.vstrace"), "--view", "nothing"});
  CHECK(view.exit_status == 2);
  CHECK(view.err ==
        "vramscope view: unknown view 'nothing' (views: timeline, memorymap, fragmentation, allocations, "
        "calltree, diagnosis)\n");

  const std::string trace = dir.path("leak.vstrace");
  run_profiled(trace, {sample("leak")});
  ProcessOptions no_display;
  no_display.unset_env = {"DISPLAY", "WAYLAND_DISPLAY"};
  ProcessResult headless = run_vramscope({"view", trace, "--screenshot", dir.path("x.png")}, no_display);
  CHECK(headless.exit_status == 1);
  CHECK(headless.err.find("vramscope-view: no display to open a window on (") == 0);
  CHECK(headless.err.find("run it under xvfb-run\n") != std::string::npos);
  CHECK(std::count(headless.err.begin(), headless.err.end(), '\n') == 1);

  ProcessResult input =
      run_vramscope({"view", trace, "--screenshot", dir.path("x.png"), "--input", "jump 1 2"});
  CHECK(input.exit_status == 2);
  CHECK(input.err ==
        "vramscope view: --input: unknown step 'jump 1 2' (move, press, release, wheel, key, shift, drag)\n");
  ProcessResult unshot = run_vramscope({"view", trace, "--input", "wheel 1"});
  CHECK(unshot.exit_status == 2);
  CHECK(unshot.err == "vramscope view: --input goes with --screenshot\n");

  ProcessResult by = run_vramscope({"view", trace, "--by", "stream"});
  CHECK(by.exit_status == 2);
  CHECK(by.err == "vramscope view: --by stream: give 'category' or 'site'\n");
  ProcessResult select = screenshot(trace, dir.path("x.png"), "allocations", "800x600", {"--select", "1000"});
  CHECK(select.exit_status == 1);
  CHECK(select.err ==
        "vramscope-view: --select 1000: the trace has 20 allocations on device 0\n");  // leak: 2 per step, 10
                                                                                       // steps
}
