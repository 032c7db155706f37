// What the fuzz targets (fuzz/, docs/fuzzing.md) found, each kept as a test
// that fails without its fix.
#include <doctest/doctest.h>
#include <libdeflate.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/growth.h"
#include "formats/human_size.h"
#include "formats/trace_file_writer.h"
#include "formats/trace_layout.h"
#include "formats/trace_reader.h"

using namespace vramscope;
using namespace vramscope::trace;

namespace {

std::string temp_path(const char* name) {
  return std::string(P_tmpdir) + "/vramscope-test-" + std::to_string(getpid()) + "-" + name;
}

// A trace of one chunk (68 KiB in all) whose only record is `define`'s.
std::vector<uint8_t> trace_defining(const std::string& path,
                                    const std::function<bool(ChunkEncoder&)>& define) {
  Header header;
  header.devices.push_back({0, "GPU zero", 80ull << 30, false});
  {
    SimpleTraceWriter w(path, header);
    CHECK(define(w.encoder()));
    w.finish();
  }
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

// The tables of strings, frames and stack nodes are indexed by id: a record
// of a few bytes that defined id 4,194,304 made the reader allocate 4 Mi
// entries (128 MiB of strings), and id 2^28 gigabytes. An id larger than the
// file is corrupt.
TEST_CASE("an id larger than the file is a corrupt trace, not gigabytes of tables") {
  const std::string path = temp_path("huge-id.vstrace");
  constexpr uint32_t kHuge = 1u << 22;
  const std::vector<std::pair<const char*, std::function<bool(ChunkEncoder&)>>> records = {
      {"bad string id", [](ChunkEncoder& e) { return e.string(StringId{kHuge}, "far"); }},
      {"bad frame id", [](ChunkEncoder& e) { return e.frame(FrameId{kHuge}, StringId{}, StringId{}, 1); }},
      {"bad stack node", [](ChunkEncoder& e) { return e.stack_node(StackId{kHuge}, StackId{}, 0x401000); }},
  };
  for (const auto& [message, define] : records) {
    INFO(message);
    const std::vector<uint8_t> bytes = trace_defining(path, define);
    REQUIRE(bytes.size() < kHuge);
    CHECK_THROWS_WITH_AS(read_trace_bytes(bytes, "t"), doctest::Contains(message), TraceError);
    // As the command line reads it: the first walk, then a checked read.
    CHECK_THROWS_WITH_AS(analysis::analyze_trace_file(path), doctest::Contains(message), TraceError);
  }

  // An id within the file's size reads as before.
  const std::vector<uint8_t> bytes =
      trace_defining(path, [](ChunkEncoder& e) { return e.string(StringId{60'000}, "near"); });
  REQUIRE(bytes.size() > 60'000);
  CHECK(read_trace_bytes(bytes, "t").string(StringId{60'000}) == "near");
  std::remove(path.c_str());
}

// Record times go from ticks to nanoseconds through the tick rate, in
// double: a header that said 1 tick a second made an allocation 2^60 ticks
// in 2^90 ns, and its conversion to 64 bits undefined (it came back 0, before
// the events it follows). Past 2^64 ns a time is the end of time.
TEST_CASE("a tick rate that puts a record past 2^64 ns puts it at the end of time") {
  const std::string path = temp_path("slow-ticks.vstrace");
  Header header;  // ticks are nanoseconds, as SimpleTraceWriter writes them
  header.devices.push_back({0, "GPU zero", 80ull << 30, false});
  {
    SimpleTraceWriter w(path, header);
    AllocFields a{.ticks = 1'000, .api = Api::cuMemAlloc, .address = 0x7f0000000000, .size = 1 << 20};
    CHECK(w.encoder().alloc(a));
    a.ticks = uint64_t{1} << 60;
    a.address += 1 << 20;
    CHECK(w.encoder().alloc(a));
    w.finish();
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::remove(path.c_str());

  // The header says one tick a second: a varint as long as the 0 it replaces.
  const std::string written = encode_header_payload(header);
  header.ticks_per_second = 1;
  const std::string slow = encode_header_payload(header);
  REQUIRE(slow.size() == written.size());
  layout::FilePrefix prefix;
  std::memcpy(&prefix, bytes.data(), sizeof prefix);
  REQUIRE(prefix.header_payload_bytes == slow.size());
  std::memcpy(bytes.data() + sizeof prefix, slow.data(), slow.size());
  prefix.payload_crc = libdeflate_crc32(0, slow.data(), slow.size());
  std::memcpy(bytes.data(), &prefix, sizeof prefix);

  TraceContents trace = read_trace_bytes(bytes, "t");
  const std::vector<Event> events = trace.events.collect();
  REQUIRE(events.size() == 2);
  CHECK(events[0].time_ns == 1'000'000'000'000ull);
  CHECK(events[1].time_ns == UINT64_MAX);
  CHECK_NOTHROW(analysis::analyze_trace(trace));
}

// A fraction from 2^63 bytes up was rounded through a long long, which
// overflowed: every such size came back as 2^63.
TEST_CASE("a size with a fraction past 2^63 bytes parses to itself") {
  CHECK(parse_size("10000000000000000000.0") == 10'000'000'000'000'000'000ull);
  CHECK(parse_size("12345678901234567890.25") == 12'345'678'901'234'567'890ull);
  CHECK(parse_size("8388608.5 TiB") == (8388608ull << 40) + (1ull << 39));
  CHECK_FALSE(parse_size("18446744073709551615.5"));
  CHECK_FALSE(parse_size("16777216.0 TiB"));
}

// The out-of-memory diagnosis sums live bytes per call stack. The sums were
// signed 64-bit, and two live allocations of 6 EiB on one stack overflowed
// them (undefined behaviour; the stack's bytes came out negative and the
// site was left out of the diagnosis). Found by the trace target after
// 57 minutes (2026-12-06).
TEST_CASE("live bytes per stack past 2^63 are summed, not overflowed") {
  const std::string path = temp_path("huge-live.vstrace");
  constexpr uint64_t kHuge = (uint64_t{1} << 62) + (uint64_t{1} << 61);
  Header header;
  header.devices.push_back({0, "GPU zero", 80ull << 30, false});
  {
    SimpleTraceWriter w(path, header);
    AllocFields a{.ticks = 1'000, .api = Api::cuMemAlloc, .address = 0x7f0000000000, .size = kHuge};
    CHECK(w.encoder().alloc(a));
    a.ticks = 2'000;
    a.address += kHuge;
    CHECK(w.encoder().alloc(a));
    FailureFields f{.ticks = 3'000,
                    .api = Api::cuMemAlloc,
                    .size = 1 << 20,
                    .error = 2,
                    .free_bytes = 0,
                    .total_bytes = 80ull << 30};
    CHECK(w.encoder().failed_alloc(f));
    w.finish();
  }
  const analysis::Report report = analysis::analyze_trace(read_trace_file(path));
  std::remove(path.c_str());
  REQUIRE(report.failed_allocations.size() == 1);
  const analysis::OomDiagnosis& d = report.failed_allocations[0].diagnosis;
  REQUIRE(d.sites.size() == 1);
  CHECK(d.sites[0].bytes == 2 * kHuge);
  CHECK(d.sites[0].count == 2);
}

// An event's stack id indexes the analysis's tables per stack: a trace of a
// few bytes whose one allocation named stack 4,000,000 made them 4 Mi entries
// long (found by the trace fuzzer's fourth round: one input took 10 s under
// the sanitizers). No stack past the file's size can be defined in it: such
// an id reads as no stack, as any id with no definition does.
TEST_CASE("an event's stack id larger than the file reads as no stack") {
  const std::string path = temp_path("huge-stack.vstrace");
  Header header;
  header.devices.push_back({0, "GPU zero", 80ull << 30, false});
  {
    SimpleTraceWriter w(path, header);
    AllocFields a{.ticks = 1'000, .api = Api::cuMemAlloc, .address = 0x7f0000000000, .size = 1 << 20};
    a.stack = StackId{4'000'000};
    CHECK(w.encoder().alloc(a));
    a.ticks = 2'000;
    a.address += 1 << 20;
    a.stack = StackId{7};  // within the file's size: kept, defined or not
    CHECK(w.encoder().alloc(a));
    FailureFields f{.ticks = 3'000, .api = Api::cuMemAlloc, .size = 1 << 20, .error = 2};
    f.stack = StackId{4'000'001};
    CHECK(w.encoder().failed_alloc(f));
    w.finish();
  }
  const TraceContents trace = read_trace_file(path);
  REQUIRE(trace.file_bytes < 4'000'000);
  const std::vector<Event> events = trace.events.collect();
  std::remove(path.c_str());
  REQUIRE(events.size() == 3);
  CHECK(events[0].stack.value == 0);
  CHECK(events[1].stack.value == 7);
  CHECK(events[2].type == EventType::FailedAlloc);
  CHECK(events[2].stack.value == 0);
}

// The growth finder summed each call path's live bytes at the iteration ends
// in signed 64 bits: allocations of some exbibytes on one stack, one an
// iteration, overflowed it (trace fuzzer, sixth round: `growth.cpp:46:
// signed integer overflow`), undefined behaviour that the sanitizer build,
// which CI runs, stops on. The sums are unsigned now.
TEST_CASE("live bytes per call path past 2^63 at the iteration ends are summed, not overflowed") {
  constexpr uint64_t kEiB = uint64_t{1} << 60;
  std::vector<analysis::IterationSpan> iterations(4);
  for (size_t k = 0; k < 4; ++k) iterations[k].last_event = 10 * (k + 1);
  analysis::GrowthFinder growth(iterations);
  // 3 EiB on stack 9 in each iteration, never freed; 1 EiB more in the
  // second, freed in the fourth. Live at the ends: 3, 7, 10, 12 EiB.
  auto tensor = [](size_t made, size_t freed, uint64_t size) {
    analysis::Lifetime l;
    l.alloc_index = made;
    l.free_index = freed;
    l.size = size;
    l.stack = StackId{9};
    return l;
  };
  growth.observe(tensor(5, analysis::kNeverFreed, 3 * kEiB));
  growth.observe(tensor(12, 35, kEiB));
  growth.observe(tensor(15, analysis::kNeverFreed, 3 * kEiB));
  growth.observe(tensor(25, analysis::kNeverFreed, 3 * kEiB));
  growth.observe(tensor(35, analysis::kNeverFreed, 3 * kEiB));
  const std::vector<analysis::GrowthGroup> groups = growth.groups();
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].stack == StackId{9});
  CHECK(groups[0].iterations == 4);
  CHECK(groups[0].last_live_bytes == 12 * kEiB);
  CHECK(groups[0].bytes_per_iteration == 5 * kEiB / 2);  // (12 - 7) / 2
}
