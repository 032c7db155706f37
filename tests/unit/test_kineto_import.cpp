// Unit tests of the torch.profiler importers: real Kineto traces and a raw
// memory timeline from tests/data/interop/kineto (figures worked out from
// the files with Python), small hand-made ones, and damaged input.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/categories.h"
#include "analyzer/timeline.h"
#include "formats/kineto_import.h"
#include "trace_builder.h"
#include "training_loop.h"

using namespace vramscope;
using trace::EventType;
using trace::MemoryKind;
using vramscope::testing::pop_range;
using vramscope::testing::push_range;
using vramscope::testing::TraceBuilder;

namespace {

std::string interop(const std::string& name) {
  return std::string(VRAMSCOPE_SOURCE_DIR) + "/tests/data/interop/kineto/" + name;
}

std::span<const uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

trace::TraceContents import_json(const std::string& json, trace::ProfilerImportNotes* notes = nullptr) {
  return trace::import_kineto_bytes(bytes_of(json), "t.json", notes);
}

// The message of the TraceError that `f` throws; "" when it throws none.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const trace::TraceError& e) {
    return e.what();
  }
  return "";
}

std::string gzip(const std::string& text) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

size_t count_of(const trace::TraceContents& t, EventType type, MemoryKind kind) {
  size_t n = 0;
  for (const trace::Event& e : t.events.collect()) n += e.type == type && e.kind == kind;
  return n;
}

analysis::Timeline timeline_of(const trace::TraceContents& t, uint32_t device) {
  analysis::TimelineQuery q;
  q.device = device;
  return analysis::compute_timeline(t, q);
}

// A trace with the given events, and one device of 16 GiB.
std::string chrome_trace(const std::string& events) {
  return R"({"schemaVersion": 1, "deviceProperties": [{"id": 0, "name": "GPU Zero", "totalGlobalMem": 17179869184}],
            "traceEvents": [)" +
         events + "]}";
}

// `ts` as it is written in the file.
std::string memory_event(const char* ts, int64_t address, int64_t bytes, int64_t allocated,
                         int64_t reserved) {
  char line[400];
  std::snprintf(
      line, sizeof line,
      R"({"ph": "i", "cat": "cpu_instant_event", "s": "t", "name": "[memory]", "pid": 7, "tid": 8, "ts": %s,)"
      R"( "args": {"Device Type": 1, "Device Id": 0, "Addr": %lld, "Bytes": %lld, "Total Allocated": %lld,)"
      R"( "Total Reserved": %lld}})",
      ts, static_cast<long long>(address), static_cast<long long>(bytes), static_cast<long long>(allocated),
      static_cast<long long>(reserved));
  return line;
}

}  // namespace

TEST_CASE("iterations: torch.profiler's numbered steps, though other outermost ranges are more frequent") {
  TraceBuilder b;
  for (uint64_t k = 0; k < 3; ++k) {
    push_range(b, 10 * k + 1,
               "autograd::engine::evaluate_function: AccumulateGrad");  // another thread's, in effect
    pop_range(b, 10 * k + 2);
    push_range(b, 10 * k + 3, "autograd::engine::evaluate_function: AccumulateGrad");
    pop_range(b, 10 * k + 4);
    push_range(b, 10 * k + 5, "ProfilerStep#" + std::to_string(k + 7));
    pop_range(b, 10 * k + 9);
  }
  push_range(b, 40, "ProfilerStep#x");  // not a step's number
  pop_range(b, 41);
  analysis::Report r = analysis::analyze_trace(b.trace);
  CHECK(r.iterations.method == "nvtx range 'ProfilerStep#N'");
  REQUIRE(r.iterations.list.size() == 3);
  CHECK(r.iterations.list[0].start_ns == 5);
  CHECK(r.iterations.list[0].end_ns == 9);
  CHECK(r.iterations.list[2].start_ns == 25);
}

TEST_CASE("categories: a frame that names its category decides it, whatever the lifetime says") {
  CHECK(analysis::named_category("<torch memory timeline> optimizer state") ==
        analysis::Category::OptimizerState);
  CHECK(analysis::named_category("<torch memory timeline> unknown") == analysis::Category::Unknown);
  CHECK_FALSE(analysis::named_category("<torch memory timeline>").has_value());
  CHECK_FALSE(analysis::named_category("<torch memory timeline> weights").has_value());
  CHECK_FALSE(analysis::named_category("optimizer state").has_value());

  // A tensor made and freed inside each step, which the rules call a
  // temporary, named a gradient; one kept through all steps, named an input.
  TraceBuilder b;
  auto gradient = b.stack({{"<torch memory timeline> gradients", "<torch memory timeline>", 0}});
  auto input = b.stack({{"<torch memory timeline> inputs", "<torch memory timeline>", 0}});
  auto plain = b.stack({{"make", "model.py", 3}});
  b.alloc(1, 0x100, 1000, input);
  for (uint64_t k = 0; k < 3; ++k) {
    push_range(b, 10 * k + 2, "step");
    b.alloc(10 * k + 3, 0x200, 64, gradient);
    b.free(10 * k + 4, 0x200);
    b.alloc(10 * k + 5, 0x300, 32, plain);
    b.free(10 * k + 6, 0x300);
    pop_range(b, 10 * k + 7);
  }
  analysis::Report r = analysis::analyze_trace(b.trace);
  for (const analysis::CategoryTotals& c : r.categories.totals) {
    INFO(c.category);
    if (c.category == "gradients") {
      CHECK(c.peak_bytes == 64);
      CHECK(c.allocations == 3);
      CHECK(c.confidence == "high");
      CHECK(c.reason == "named by torch.profiler's memory timeline");
    } else if (c.category == "inputs") {
      CHECK(c.peak_bytes == 1000);
      CHECK(c.reason == "named by torch.profiler's memory timeline");
    } else if (c.category == "temporaries") {
      CHECK(c.peak_bytes == 32);  // the unnamed tensor alone, by the rules
      CHECK(c.reason != "named by torch.profiler's memory timeline");
    } else {
      CHECK(c.peak_bytes == 0);
    }
  }
}

TEST_CASE("kineto import: the HTA trace's device 1 peaks at its own Total Allocated and Total Reserved") {
  auto start = std::chrono::steady_clock::now();
  trace::ProfilerImportNotes notes;
  trace::TraceContents t =
      trace::import_kineto_trace(interop("hta_df_index_resolver.pt.trace.json.gz"), &notes);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("imported in " << seconds << " s");

  CHECK(notes.memory_events == 26'770);
  CHECK(notes.cpu_memory_events == 1'240);
  CHECK(notes.out_of_memory_events == 0);
  CHECK(notes.ranges == 2'035);  // user annotations, the 5 ProfilerSteps among them
  // 4,096,614,400 bytes allocated before the profile and never freed in it:
  // Total Allocated minus the events' sum, the same at all 26,770 events.
  CHECK(notes.pre_existing_blocks == 1);
  CHECK(notes.pre_existing_bytes == 4'096'614'400);
  CHECK(notes.unmatched_frees == 0);
  CHECK(t.events.count() == 26'770 + 1 + 1 + 2 * 2'035);          // + the segment, the block held, the ranges
  CHECK(count_of(t, EventType::Alloc, MemoryKind::Device) == 1);  // Total Reserved never moves
  CHECK(count_of(t, EventType::Alloc, MemoryKind::Block) + count_of(t, EventType::Free, MemoryKind::Block) ==
        26'770 + 1);

  REQUIRE(t.devices.size() == 2);
  CHECK(t.devices[1].ordinal == 1);
  CHECK(t.devices[1].name == "Tesla V100-SXM2-32GB");
  CHECK(t.devices[1].total_bytes == 34'089'730'048);
  CHECK(t.header.pid == 783'658);
  CHECK(t.header.rank == 1);
  CHECK(t.header.world_size == 2);
  CHECK(t.header.start_unix_ns ==
        1'669'783'687'352'244'000);  // the profiler span's start, the earliest event
  REQUIRE(t.threads.size() == 2);
  CHECK(t.threads[0].os_tid == 785'244);
  CHECK(t.threads[0].name == "thread 785244 (python3.8)");

  analysis::Report r = analysis::analyze_trace(t);
  REQUIRE(r.devices.size() == 2);
  CHECK(r.devices[1].peak.bytes == 12'782'141'440);  // reserved: the segments
  CHECK(r.devices[0].peak.bytes == 0);
  bool found_blocks = false;
  for (const analysis::KindTotals& k : r.kinds) {
    if (k.kind != MemoryKind::Block) continue;
    found_blocks = true;
    CHECK(k.peak_bytes == 6'629'508'096);  // allocated
  }
  CHECK(found_blocks);
  CHECK(r.counts.unmatched_frees == 0);
  CHECK(r.counts.missing_frees == 0);
  CHECK(r.iterations.method == "nvtx range 'ProfilerStep#N'");
  CHECK(r.iterations.list.size() == 5);

  analysis::Timeline tl = timeline_of(t, 1);
  CHECK(tl.has_block_data);
  CHECK(tl.allocated.peak_bytes == 6'629'508'096);
  CHECK(tl.reserved.peak_bytes == 12'782'141'440);
}

TEST_CASE("kineto import: the ResNet-50 trace's old [memory] events, without addresses or totals") {
  trace::ProfilerImportNotes notes;
  trace::TraceContents t = trace::import_kineto_trace(interop("resnet50_worker0.pt.trace.json.gz"), &notes);
  CHECK(notes.memory_events == 8'220);
  CHECK(notes.cpu_memory_events == 4'618);
  CHECK(notes.ranges == 6);               // ProfilerStep#5 to #10
  CHECK(notes.pre_existing_blocks == 0);  // every free meets a live allocation of its size
  CHECK(t.events.count() == 8'220 + 2 * 6);
  // No reserved figures: the allocations are device memory themselves.
  CHECK(count_of(t, EventType::Alloc, MemoryKind::Block) == 0);
  REQUIRE(t.devices.size() == 4);
  CHECK(t.devices[0].name == "Tesla V100-DGXS-32GB");
  CHECK(t.devices[0].total_bytes == 34'084'028'416);
  CHECK(t.header.pid == 25'738);
  REQUIRE(t.threads.size() == 2);
  CHECK(t.threads[0].os_tid == 25'738);  // tids written as strings

  analysis::Report r = analysis::analyze_trace(t);
  // The highest running sum of the CUDA events' Bytes, in time order.
  REQUIRE(r.devices.size() == 4);
  CHECK(r.devices[0].peak.bytes == 2'791'636'480);
  CHECK(r.devices[0].live_at_exit_bytes == 0);
  CHECK(r.counts.unmatched_frees == 0);
  CHECK(r.iterations.method == "nvtx range 'ProfilerStep#N'");
  CHECK(r.iterations.list.size() == 6);
  analysis::Timeline tl = timeline_of(t, 0);
  CHECK(tl.allocated.peak_bytes == 2'791'636'480);
  CHECK(tl.reserved.peak_bytes == 2'791'636'480);
}

TEST_CASE("memory timeline import: each category's peak is the file's own") {
  trace::ProfilerImportNotes notes;
  trace::TraceContents t = trace::import_memory_timeline(interop("hta_memory_timeline.raw.json.gz"), &notes);
  CHECK(notes.memory_events == 16'845);
  CHECK(notes.pre_existing_blocks == 645);  // action 1, every destroy meets a tensor
  CHECK(t.events.count() == 16'845);
  analysis::Report r = analysis::analyze_trace(t);
  REQUIRE(r.categories.totals.size() == 8);
  // The highest running sum of each category's bytes in the file (autograd
  // detail and unknown together: 256,901,120 and 168,297,384 apart).
  auto peak_of = [&](const std::string& category) -> uint64_t {
    for (const analysis::CategoryTotals& c : r.categories.totals) {
      if (c.category != category) continue;
      if (c.allocations > 0) {
        CHECK(c.confidence == "high");
        CHECK(c.reason == "named by torch.profiler's memory timeline");
      }
      return c.peak_bytes;
    }
    FAIL("no category " << category);
    return 0;
  };
  CHECK(peak_of("parameters") == 102'440'608);
  CHECK(peak_of("optimizer state") == 102'228'128);
  CHECK(peak_of("inputs") == 19'395'584);
  CHECK(peak_of("temporaries") == 129'024);
  CHECK(peak_of("activations") == 2'746'497'024);
  CHECK(peak_of("gradients") == 107'868'160);
  CHECK(peak_of("unknown") == 373'818'280);
  CHECK(peak_of("workspaces") == 0);
}

TEST_CASE("kineto import: addresses freed before allocated, totals and reserved memory that moves") {
  // 1 MiB held before the profile; a block of 512 allocated before it and
  // freed in it; reserved grows from 2 MiB to 4 MiB and back to 1 MiB.
  std::string events = memory_event("100.5", 0x1000, 256, 1048576 + 512 + 256, 2097152) + "," +
                       memory_event("101", 0x2000, -512, 1048576 + 256, 2097152) + "," +
                       memory_event("102.25", 0x3000, 2097152, 1048576 + 256 + 2097152, 4194304) + "," +
                       memory_event("103", 0x3000, -2097152, 1048576 + 256, 1048576) + "," +
                       memory_event("104", 0x2000, -512, 1048576 + 256, 1048576);  // freed twice
  trace::ProfilerImportNotes notes;
  trace::TraceContents t = import_json(chrome_trace(events), &notes);
  CHECK(notes.pre_existing_blocks == 2);
  CHECK(notes.pre_existing_bytes == 1048576 + 512);
  CHECK(notes.unmatched_frees == 1);
  std::vector<trace::Event> e = t.events.collect();
  REQUIRE(e.size() == 11);
  // At the start: the first reserved figure, the block freed before it was
  // seen allocated, and the memory held all along.
  CHECK((e[0].type == EventType::Alloc && e[0].kind == MemoryKind::Device && e[0].size == 2097152));
  CHECK((e[1].kind == MemoryKind::Block && e[1].address == 0x2000 && e[1].size == 512 && e[1].time_ns == 0));
  CHECK((e[2].kind == MemoryKind::Block && e[2].size == 1048576 && e[2].time_ns == 0));
  CHECK((e[3].type == EventType::Alloc && e[3].address == 0x1000 && e[3].time_ns == 0));
  CHECK((e[4].type == EventType::Free && e[4].address == 0x2000 && e[4].size == 512 && e[4].time_ns == 500));
  // Reserved grows before the allocation that needed it.
  CHECK((e[5].kind == MemoryKind::Device && e[5].type == EventType::Alloc && e[5].size == 2097152 &&
         e[5].time_ns == 1750));
  CHECK((e[6].address == 0x3000 && e[6].type == EventType::Alloc));
  CHECK((e[7].address == 0x3000 && e[7].type == EventType::Free && e[7].time_ns == 2500));
  // And shrinks after the free: both segments go, 1 MiB comes back.
  CHECK((e[8].kind == MemoryKind::Device && e[8].type == EventType::Free && e[8].size == 2097152));
  CHECK((e[9].kind == MemoryKind::Device && e[9].type == EventType::Free && e[9].size == 2097152));
  CHECK((e[10].kind == MemoryKind::Device && e[10].type == EventType::Alloc && e[10].size == 1048576));
  CHECK(t.devices.at(0).name == "GPU Zero");

  analysis::Timeline tl = timeline_of(t, 0);
  CHECK(tl.reserved.peak_bytes == 4194304);
  CHECK(tl.reserved.buckets.back().end == 1048576);
  CHECK(tl.allocated.peak_bytes == 1048576 + 256 + 2097152 + 0);  // Total Allocated's highest
  CHECK(tl.allocated.buckets.back().end == 1048576 + 256);
}

TEST_CASE("kineto import: out of memory, ranges on threads, and steps among commoner ranges") {
  std::string oom =
      R"({"ph": "i", "name": "[OutOfMemory]", "pid": 7, "tid": 8, "ts": 50,)"
      R"( "args": {"Device Type": 1, "Device Id": 0, "Bytes": 8589934592, "Total Allocated": 1024, "Total Reserved": 2097152}})";
  std::string events = memory_event("10", 0x1000, 1024, 1024, 2097152) + "," + oom;
  // Two steps on thread 8, with an annotation inside each ending with it, and
  // three annotations on another thread that outnumber the steps.
  for (int step = 0; step < 2; ++step) {
    int64_t start = 100 + step * 100;
    events += R"(,{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#)" + std::to_string(step + 3) +
              R"(", "pid": 7, "tid": 8, "ts": )" + std::to_string(start) + R"(, "dur": 100})";
    events += R"(,{"ph": "X", "cat": "user_annotation", "name": "forward", "pid": 7, "tid": 8, "ts": )" +
              std::to_string(start + 50) + R"(, "dur": 50})";
  }
  for (int k = 0; k < 3; ++k) {
    events +=
        R"(,{"ph": "X", "cat": "user_annotation", "name": "nccl:all_reduce", "pid": 7, "tid": "9", "ts": )" +
        std::to_string(100 + k * 10) + R"(, "dur": 5})";
  }
  events += R"(,{"ph": "X", "cat": "cpu_op", "name": "aten::add", "pid": 7, "tid": 8, "ts": 120, "dur": 5})";
  events += R"(,{"ph": "M", "name": "thread_name", "pid": 7, "tid": 8, "args": {"name": "main thread"}})";
  events += R"(,{"ph": "i", "name": "[memory]", "pid": 7, "tid": 8, "ts": 5,)"
            R"( "args": {"Device Type": 0, "Device Id": -1, "Bytes": 64}})";
  trace::ProfilerImportNotes notes;
  trace::TraceContents t = import_json(chrome_trace(events), &notes);
  CHECK(notes.out_of_memory_events == 1);
  CHECK(notes.cpu_memory_events == 1);
  CHECK(notes.ranges == 7);  // the cpu op is no range
  REQUIRE(t.threads.size() == 2);
  CHECK(t.threads[0].name == "main thread");
  CHECK(t.threads[1].os_tid == 9);

  std::vector<trace::Event> e = t.events.collect();
  auto failed = std::find_if(e.begin(), e.end(),
                             [](const trace::Event& x) { return x.type == EventType::FailedAlloc; });
  REQUIRE(failed != e.end());
  CHECK(failed->size == 8589934592);
  CHECK(failed->error == 2);
  CHECK(failed->total_bytes == 17179869184);
  CHECK(failed->free_bytes == 17179869184 - 2097152);
  CHECK(failed->time_ns == 45'000);  // the earliest event is the CPU one at 5 µs
  // At 200 µs the first step ends (its annotation first), then the second begins.
  std::vector<std::pair<EventType, std::string>> at_200;
  for (const trace::Event& x : e) {
    if (x.time_ns == 195'000) at_200.emplace_back(x.type, t.string(x.name));
  }
  REQUIRE(at_200.size() == 3);
  CHECK(at_200[0] == std::pair{EventType::RangePop, std::string("forward")});
  CHECK(at_200[1] == std::pair{EventType::RangePop, std::string("ProfilerStep#3")});
  CHECK(at_200[2] == std::pair{EventType::RangePush, std::string("ProfilerStep#4")});

  analysis::Report r = analysis::analyze_trace(t);
  REQUIRE(r.failed_allocations.size() == 1);
  CHECK(r.failed_allocations[0].requested_bytes == 8589934592);
  CHECK(r.iterations.method == "nvtx range 'ProfilerStep#N'");
  REQUIRE(r.iterations.list.size() == 2);
  CHECK(r.iterations.list[0].start_ns == 95'000);
  CHECK(r.iterations.list[0].end_ns == 195'000);
  CHECK(r.iterations.list[1].end_ns == 295'000);
}

TEST_CASE("kineto import: times with fractions keep their nanoseconds; gzip as plain") {
  std::string json = chrome_trace(memory_event("1669783687464300.125", 0x1000, 512, 512, 2097152) + "," +
                                  memory_event("1669783687464300.126", 0x1000, -512, 0, 2097152));
  trace::TraceContents plain = import_json(json);
  std::vector<trace::Event> e = plain.events.collect();
  REQUIRE(e.size() == 3);
  CHECK(e[2].time_ns == 1);
  CHECK(plain.header.start_unix_ns == 1'669'783'687'464'300'125);
  trace::TraceContents unpacked = import_json(gzip(json));
  CHECK(unpacked.events.count() == 3);
}

TEST_CASE("profiler files: told apart by their first bytes") {
  CHECK(trace::sniff_profiler_text(" {\"schemaVersion\": 1, \"traceEvents\": []}") ==
        trace::ProfilerFile::ChromeTrace);
  CHECK(trace::sniff_profiler_text("[[-1, 1, 512, 7]]") == trace::ProfilerFile::MemoryTimeline);
  CHECK(trace::sniff_profiler_text("\n[ ]") == trace::ProfilerFile::MemoryTimeline);
  CHECK(trace::sniff_profiler_text("{\"segments\": []}") == trace::ProfilerFile::Unknown);
  CHECK(trace::sniff_profiler_text("[1, 2]") == trace::ProfilerFile::Unknown);
  CHECK(trace::sniff_profiler_text("VSTRACE") == trace::ProfilerFile::Unknown);
  CHECK(trace::sniff_profiler_file(interop("hta_df_index_resolver.pt.trace.json.gz")) ==
        trace::ProfilerFile::ChromeTrace);
  CHECK(trace::sniff_profiler_file(interop("hta_memory_timeline.raw.json.gz")) ==
        trace::ProfilerFile::MemoryTimeline);
  CHECK(trace::sniff_profiler_file(interop("no such file")) == trace::ProfilerFile::Unknown);
  CHECK(trace::import_profiler_file(interop("resnet50_worker0.pt.trace.json.gz")).events.count() ==
        8'220 + 12);
  CHECK(trace::import_profiler_file(interop("hta_memory_timeline.raw.json.gz")).events.count() == 16'845);
}

TEST_CASE("profiler import: damaged or foreign input is a TraceError with a line that says what") {
  std::string good = chrome_trace(memory_event("10", 0x1000, 512, 512, 2097152));
  std::string packed = gzip(good);

  CHECK(error_of([&] {
          trace::import_kineto_trace("/nonexistent/x.json");
        }).starts_with("cannot open /nonexistent/x.json"));
  CHECK(error_of([&] { import_json(""); }) == "t.json: empty file, not a torch.profiler trace");
  CHECK(error_of([&] {
          import_json(packed.substr(0, packed.size() / 2));
        }).starts_with("t.json: damaged or cut-short gzip data"));
  CHECK(error_of([&] { import_json(good.substr(0, good.size() - 10)); }) ==
        "t.json: the JSON ends early (byte " + std::to_string(good.size() - 10) +
            "): the file is cut short; export it again");
  CHECK(error_of([&] { import_json("{\"traceEvents\": [}"); }) ==
        "t.json: not valid JSON at byte 17: unexpected '}'; expected '[', '{', or a literal");
  CHECK(error_of([&] { import_json("{\"traceEvents\": []} x"); }) ==
        "t.json: not valid JSON at byte 20: invalid literal");
  CHECK(error_of([&] { import_json("{\"segments\": []}"); }) ==
        "t.json: not a torch.profiler trace (no traceEvents)");
  CHECK(error_of([&] { import_json("[[1, 2, 3, 4]]"); }) ==
        "t.json: not a torch.profiler trace (not a JSON object with traceEvents)");
  CHECK(error_of([&] { import_json("{\"traceEvents\": {}}"); }) ==
        "t.json: not a torch.profiler trace (traceEvents is not a list)");
  CHECK(error_of([&] { import_json(chrome_trace("")); }) ==
        "t.json: no GPU memory events in this torch.profiler trace; profile with profile_memory=True");
  std::string bad_bytes = R"({"ph": "i", "name": "[memory]", "pid": 7, "tid": 8, "ts": 10,)"
                          R"( "args": {"Device Type": 1, "Device Id": 0, "Bytes": "x"}})";
  CHECK(error_of([&] { import_json(chrome_trace(bad_bytes)); }) ==
        "t.json: traceEvents[0] ([memory]): \"Bytes\" is a string, not an integer");
  std::string huge = R"({"ph": "i", "name": "[memory]", "pid": 7, "tid": 8, "ts": 10,)"
                     R"( "args": {"Device Type": 1, "Device Id": 0, "Bytes": 18446744073709551615}})";
  CHECK(error_of([&] { import_json(chrome_trace(huge)); }) ==
        "t.json: traceEvents[0] ([memory]): \"Bytes\" is an integer of 2^63 or more, not an integer");
  std::string bad_ts = R"({"ph": "i", "name": "[memory]", "pid": 7, "tid": 8, "ts": [1],)"
                       R"( "args": {"Device Type": 1, "Device Id": 0, "Bytes": 4}})";
  CHECK(error_of([&] { import_json(chrome_trace("{}," + bad_ts)); }) ==
        "t.json: traceEvents[1] ([memory]): \"ts\" is an object or array, not a time in microseconds");
  std::string bad_device = R"({"ph": "i", "name": "[memory]", "pid": 7, "tid": 8, "ts": 1,)"
                           R"( "args": {"Device Type": 1, "Device Id": -1, "Bytes": 4}})";
  CHECK(error_of([&] { import_json(chrome_trace(bad_device)); }) ==
        "t.json: traceEvents[0] ([memory]): \"Device Id\" is an integer, not a CUDA device ordinal");
  std::string bad_dur = R"({"ph": "X", "cat": "user_annotation", "name": "a", "ts": 1, "dur": "long"})";
  CHECK(error_of([&] { import_json(chrome_trace(bad_dur)); }) ==
        "t.json: traceEvents[0] (a): \"dur\" is a string, not a time in microseconds");

  auto timeline = [](const std::string& text) {
    return trace::import_memory_timeline_bytes(bytes_of(text), "m.raw.json");
  };
  CHECK(error_of([&] { timeline("[[1, 2, 3]]"); }) ==
        "m.raw.json: row 0 has 3 values, not [time, action, bytes, category]");
  CHECK(error_of([&] { timeline("[[1, 2, 3, 4], [1, 9, 3, 4]]"); }) ==
        "m.raw.json: row 1 has action 9 (1 pre-existing, 2 create, 3 new version, 4 destroy)");
  CHECK(error_of([&] { timeline("[[1, 2, \"x\", 4]]"); }) ==
        "m.raw.json: row 0 value 2 is a string, not an integer");
  CHECK(error_of([&] { timeline("{\"traceEvents\": []}"); }) ==
        "m.raw.json: not a raw memory timeline (a JSON list of [time, action, bytes, category])");
  CHECK(error_of([&] { timeline("[[1, 2, 3, 4], [1, 2"); }).starts_with("m.raw.json: the JSON ends early"));
  CHECK(error_of([&] { trace::import_profiler_file(interop("../README.md")); })
            .ends_with(
                "neither a torch.profiler trace (a JSON object with traceEvents) nor a raw memory timeline "
                "(a JSON list)"));
}

TEST_CASE("memory timeline import: versions, destroys of tensors made before, and times in microseconds") {
  // A parameter made before, an activation created and given a new version
  // (now a gradient), an optimizer state destroyed without being created.
  std::string rows =
      "[[-1, 1, 1024, 0], [1000, 2, 4096, 4], [1500, 3, -4096, 4], [1500, 3, 4096, 5],"
      " [2000, 4, -512, 1], [2500, 4, -4096, 5]]";
  trace::ProfilerImportNotes notes;
  trace::TraceContents t = trace::import_memory_timeline_bytes(bytes_of(rows), "m.raw.json", &notes);
  CHECK(notes.pre_existing_blocks == 2);
  CHECK(notes.pre_existing_bytes == 1024 + 512);
  std::vector<trace::Event> e = t.events.collect();
  REQUIRE(e.size() == 7);
  CHECK((e[0].time_ns == 0 && e[0].size == 1024));
  CHECK((e[1].time_ns == 0 && e[1].size == 512));  // the optimizer state destroyed at 2000
  CHECK((e[2].time_ns == 0 && e[2].size == 4096));
  CHECK((e[3].type == EventType::Free && e[3].address == e[2].address && e[3].time_ns == 500'000));
  CHECK((e[4].type == EventType::Alloc && e[4].time_ns == 500'000));
  CHECK((e[5].type == EventType::Free && e[5].address == e[1].address && e[5].time_ns == 1'000'000));
  CHECK((e[6].type == EventType::Free && e[6].address == e[4].address && e[6].time_ns == 1'500'000));
  CHECK(t.string(t.frame(t.stack_node(e[0].stack)->frame)->function) == "<torch memory timeline> parameters");
  CHECK(t.string(t.frame(t.stack_node(e[0].stack)->frame)->file) == "<torch memory timeline>");
  analysis::Report r = analysis::analyze_trace(t);
  CHECK(r.devices.at(0).peak.bytes == 1024 + 512 + 4096);
}
