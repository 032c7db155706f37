// Trace format: round trip, cuts at every byte, corruption, sizes.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "formats/human_size.h"
#include "formats/trace_file_writer.h"
#include "formats/trace_reader.h"

using namespace vramscope;
using namespace vramscope::trace;

namespace {

std::string temp_path(const char* name) {
  return std::string(P_tmpdir) + "/vramscope-test-" + std::to_string(getpid()) + "-" + name;
}

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Header sample_header() {
  Header h;
  h.start_ns = 1'000'000;
  h.start_unix_ns = 1'700'000'000'000'000'000ull;
  h.pid = 4242;
  h.parent_pid = 1;
  h.host = "node07";
  h.rank = 3;
  h.local_rank = 1;
  h.world_size = 8;
  h.command_line = {"python", "train.py", "--lr", "0.1"};
  h.devices.push_back({0, "GPU zero", 80ull << 30, false});
  return h;
}

// A small trace: 3 allocations, 2 frees, a failure, strings, a stack, an end.
// Returns the number of timed events written.
int write_small_trace(const std::string& path, uint32_t chunk_bytes = layout::kDefaultChunkBytes) {
  SimpleTraceWriter w(path, sample_header(), chunk_bytes);
  auto& e = w.encoder();
  CHECK(e.string(StringId{1}, "step"));
  CHECK(e.stack_node(StackId{1}, StackId{}, 0x401000));
  CHECK(e.stack_node(StackId{2}, StackId{1}, 0x402000));
  CHECK(e.thread(ThreadIndex{1}, 777, "main"));
  CHECK(e.module("/usr/bin/python3", 0x400000, 0x401000, 0x500000, "abcd"));
  CHECK(e.device({1, "GPU one", 40ull << 30, true}));
  AllocFields a{.ticks = 1'000'100, .kind = MemoryKind::Device, .api = Api::cuMemAlloc, .via = Api::cudaMalloc,
                .device = 0, .stream = 0, .address = 0x7f0000000000, .size = 1 << 20, .stack = StackId{2}};
  CHECK(e.alloc(a));
  a.ticks += 50;
  a.address += 1 << 20;
  CHECK(e.alloc(a));
  a.ticks += 50;
  a.address += 1 << 20;
  a.size = 3 << 20;
  a.kind = MemoryKind::AsyncPool;
  a.api = Api::cuMemAllocAsync;
  a.via = Api::None;
  a.stream = 0x55;
  CHECK(e.alloc(a));
  AllocFields f{.ticks = 1'000'300, .kind = MemoryKind::Device, .api = Api::cuMemFree, .via = Api::cudaFree,
                .address = 0x7f0000000000, .stack = StackId{1}};
  CHECK(e.free(f));
  f.ticks += 10;
  f.address = 0x7f0000000000 + (2 << 20);
  f.kind = MemoryKind::AsyncPool;
  CHECK(e.free(f));
  FailureFields fail{.ticks = 1'000'400, .kind = MemoryKind::Device, .api = Api::cuMemAlloc, .via = Api::cudaMalloc,
                     .device = 0, .size = 5ull << 30, .error = 2, .free_bytes = 1ull << 30,
                     .total_bytes = 80ull << 30, .stack = StackId{2}};
  CHECK(e.failed_alloc(fail));
  CHECK(e.marker(layout::kMarker, 1'000'500, StringId{1}));
  CHECK(e.end(1'000'600, EndReason::Exit, 0, 1));
  return 7;
}

}  // namespace

TEST_CASE("a trace reads back exactly what was written") {
  std::string path = temp_path("roundtrip.vstrace");
  write_small_trace(path);
  TraceContents t = read_trace_file(path);
  CHECK_FALSE(t.cut_short);
  CHECK(t.header.pid == 4242);
  CHECK(t.header.host == "node07");
  CHECK(t.header.rank == 3);
  CHECK(t.header.world_size == 8);
  CHECK(t.header.command_line == std::vector<std::string>{"python", "train.py", "--lr", "0.1"});
  REQUIRE(t.devices.size() == 2);
  CHECK(t.devices[1].name == "GPU one");
  CHECK(t.devices[1].simulated);
  REQUIRE(t.events.count() == 7);
  CHECK(t.events.collect()[0].type == EventType::Alloc);
  CHECK(t.events.collect()[0].time_ns == 100);
  CHECK(t.events.collect()[0].size == (1 << 20));
  CHECK(t.events.collect()[0].api == Api::cuMemAlloc);
  CHECK(t.events.collect()[0].via == Api::cudaMalloc);
  CHECK(t.events.collect()[1].address == 0x7f0000100000);
  CHECK(t.events.collect()[1].size == (1 << 20));
  CHECK(t.events.collect()[2].kind == MemoryKind::AsyncPool);
  CHECK(t.events.collect()[2].stream == 0x55);
  CHECK(t.events.collect()[2].size == (3 << 20));
  // Frees are paired: size and kind come from the allocation.
  CHECK(t.events.collect()[3].type == EventType::Free);
  CHECK(t.events.collect()[3].size == (1 << 20));
  CHECK(t.events.collect()[3].stack == StackId{1});
  CHECK(t.events.collect()[4].kind == MemoryKind::AsyncPool);
  CHECK(t.events.collect()[4].size == (3 << 20));
  CHECK(t.events.collect()[5].type == EventType::FailedAlloc);
  CHECK(t.events.collect()[5].size == (5ull << 30));
  CHECK(t.events.collect()[5].error == 2);
  CHECK(t.events.collect()[5].free_bytes == (1ull << 30));
  CHECK(t.events.collect()[6].type == EventType::Marker);
  CHECK(t.string(t.events.collect()[6].name) == "step");
  REQUIRE(t.end.has_value());
  CHECK(t.end->time_ns == 600);
  auto frames = t.stack_frames(StackId{2});
  REQUIRE(frames.size() == 2);
  CHECK(frames[0]->ip == 0x402000);
  CHECK(frames[1]->ip == 0x401000);
  REQUIRE(t.modules.size() == 1);
  CHECK(t.modules[0].build_id == "abcd");
  REQUIRE(t.threads.size() == 1);
  CHECK(t.threads[0].os_tid == 777);
  std::remove(path.c_str());
}

TEST_CASE("records average under 8 bytes in an allocate/free loop") {
  std::string path = temp_path("compact.vstrace");
  {
    SimpleTraceWriter w(path, sample_header());
    uint64_t t = 1'000'000;
    for (int i = 0; i < 10000; ++i) {
      AllocFields a{.ticks = t += 90, .api = Api::cuMemAlloc, .via = Api::cudaMalloc, .address = 0x7f0000000000,
                    .size = 1 << 20};
      w.write([&](ChunkEncoder& e) { return e.alloc(a); });
      AllocFields f{.ticks = t += 90, .api = Api::cuMemFree, .via = Api::cudaFree, .address = 0x7f0000000000};
      w.write([&](ChunkEncoder& e) { return e.free(f); });
    }
    w.write([&](ChunkEncoder& e) { return e.end(t, EndReason::Exit, 0, 1); });
  }
  TraceContents t = read_trace_file(path);
  REQUIRE(t.events.count() == 20000);
  CHECK(static_cast<double>(t.record_bytes) / 20000.0 < 8.0);
  std::remove(path.c_str());
}

TEST_CASE("events fill many chunks and come back in time order") {
  std::string path = temp_path("chunks.vstrace");
  {
    SimpleTraceWriter w(path, sample_header(), 4096 * 5);
    for (int i = 0; i < 5000; ++i) {
      AllocFields a{.ticks = 1'000'000 + static_cast<uint64_t>(i) * 1000, .address = 0x1000ull * static_cast<uint64_t>(i + 1),
                    .size = static_cast<uint64_t>(i) + 1};
      w.set_now(a.ticks);
      w.write([&](ChunkEncoder& e) { return e.alloc(a); });
    }
    w.write([&](ChunkEncoder& e) { return e.end(1'000'000 + 5000ull * 1000, EndReason::Exit, 0, 1); });
  }
  TraceContents t = read_trace_file(path);
  REQUIRE(t.events.count() == 5000);
  const std::vector<Event> events = t.events.collect();
  for (size_t i = 0; i < events.size(); ++i) {
    REQUIRE(events[i].size == i + 1);
    REQUIRE(events[i].address == 0x1000 * (i + 1));
  }
  std::remove(path.c_str());
}

TEST_CASE("a trace cut at any byte reads back every record completed before the cut") {
  std::string path = temp_path("cut.vstrace");
  write_small_trace(path, 4096 * 5);
  std::vector<uint8_t> whole = slurp(path);
  TraceContents full = read_trace_bytes(whole, "whole");
  REQUIRE(full.events.count() == 7);
  // Where each complete record ends: cut at or past that offset and it must be back.
  size_t header_bytes = 4096;
  size_t previous_count = 0;
  for (size_t cut = 0; cut <= whole.size(); ++cut) {
    std::span<const uint8_t> part(whole.data(), cut);
    if (cut < 40) {
      // Too short to hold the header's fixed part and payload.
      CHECK_THROWS_AS(read_trace_bytes(part, "cut"), TraceError);
      continue;
    }
    TraceContents t;
    try {
      t = read_trace_bytes(part, "cut");
    } catch (const TraceError& e) {
      // Only a cut inside the header may fail, never one inside the records.
      REQUIRE(cut < header_bytes);
      continue;
    }
    // Records only ever appear as the cut moves on, and none is lost.
    REQUIRE(t.record_count >= previous_count);
    previous_count = t.record_count;
    // Past the last record, only zero padding is lost: nothing is missing.
    CHECK(t.cut_short == (cut < header_bytes + 32 + full.record_bytes));
  }
  // The cut just before the end record loses the end and nothing else.
  TraceContents almost = read_trace_bytes(std::span<const uint8_t>(whole.data(), header_bytes + 32 + 120), "x");
  CHECK(almost.cut_short);
  std::remove(path.c_str());
}

TEST_CASE("each record comes back as soon as its last byte is in the file") {
  std::string path = temp_path("cut2.vstrace");
  write_small_trace(path);
  std::vector<uint8_t> whole = slurp(path);
  TraceContents full = read_trace_bytes(whole, "whole");
  uint64_t records = full.record_count;
  // Find, for each number of records k, the smallest cut that yields k.
  size_t data_start = 4096 + 32;
  size_t k_seen = 0;
  for (size_t cut = data_start; cut <= data_start + full.record_bytes; ++cut) {
    TraceContents t = read_trace_bytes(std::span<const uint8_t>(whole.data(), cut), "cut");
    // Every byte of records before the cut is accounted for by complete records.
    CHECK(t.record_bytes <= cut - data_start);
    CHECK(t.record_bytes + 64 > cut - data_start);
    k_seen = t.record_count;
  }
  CHECK(k_seen == records);
  CHECK(records == 14);  // 7 timed events, 6 definitions and the end
  std::remove(path.c_str());
}

TEST_CASE("a corrupt chunk is reported as such") {
  std::string path = temp_path("corrupt.vstrace");
  write_small_trace(path);
  std::vector<uint8_t> bytes = slurp(path);
  bytes[4096 + 32 + 20] ^= 0x5a;
  CHECK_THROWS_WITH_AS(read_trace_bytes(bytes, "t"), doctest::Contains("corrupt chunk at byte offset 4096"),
                       TraceError);
  std::vector<uint8_t> bad_marker = slurp(path);
  bad_marker[4096] = 'X';
  CHECK_THROWS_WITH_AS(read_trace_bytes(bad_marker, "t"), doctest::Contains("bad chunk marker"), TraceError);
  std::remove(path.c_str());
}

TEST_CASE("an unsealed chunk (a killed writer) is read up to its last complete record") {
  std::string path = temp_path("unsealed.vstrace");
  write_small_trace(path);
  std::vector<uint8_t> bytes = slurp(path);
  // Unseal the chunk and drop the end record's token, as if killed while writing it.
  layout::ChunkHead head;
  std::memcpy(&head, bytes.data() + 4096, sizeof head);
  uint32_t length = head.sealed_length;
  head.sealed_length = 0;
  std::memcpy(bytes.data() + 4096, &head, sizeof head);
  TraceContents t = read_trace_bytes(bytes, "t");
  CHECK(t.events.count() == 7);
  CHECK(t.end.has_value());
  // The end record is the last 5 bytes of records: zero its token.
  bytes[4096 + 32 + length - 5] = 0;
  TraceContents killed = read_trace_bytes(bytes, "t");
  CHECK(killed.events.count() == 7);
  CHECK_FALSE(killed.end.has_value());
  CHECK(killed.cut_short);
  CHECK(killed.cut_short_reason.find("killed") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("files that are not traces are refused with a clear message") {
  std::vector<uint8_t> empty;
  CHECK_THROWS_WITH_AS(read_trace_bytes(empty, "a.vstrace"), "a.vstrace: empty file, not a vramscope trace",
                       TraceError);
  std::string text = "hello, this is not a trace at all, just some text";
  std::vector<uint8_t> bytes(text.begin(), text.end());
  CHECK_THROWS_WITH_AS(read_trace_bytes(bytes, "b"), "b: not a vramscope trace", TraceError);
  CHECK_THROWS_WITH_AS(read_trace_file("/nonexistent/x.vstrace"),
                       "cannot open /nonexistent/x.vstrace: No such file or directory", TraceError);
  CHECK_THROWS_AS(read_trace_file("/"), TraceError);
}

namespace {

// A trace read with its records left to the first walk, walked, and finished.
TraceContents read_on_first_walk(std::span<const uint8_t> bytes) {
  TraceContents t = read_trace_bytes(bytes, "t", RecordCheck::OnFirstWalk);
  t.events.count();
  finish_first_walk(t);
  return t;
}

// Everything a checked read gives, field by field.
void check_same_trace(const TraceContents& a, const TraceContents& b) {
  CHECK(a.cut_short == b.cut_short);
  CHECK(a.cut_short_reason == b.cut_short_reason);
  CHECK(a.record_count == b.record_count);
  CHECK(a.record_bytes == b.record_bytes);
  CHECK(a.strings == b.strings);
  REQUIRE(a.stack_nodes.size() == b.stack_nodes.size());
  for (size_t i = 0; i < a.stack_nodes.size(); ++i) {
    CHECK(a.stack_nodes[i].id == b.stack_nodes[i].id);
    CHECK(a.stack_nodes[i].parent == b.stack_nodes[i].parent);
    CHECK(a.stack_nodes[i].ip == b.stack_nodes[i].ip);
    CHECK(a.stack_nodes[i].frame == b.stack_nodes[i].frame);
  }
  REQUIRE(a.devices.size() == b.devices.size());
  for (size_t i = 0; i < a.devices.size(); ++i) {
    CHECK(a.devices[i].ordinal == b.devices[i].ordinal);
    CHECK(a.devices[i].name == b.devices[i].name);
    CHECK(a.devices[i].total_bytes == b.devices[i].total_bytes);
  }
  REQUIRE(a.threads.size() == b.threads.size());
  for (size_t i = 0; i < a.threads.size(); ++i) {
    CHECK(a.threads[i].index == b.threads[i].index);
    CHECK(a.threads[i].os_tid == b.threads[i].os_tid);
    CHECK(a.threads[i].name == b.threads[i].name);
  }
  REQUIRE(a.modules.size() == b.modules.size());
  for (size_t i = 0; i < a.modules.size(); ++i) {
    CHECK(a.modules[i].path == b.modules[i].path);
    CHECK(a.modules[i].base == b.modules[i].base);
    CHECK(a.modules[i].build_id == b.modules[i].build_id);
  }
  REQUIRE(a.end.has_value() == b.end.has_value());
  if (a.end) {
    CHECK(a.end->time_ns == b.end->time_ns);
    CHECK(a.end->reason == b.end->reason);
    CHECK(a.end->chunks == b.end->chunks);
  }
  std::vector<Event> ea = a.events.collect(), eb = b.events.collect();
  REQUIRE(ea.size() == eb.size());
  for (size_t i = 0; i < ea.size(); ++i) {
    CHECK(ea[i].type == eb[i].type);
    CHECK(ea[i].time_ns == eb[i].time_ns);
    CHECK(ea[i].address == eb[i].address);
    CHECK(ea[i].size == eb[i].size);
  }
}

}  // namespace

TEST_CASE("records decoded by the first walk give the trace a checked read gives") {
  std::string path = temp_path("first-walk.vstrace");
  write_small_trace(path, 4096 * 5);
  std::vector<uint8_t> whole = slurp(path);

  // Before the walk: the header and its device, the events, nothing else.
  TraceContents unwalked = read_trace_bytes(whole, "t", RecordCheck::OnFirstWalk);
  CHECK(unwalked.header.pid == 4242);
  CHECK(unwalked.devices.size() == 1);
  CHECK(unwalked.strings.empty());
  CHECK(unwalked.record_count == 0);
  CHECK_FALSE(unwalked.end.has_value());
  CHECK_THROWS_AS(finish_first_walk(unwalked), RecordsNeedChecking);

  TraceContents checked = read_trace_bytes(whole, "t");
  TraceContents walked = read_on_first_walk(whole);
  CHECK(walked.record_count == 14);
  CHECK(walked.devices.size() == 2);
  CHECK(walked.string(StringId{1}) == "step");
  REQUIRE(walked.end.has_value());
  CHECK(walked.end->time_ns == 600);
  check_same_trace(walked, checked);
  finish_first_walk(checked);  // nothing to do for a checked read
  CHECK(checked.record_count == 14);

  // Cut anywhere in the records: the same trace, or a cut inside a record,
  // which the walk leaves to a checked read.
  size_t same = 0, left = 0;
  for (size_t cut = 4096 + 32; cut <= whole.size(); ++cut) {
    std::span<const uint8_t> part(whole.data(), cut);
    TraceContents expected = read_trace_bytes(part, "t");
    try {
      check_same_trace(read_on_first_walk(part), expected);
      ++same;
    } catch (const RecordsNeedChecking&) {
      ++left;
    }
  }
  // 15 record boundaries (the chunk's start and after each of its 14
  // records), then the zero padding after them: every other cut is inside a record.
  CHECK(same == whole.size() - (4096 + 32 + walked.record_bytes) + 15);
  CHECK(left == walked.record_bytes - 14);
  std::remove(path.c_str());
}

TEST_CASE("the first walk leaves a corrupt record, and events out of time order, to a checked read") {
  std::string path = temp_path("first-walk-odd.vstrace");
  write_small_trace(path);
  std::vector<uint8_t> bytes = slurp(path);
  layout::ChunkHead head;
  std::memcpy(&head, bytes.data() + 4096, sizeof head);
  // Unsealed, so that no checksum guards it, and its first record's token of no known type.
  head.sealed_length = 0;
  std::vector<uint8_t> corrupt = bytes;
  std::memcpy(corrupt.data() + 4096, &head, sizeof head);
  corrupt[4096 + 32] = 0x1f;
  TraceContents bad = read_trace_bytes(corrupt, "t", RecordCheck::OnFirstWalk);
  CHECK_THROWS_AS(bad.events.count(), RecordsNeedChecking);
  CHECK_THROWS_WITH_AS(read_trace_bytes(corrupt, "t"),
                       "t: corrupt chunk at byte offset 4096 (unknown record type 31)", TraceError);

  // A chunk whose clock runs past 2^64 ns: its times wrap to 0, out of order.
  std::vector<uint8_t> wrapped = bytes;
  head = {};
  std::memcpy(&head, wrapped.data() + 4096, sizeof head);
  head.base_time_ns = ~uint64_t{0} - 120;
  std::memcpy(wrapped.data() + 4096, &head, sizeof head);
  TraceContents checked = read_trace_bytes(wrapped, "t");
  CHECK(checked.events.count() == 7);
  TraceContents on_walk = read_trace_bytes(wrapped, "t", RecordCheck::OnFirstWalk);
  CHECK_THROWS_AS(on_walk.events.count(), RecordsNeedChecking);

  // A sealed chunk with a byte changed: the reader of heads alone takes it,
  // the first walk compares the checksum, and the checked read names it.
  std::vector<uint8_t> flipped = bytes;
  flipped[4096 + sizeof(layout::ChunkHead) + 3] ^= 0x40;
  TraceContents unchecked = read_trace_bytes(flipped, "t", RecordCheck::OnFirstWalk);
  CHECK_THROWS_AS(unchecked.events.count(), RecordsNeedChecking);
  CHECK_THROWS_WITH_AS(read_trace_bytes(flipped, "t"),
                       "t: corrupt chunk at byte offset 4096 (checksum mismatch)", TraceError);
  std::remove(path.c_str());
}

TEST_CASE(
    "walks read a trace file's chunks from the file; one cut after it was opened is an error, not a crash") {
  std::string path = temp_path("from-file.vstrace");
  write_small_trace(path, 4096 * 5);
  std::vector<uint8_t> whole = slurp(path);

  TraceContents from_file = read_trace_file(path, RecordCheck::OnFirstWalk);
  CHECK(from_file.events.count() == 7);
  finish_first_walk(from_file);
  CHECK(from_file.record_count == 14);
  check_same_trace(from_file, read_trace_bytes(whole, "t"));
  check_same_trace(read_trace_file(path), read_trace_bytes(whole, "t"));

  // A sealed chunk with a byte changed, read from the file: the first walk
  // compares the checksum of the bytes it read.
  std::vector<uint8_t> flipped = whole;
  flipped[4096 + sizeof(layout::ChunkHead) + 3] ^= 0x40;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(flipped.data()), static_cast<std::streamsize>(flipped.size()));
  }
  TraceContents unchecked = read_trace_file(path, RecordCheck::OnFirstWalk);
  CHECK_THROWS_AS(unchecked.events.count(), RecordsNeedChecking);

  // The file cut short once its chunk heads were read: a mapped page past
  // the new end would be a SIGBUS; the read says what happened.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(whole.data()), static_cast<std::streamsize>(whole.size()));
  }
  TraceContents opened = read_trace_file(path, RecordCheck::OnFirstWalk);
  REQUIRE(truncate(path.c_str(), 4096 + 16) == 0);
  CHECK_THROWS_WITH_AS(opened.events.count(),
                       ("cannot read " + path + ": the file is shorter than when it was opened").c_str(),
                       std::runtime_error);
  std::remove(path.c_str());
}

TEST_CASE("a newer format version is refused by name") {
  std::string path = temp_path("newer.vstrace");
  write_small_trace(path);
  std::vector<uint8_t> bytes = slurp(path);
  bytes[8] = 9;
  CHECK_THROWS_WITH_AS(read_trace_bytes(bytes, "t"), doctest::Contains("newer vramscope (trace format 9"),
                       TraceError);
  std::remove(path.c_str());
}

TEST_CASE("a ranged unmap frees every mapping it covers") {
  std::string path = temp_path("vmm.vstrace");
  {
    SimpleTraceWriter w(path, sample_header());
    auto& e = w.encoder();
    for (int i = 0; i < 3; ++i) {
      CHECK(e.alloc({.ticks = 1'000'010 + static_cast<uint64_t>(i), .kind = MemoryKind::VirtualMap,
                     .api = Api::cuMemMap, .address = 0x10000000ull + static_cast<uint64_t>(i) * (4 << 20),
                     .size = 4 << 20}));
    }
    CHECK(e.free({.ticks = 1'000'100, .kind = MemoryKind::VirtualMap, .api = Api::cuMemUnmap,
                  .address = 0x10000000ull, .size = 12 << 20}));
    CHECK(e.end(1'000'200, EndReason::Exit, 0, 1));
  }
  TraceContents t = read_trace_file(path);
  int frees = 0;
  uint64_t freed = 0;
  for (const auto& ev : t.events.collect()) {
    if (ev.type == EventType::Free) {
      ++frees;
      freed += ev.size;
    }
  }
  CHECK(frees == 3);
  CHECK(freed == (12u << 20));
  std::remove(path.c_str());
}

TEST_CASE("a ranged unmap that ends at the top of the address space frees every mapping it covers") {
  // Its end, address + size, is 2^64 (0 in 64 bits): the pairing took the
  // range for one that ends before its mappings, and freed only the first.
  const std::string path = temp_path("vmm-top.vstrace");
  constexpr uint64_t start = UINT64_MAX - (12ull << 20) + 1;
  {
    SimpleTraceWriter w(path, sample_header());
    auto& e = w.encoder();
    for (uint64_t i = 0; i < 3; ++i) {
      CHECK(e.alloc({.ticks = 1'000'010 + i,
                     .kind = MemoryKind::VirtualMap,
                     .api = Api::cuMemMap,
                     .address = start + i * (4 << 20),
                     .size = 4 << 20}));
    }
    CHECK(e.free({.ticks = 1'000'100,
                  .kind = MemoryKind::VirtualMap,
                  .api = Api::cuMemUnmap,
                  .address = start,
                  .size = 12 << 20}));
    CHECK(e.end(1'000'200, EndReason::Exit, 0, 1));
  }
  const TraceContents t = read_trace_file(path);
  std::vector<uint64_t> freed;
  for (const auto& ev : t.events.collect()) {
    if (ev.type == EventType::Free) freed.push_back(ev.address);
  }
  CHECK(freed == std::vector<uint64_t>{start, start + (4 << 20), start + (8 << 20)});
  std::remove(path.c_str());
}

TEST_CASE("sizes parse the way people write them") {
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("512MiB") == 512ull << 20);
  CHECK(parse_size("512M") == 512ull << 20);
  CHECK(parse_size("1.5 GiB") == 3ull << 29);
  CHECK(parse_size("2g") == 2ull << 30);
  CHECK(parse_size("20GB") == 20ull << 30);
  CHECK(parse_size(" 7 KiB ") == 7ull << 10);
  CHECK(parse_size("1T") == 1ull << 40);
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("MiB"));
  CHECK_FALSE(parse_size("-5MiB"));
  CHECK_FALSE(parse_size("5 parsecs"));
  CHECK_FALSE(parse_size("99999999999999999999"));
  CHECK_FALSE(parse_size("16777216T"));
  CHECK(format_size(0) == "0 B");
  CHECK(format_size(1023) == "1023 B");
  CHECK(format_size(1024) == "1.00 KiB");
  CHECK(format_size(3ull << 29) == "1.50 GiB");
  CHECK(format_size_delta(-1024) == "-1.00 KiB");
  CHECK(format_size_delta(2048) == "+2.00 KiB");
}
