// Unit tests of the exports on traces built by hand: the Chrome trace's
// counter points, instants, range slices and names, the --points cap, and
// the collapsed stacks at the peak and at exit, every value exact.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/export_chrome.h"
#include "analyzer/export_collapsed.h"
#include "analyzer/live_stacks.h"
#include "trace_builder.h"

using namespace vramscope;
using analysis::ChromeOptions;
using analysis::CollapsedQuery;
using analysis::CollapsedWhat;
using nlohmann::json;
using trace::EventType;
using trace::MemoryKind;
using vramscope::testing::TraceBuilder;

namespace {

struct Exported {
  json doc;
  std::string text;
  analysis::ChromeSummary summary;
};

Exported chrome(const trace::TraceContents& trace, ChromeOptions options = {}) {
  std::ostringstream out;
  Exported e;
  e.summary = analysis::write_chrome_trace(trace, options, out);
  e.text = out.str();
  e.doc = json::parse(e.text);
  return e;
}

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// The points of one counter track: (ts, bytes), in the order written.
std::vector<std::pair<double, uint64_t>> points(const json& doc, const std::string& name) {
  std::vector<std::pair<double, uint64_t>> result;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == "C" && e["name"] == name) result.emplace_back(e["ts"].get<double>(), e["args"]["bytes"]);
  }
  return result;
}
using Points = std::vector<std::pair<double, uint64_t>>;

std::vector<json> events_of(const json& doc, const std::string& ph) {
  std::vector<json> result;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == ph) result.push_back(e);
  }
  return result;
}

std::string collapsed(const trace::TraceContents& trace, CollapsedQuery query,
                      analysis::CollapsedSummary* summary = nullptr) {
  std::ostringstream out;
  analysis::CollapsedSummary s = analysis::write_collapsed_stacks(trace, query, out);
  if (summary != nullptr) *summary = s;
  return out.str();
}

}  // namespace

TEST_CASE("chrome: without blocks, allocated and reserved get a point at every change, in microseconds") {
  TraceBuilder b;
  b.trace.header.pid = 4242;
  b.device(0, "sim", 1 << 20);
  b.alloc(10, 0xa000, 100);
  b.alloc(1234567, 0xb000, 50);
  b.alloc(1234600, 0xc000, 0);  // no change: no point
  b.free(2000000, 0xa000);
  b.free(3000001, 0xb000);
  Exported e = chrome(b.trace);

  Points expected = {{us(10), 100}, {us(1234567), 150}, {us(2000000), 50}, {us(3000001), 0}};
  CHECK(points(e.doc, "GPU 0 reserved") == expected);
  CHECK(points(e.doc, "GPU 0 allocated") == expected);
  CHECK(e.summary.counter_events == 8);
  CHECK(events_of(e.doc, "C").size() == 8);
  CHECK(e.summary.thinned_devices.empty());
  // Nanoseconds kept exactly in the text; integers for pid and tid.
  CHECK(e.text.find("\"ts\":1234.567,") != std::string::npos);
  CHECK(e.text.find("\"ts\":3000.001,") != std::string::npos);
  for (const json& c : events_of(e.doc, "C")) {
    CHECK(c["pid"] == 4242);
    CHECK(c["tid"].is_number_integer());
  }
  CHECK(e.doc["displayTimeUnit"] == "ns");
}

TEST_CASE("chrome: with tensor blocks, allocated is the blocks and reserved the segments") {
  TraceBuilder b;
  b.alloc(10, 0x10000, 1000);
  b.alloc(20, 0x10000, 100, {}, MemoryKind::Block);
  b.alloc(30, 0x10100, 200, {}, MemoryKind::Block);
  b.free(40, 0x10000, MemoryKind::Block);
  b.alloc(50, 0x90000, 64, {}, MemoryKind::PinnedHost);  // host memory: no track moves
  b.alloc(60, 0x20000, 500, {}, MemoryKind::Device, 1);  // another device, another track
  Exported e = chrome(b.trace);
  CHECK(points(e.doc, "GPU 0 reserved") == Points{{us(10), 1000}});
  CHECK(points(e.doc, "GPU 0 allocated") == Points{{us(20), 100}, {us(30), 300}, {us(40), 200}});
  CHECK(points(e.doc, "GPU 1 reserved") == Points{{us(60), 500}});
  CHECK(points(e.doc, "GPU 1 allocated") == Points{{us(60), 500}});
  CHECK(e.summary.counter_events == 6);

  // --device 1: the other device's tracks are left out.
  ChromeOptions one;
  one.device = 1;
  Exported only = chrome(b.trace, one);
  CHECK(events_of(only.doc, "C").size() == 2);
  CHECK(points(only.doc, "GPU 0 reserved").empty());
  one.device = 2;
  CHECK_THROWS_WITH_AS(chrome(b.trace, one), "no device 2: the trace lists no devices",
                       std::invalid_argument);
  b.device(0, "sim", 1 << 30);
  b.device(1, "sim", 1 << 30);
  CHECK_THROWS_WITH_AS(chrome(b.trace, one), "no device 2: the trace has devices 0, 1",
                       std::invalid_argument);
}

TEST_CASE("chrome: a failed allocation is an instant with its figures and the verdict") {
  TraceBuilder b;
  b.device(0, "sim", 4096);
  b.alloc(10, 0xa000, 3000);
  trace::Event& failed = b.add(EventType::FailedAlloc, 20);
  failed.size = 2048;
  failed.free_bytes = 1000;
  failed.total_bytes = 4096;
  failed.error = 2;
  failed.thread = trace::ThreadIndex{1};
  b.trace.threads.push_back(trace::Thread{trace::ThreadIndex{1}, 777, "main"});

  int asked = 0;
  ChromeOptions options;
  options.verdicts = [&] {
    ++asked;
    std::vector<std::string> verdicts;
    for (const auto& f : analysis::analyze_trace(b.trace).failed_allocations) {
      verdicts.emplace_back(analysis::to_string(f.diagnosis.verdict));
    }
    return verdicts;
  };
  Exported e = chrome(b.trace, options);
  CHECK(asked == 1);
  std::vector<json> instants = events_of(e.doc, "i");
  REQUIRE(instants.size() == 2);  // the failure, and the 3000 bytes live at exit
  const json& oom = instants[0];
  CHECK(oom["name"] == "OOM: 2.00 KiB (over-subscription)");
  CHECK(oom["s"] == "p");
  CHECK(oom["ts"].get<double>() == us(20));
  CHECK(oom["tid"] == 777);
  CHECK(oom["args"] == json{{"requested", 2048},
                            {"free", 1000},
                            {"total", 4096},
                            {"device", 0},
                            {"error", 2},
                            {"verdict", "over-subscription"}});
  CHECK(e.summary.instants == 2);

  // Without a verdict: the figures alone; with no failure, no verdicts asked for.
  Exported plain = chrome(b.trace);
  CHECK(events_of(plain.doc, "i")[0]["name"] == "OOM: 2.00 KiB");
  CHECK_FALSE(events_of(plain.doc, "i")[0]["args"].contains("verdict"));
  TraceBuilder fine;
  fine.alloc(1, 0xa000, 10);
  chrome(fine.trace, options);
  CHECK(asked == 1);
}

TEST_CASE("chrome: what is live at exit, an instant per group at the trace's end") {
  TraceBuilder b;
  trace::StackId cache = b.stack({{"main", "train.py", 3}, {"cache_stats", "train.py", 12}});
  b.alloc(10, 0xa000, 1 << 20, cache);
  b.alloc(20, 0xb000, 1 << 20, cache);
  b.alloc(30, 0xc000, 4096);
  b.free(40, 0xc000);
  b.alloc(45, 0xd000, 64, {}, MemoryKind::VirtualReserve);  // an address range is no leaked memory
  b.trace.end = trace::End{90, trace::EndReason::Exit, 0, 0};
  Exported e = chrome(b.trace);
  std::vector<json> instants = events_of(e.doc, "i");
  REQUIRE(instants.size() == 1);
  CHECK(instants[0]["name"] == "leak: 2.00 MiB in 2 allocations at cache_stats (train.py:12)");
  CHECK(instants[0]["ts"].get<double>() == us(90));
  CHECK(instants[0]["args"]["bytes"] == 2 << 20);
  CHECK(instants[0]["args"]["count"] == 2);
  CHECK(instants[0]["args"]["site"] == "cache_stats (train.py:12)");
  CHECK(instants[0]["args"]["kind"] == "device");
}

TEST_CASE("chrome: NVTX ranges are B/E slices on their thread, marks instants, threads named") {
  TraceBuilder b;
  b.trace.header.pid = 50;
  b.trace.header.command_line = {"python", "train.py"};
  b.trace.threads.push_back(trace::Thread{trace::ThreadIndex{1}, 4242, "trainer"});
  b.trace.threads.push_back(trace::Thread{trace::ThreadIndex{2}, 0, ""});
  auto on = [](trace::Event& e, uint32_t thread) -> trace::Event& {
    e.thread = trace::ThreadIndex{thread};
    return e;
  };
  on(b.add(EventType::RangePop, 1), 2);  // a pop without its push: nothing
  on(b.add(EventType::RangePush, 5), 1).name = b.string("step");
  on(b.add(EventType::RangePush, 6), 1).name = b.string("forward");
  on(b.add(EventType::Marker, 7), 1).name = b.string("loss");
  on(b.add(EventType::RangePop, 8), 1);
  on(b.add(EventType::RangePop, 9), 1);
  on(b.add(EventType::RangePush, 60), 2).name = b.string("tail");  // still open at the end
  b.alloc(100, 0xa000, 10);
  b.free(120, 0xa000);
  Exported e = chrome(b.trace);

  std::vector<json> begins = events_of(e.doc, "B"), ends = events_of(e.doc, "E");
  REQUIRE(begins.size() == 3);
  REQUIRE(ends.size() == 3);
  CHECK(begins[0]["name"] == "step");
  CHECK(begins[0]["ts"].get<double>() == us(5));
  CHECK(begins[0]["tid"] == 4242);
  CHECK(begins[0]["pid"] == 50);
  CHECK(begins[1]["name"] == "forward");
  CHECK(ends[0]["name"] == "forward");
  CHECK(ends[0]["ts"].get<double>() == us(8));
  CHECK(ends[1]["name"] == "step");
  CHECK(ends[1]["ts"].get<double>() == us(9));
  CHECK(begins[2]["name"] == "tail");
  CHECK(begins[2]["tid"] == 2);  // no OS id: the thread's index
  CHECK(ends[2]["name"] == "tail");
  CHECK(ends[2]["ts"].get<double>() == us(120));  // closed at the trace's end
  CHECK(e.summary.slices == 3);

  std::vector<json> marks = events_of(e.doc, "i");
  REQUIRE(marks.size() == 1);
  CHECK(marks[0]["name"] == "loss");
  CHECK(marks[0]["s"] == "t");
  CHECK(marks[0]["tid"] == 4242);

  std::vector<json> names = events_of(e.doc, "M");
  REQUIRE(names.size() == 3);
  CHECK(names[0] == json{{"name", "process_name"},
                         {"ph", "M"},
                         {"pid", 50},
                         {"tid", 50},
                         {"args", {{"name", "python train.py (pid 50)"}}}});
  CHECK(names[1]["name"] == "thread_name");
  CHECK(names[1]["tid"] == 4242);
  CHECK(names[1]["args"]["name"] == "trainer");
  CHECK(names[2]["tid"] == 2);
  CHECK(names[2]["args"]["name"] == "thread 2");
}

TEST_CASE("chrome --points: a device with more changes is cut in equal parts at their highest value") {
  // 100 pulses of 10 bytes, one of 1000 (the spike), each freed 5 ns later:
  // 200 changes a track over [0, 995].
  TraceBuilder b;
  for (uint64_t i = 0; i < 100; ++i) {
    b.alloc(i * 10, 0xa000, i == 37 ? 1000 : 10);
    b.free(i * 10 + 5, 0xa000);
  }
  Exported exact = chrome(b.trace);
  CHECK(exact.summary.counter_events == 400);
  CHECK(exact.summary.thinned_devices.empty());

  ChromeOptions cap;
  cap.points = 10;
  Exported thin = chrome(b.trace, cap);
  CHECK(thin.summary.thinned_devices == std::vector<uint32_t>{0});
  // Ten buckets of 99.5 ns over [0, 995], each drawn at its highest where
  // that differs from the point before: 10 from the start, the spike's bucket
  // (299 to 398 ns) at 1000, then 10 again.
  Points expected = {{us(0), 10}, {us(299), 1000}, {us(398), 10}};
  CHECK(points(thin.doc, "GPU 0 reserved") == expected);
  CHECK(points(thin.doc, "GPU 0 allocated") == expected);
  CHECK(thin.summary.counter_events == 6);

  // One point: the whole trace at its highest.
  cap.points = 1;
  CHECK(points(chrome(b.trace, cap).doc, "GPU 0 reserved") == Points{{us(0), 1000}});

  cap.points = 0;
  CHECK_THROWS_AS(chrome(b.trace, cap), std::invalid_argument);
}

TEST_CASE("chrome --points: quiet buckets hold the value; the value after the last change is drawn") {
  TraceBuilder b;
  b.alloc(0, 0xa000, 100);
  b.alloc(1, 0xb000, 900);  // a spike at the start
  b.free(2, 0xb000);
  b.alloc(3, 0xc000, 5);
  b.free(4, 0xc000);
  b.trace.end = trace::End{1000, trace::EndReason::Exit, 0, 0};
  ChromeOptions cap;
  cap.points = 4;  // buckets of 250 ns: the changes all in the first
  Exported thin = chrome(b.trace, cap);
  CHECK(points(thin.doc, "GPU 0 reserved") == Points{{us(0), 1000}, {us(250), 100}});
}

TEST_CASE("collapsed: the stacks live at the peak, outermost first, sorted, equal stacks added up") {
  TraceBuilder b;
  b.device(0, "sim", 1 << 30);
  trace::StackId params =
      b.stack({{"main", "train.py", 10}, {"step", "train.py", 20}, {"alloc_params", "model.py", 5}});
  trace::StackId forward =
      b.stack({{"main", "train.py", 10}, {"step", "train.py", 21}, {"forward", "model.py", 9}});
  // The same frames again, a stack id of its own: one line with the other.
  trace::StackId params_again =
      b.stack({{"main", "train.py", 10}, {"step", "train.py", 20}, {"alloc_params", "model.py", 5}});
  trace::StackId odd = b.stack({{"run;all", "", 0}});
  b.alloc(1, 0xa000, 100, params);
  b.alloc(2, 0xb000, 300, forward);
  b.alloc(3, 0xc000, 40, params_again);
  b.alloc(4, 0xd000, 7, odd);
  b.alloc(5, 0xe000, 3);  // no stack
  b.free(6, 0xb000);      // the peak was at 5: 450 bytes
  b.alloc(7, 0xf000, 200, forward);
  b.free(8, 0xa000);
  b.free(9, 0xf000);
  b.free(10, 0xe000);

  analysis::CollapsedSummary s;
  std::string peak = collapsed(b.trace, {CollapsedWhat::Peak, {}}, &s);
  CHECK(peak ==
        "<no stack> 3\n"
        "main (train.py:10);step (train.py:20);alloc_params (model.py:5) 140\n"
        "main (train.py:10);step (train.py:21);forward (model.py:9) 300\n"
        "run:all 7\n");
  CHECK(s.device == 0u);
  CHECK(s.time_ns == 5);
  CHECK(s.bytes == 450);
  CHECK(s.allocations == 5);
  CHECK(s.lines == 4);
  CHECK(s.bytes == analysis::analyze_trace(b.trace).devices[0].peak.bytes);

  std::string leaks = collapsed(b.trace, {CollapsedWhat::Leaks, {}}, &s);
  CHECK(leaks ==
        "main (train.py:10);step (train.py:20);alloc_params (model.py:5) 40\n"
        "run:all 7\n");
  CHECK(s.bytes == 47);
  CHECK(s.time_ns == 10);
  CHECK(s.bytes == analysis::analyze_trace(b.trace).leaks.bytes);
}

TEST_CASE("collapsed: one device's peak or leaks; a device without memory is refused") {
  TraceBuilder b;
  trace::StackId a = b.stack({{"a", "a.py", 1}});
  trace::StackId c = b.stack({{"c", "c.py", 3}});
  b.alloc(1, 0xa000, 10, a, MemoryKind::Device, 0);
  b.alloc(2, 0xb000, 20, c, MemoryKind::Device, 1);
  b.free(3, 0xa000);
  b.alloc(4, 0xc000, 5, a, MemoryKind::Managed, 1);  // managed memory leaks, but sets no peak
  CHECK(collapsed(b.trace, {CollapsedWhat::Peak, {}}) == "a (a.py:1) 10\n");
  CHECK(collapsed(b.trace, {CollapsedWhat::Peak, 1u}) == "c (c.py:3) 20\n");
  CHECK(collapsed(b.trace, {CollapsedWhat::Leaks, {}}) == "a (a.py:1) 5\nc (c.py:3) 20\n");
  CHECK(collapsed(b.trace, {CollapsedWhat::Leaks, 0u}).empty());
  CHECK_THROWS_WITH_AS(collapsed(b.trace, {CollapsedWhat::Peak, 3u}),
                       "device 3 never held device memory: devices with a peak: 0, 1", std::invalid_argument);
  TraceBuilder none;
  none.alloc(1, 0xa000, 10, {}, MemoryKind::PinnedHost);
  CHECK_THROWS_AS(collapsed(none.trace, {CollapsedWhat::Peak, {}}), std::invalid_argument);
}

TEST_CASE("live_at_peaks: the live set at each device's peak matches the report's peak") {
  TraceBuilder b;
  b.alloc(1, 0xa000, 10, {}, MemoryKind::Device, 0);
  b.alloc(2, 0xb000, 30, {}, MemoryKind::Device, 1);
  b.alloc(3, 0xc000, 15, {}, MemoryKind::Device, 0);
  b.free(4, 0xb000);
  b.free(5, 0xa000);
  b.alloc(6, 0xd000, 20, {}, MemoryKind::Device, 1);
  auto peaks = analysis::live_at_peaks(b.trace);
  REQUIRE(peaks.size() == 2);
  CHECK(peaks[0].bytes == 25);
  CHECK(peaks[0].count == 2);
  CHECK(peaks[0].time_ns == 3);
  CHECK(peaks[1].bytes == 30);
  CHECK(peaks[1].time_ns == 2);
  analysis::Report report = analysis::analyze_trace(b.trace);
  CHECK(report.devices[0].peak.bytes == 25);
  CHECK(report.devices[1].peak.bytes == 30);
}
