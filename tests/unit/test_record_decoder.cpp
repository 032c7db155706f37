// Record decoder: a chunk decoded a part at a time gives what it gives whole,
// and a chunk's events are known to be in time order when they are.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "formats/chunk_encoder.h"
#include "formats/record_decoder.h"

using namespace vramscope;
using namespace vramscope::trace;

namespace {

struct Chunk {
  std::vector<uint8_t> payload = std::vector<uint8_t>(256 * 1024);
  uint32_t used = 0;
  layout::ChunkHead head{layout::kChunkMagic, 3, 0, 0, 5'000'000, 1'000};
};

// Allocations and frees whose fields vary in length, from 1-byte varints to
// 10-byte ones, with markers between them.
Chunk sample_chunk() {
  Chunk chunk;
  ChunkEncoder encoder;
  encoder.start(chunk.payload.data(), static_cast<uint32_t>(chunk.payload.size()), chunk.head.base_ticks);
  uint64_t ticks = chunk.head.base_ticks;
  for (uint64_t i = 0; i < 3000; ++i) {
    ticks += (i * 7919) % 5 == 0 ? (1ull << (i % 50)) : i % 3;
    AllocFields f;
    f.ticks = ticks;
    f.kind = i % 97 == 0 ? MemoryKind::VirtualMap : MemoryKind::Device;
    f.api = i % 97 == 0 ? Api::cuMemMap : Api::cuMemAlloc;
    f.device = i % 211 == 0 ? 1 : 0;
    f.address = (0x7f00'0000'0000ull + (i % 13) * 0x20'0000) << (i % 64 == 0 ? 8 : 0);
    f.size = i % 4 == 0 ? 512 : (1ull << (i % 63));
    f.stack = StackId{static_cast<uint32_t>(i % 6 == 0 ? 1 : 1 + i % 300)};
    REQUIRE((i % 2 == 0 ? encoder.alloc(f) : encoder.free(f)));
    if (i % 101 == 0) REQUIRE(encoder.marker(layout::kMarker, ticks, StringId{7}));
  }
  chunk.used = encoder.used();
  return chunk;
}

std::vector<Event> decode_whole(std::span<const uint8_t> payload, const layout::ChunkHead& head, bool exact,
                                ChunkResult* result = nullptr) {
  RecordDecoder decoder(nullptr, 2.5e9, 1'000);
  std::vector<Event> events;
  ChunkResult r = decoder.decode_chunk(payload, head, exact, &events);
  if (result) *result = r;
  return events;
}

std::vector<Event> decode_in_parts(std::span<const uint8_t> payload, const layout::ChunkHead& head,
                                   bool exact, size_t part, ChunkResult* result = nullptr) {
  RecordDecoder decoder(nullptr, 2.5e9, 1'000);
  std::vector<Event> events;
  std::vector<Event> buffer(part);
  decoder.start_chunk(payload, head, exact);
  ChunkResult r = ChunkResult::Ok;
  while (!decoder.chunk_done() && r == ChunkResult::Ok) {
    size_t written = 0;
    r = decoder.decode_events(buffer, written);
    REQUIRE(written <= part);
    events.insert(events.end(), buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(written));
  }
  if (result) *result = r;
  return events;
}

// The smallest or the largest value whose varint is `length` bytes (1 to 10).
uint64_t varint_of_length(uint32_t length, bool largest) {
  if (largest) return length >= 10 ? UINT64_MAX : (1ull << (7 * length)) - 1;
  return length == 1 ? 0 : 1ull << (7 * (length - 1));
}

bool same_events(const std::vector<Event>& a, const std::vector<Event>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const Event& x = a[i];
    const Event& y = b[i];
    if (x.type != y.type || x.kind != y.kind || x.api != y.api || x.via != y.via || x.thread != y.thread ||
        x.device != y.device || x.time_ns != y.time_ns || x.address != y.address || x.size != y.size ||
        x.stream != y.stream || x.stack != y.stack || x.name != y.name) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("a chunk decoded a part at a time gives the events it gives whole") {
  Chunk chunk = sample_chunk();
  std::span<const uint8_t> records(chunk.payload.data(), chunk.used);
  std::vector<Event> whole = decode_whole(records, chunk.head, true);
  REQUIRE(whole.size() == 3000 + 30);
  for (size_t part : {1, 2, 7, 1024, 5000}) {
    CAPTURE(part);
    CHECK(same_events(decode_in_parts(records, chunk.head, true, part), whole));
  }
}

TEST_CASE("a chunk cut at any byte decodes the same in parts as whole") {
  Chunk chunk = sample_chunk();
  for (uint32_t cut = 0; cut <= 2000; ++cut) {
    CAPTURE(cut);
    std::span<const uint8_t> records(chunk.payload.data(), cut);
    ChunkResult whole_result, parts_result;
    std::vector<Event> whole = decode_whole(records, chunk.head, false, &whole_result);
    std::vector<Event> parts = decode_in_parts(records, chunk.head, false, 3, &parts_result);
    CHECK(whole_result == parts_result);
    CHECK(same_events(parts, whole));
  }
}

TEST_CASE("a chunk's events are known to be in time order unless its tick deltas overflow") {
  Chunk chunk = sample_chunk();
  RecordDecoder decoder(nullptr, 2.5e9, 1'000);
  CHECK(decoder.decode_chunk({chunk.payload.data(), chunk.used}, chunk.head, true, nullptr) ==
        ChunkResult::Ok);
  CHECK(decoder.chunk_in_time_order());

  // Two allocations 2^63 ticks apart each: the second's time wraps around.
  std::vector<uint8_t> payload;
  for (int i = 0; i < 2; ++i) {
    uint8_t record[32];
    uint8_t* p = record;
    *p++ = layout::kAlloc;
    p = layout::put_varint(p, 1ull << 63);
    *p++ = 0, *p++ = 1, *p++ = 0;  // kind, api, via
    p = layout::put_varint(p, 0);  // device
    p = layout::put_varint(p, 0);  // stream
    p = layout::put_varint(p, layout::zigzag(4096));
    p = layout::put_varint(p, 256);
    p = layout::put_varint(p, 0);
    payload.insert(payload.end(), record, p);
  }
  RecordDecoder ns_decoder(nullptr, 0, 0);
  std::vector<Event> events;
  CHECK(ns_decoder.decode_chunk(payload, chunk.head, true, &events) == ChunkResult::Ok);
  REQUIRE(events.size() == 2);
  CHECK_FALSE(ns_decoder.chunk_in_time_order());
  CHECK(ns_decoder.events_in_time_order() == (events[0].time_ns <= events[1].time_ns));
}

TEST_CASE("varints of every length decode to their exact values") {
  // Each field of Alloc and Free records takes every length its varint can
  // have, the smallest and the largest value of each; the lengths of the
  // fields change at different paces, so that records mix short and long
  // varints, with and without a size, a stack and their attributes.
  const layout::ChunkHead head{layout::kChunkMagic, 3, 0, 0, 5'000'000, 1'000};
  const uint64_t start_ns = 4'000'000;
  std::vector<uint8_t> payload(64 * 1024);
  ChunkEncoder encoder;
  encoder.start(payload.data(), static_cast<uint32_t>(payload.size()), head.base_ticks);
  std::vector<Event> expected;
  uint64_t ticks = head.base_ticks;
  uint64_t address = 0;
  uint64_t alloc_size = 0;
  AllocFields f;
  for (uint32_t i = 0; i < 400; ++i) {
    // Time deltas of 1 to 8 bytes, and once each of 9 and 10: their sum stays below 2^64.
    const uint32_t time_length = i == 100 ? 9 : i == 101 ? 10 : 1 + i % 8;
    ticks += varint_of_length(time_length, time_length < 8 && i / 8 % 2 == 1);
    f.ticks = ticks;
    const uint64_t address_zigzag = varint_of_length(1 + i % 10, i / 10 % 2 == 1);
    address += static_cast<uint64_t>(layout::unzigzag(address_zigzag));  // up and down, wrapping
    f.address = address;
    const bool alloc = i % 2 == 0 || i % 7 == 0;
    if (alloc) {
      if (i % 6 != 0) alloc_size = varint_of_length(1 + i / 2 % 10, i / 3 % 2 == 1);  // else the same size
      f.size = alloc_size;
    } else {
      f.size = i % 4 == 1 ? 0 : varint_of_length(1 + i / 2 % 10, i / 5 % 2 == 1);  // 0: none written
    }
    if (i % 3 != 0) {  // else the same stack
      const uint32_t stack_length = 1 + i % 5;
      f.stack = StackId{stack_length == 5 && i / 5 % 2 == 1
                            ? UINT32_MAX
                            : static_cast<uint32_t>(varint_of_length(stack_length, i / 5 % 2 == 1))};
    }
    if (i % 37 == 0) {  // new attributes
      f.kind = i % 74 == 0 ? MemoryKind::Device : MemoryKind::Managed;
      f.api = i % 74 == 0 ? Api::cuMemAlloc : Api::cuMemAllocManaged;
      f.via = Api::cudaMalloc;
      f.device = i;
      f.stream = varint_of_length(1 + i % 10, i % 2 == 1);
    }
    REQUIRE((alloc ? encoder.alloc(f) : encoder.free(f)));
    Event e;
    e.type = alloc ? EventType::Alloc : EventType::Free;
    e.kind = f.kind;
    e.api = f.api;
    e.via = f.via;
    e.thread = ThreadIndex{head.thread};
    e.device = f.device;
    e.time_ns = head.base_time_ns + (ticks - head.base_ticks) - start_ns;
    e.address = address;
    e.size = f.size;
    e.stream = f.stream;
    e.stack = f.stack;
    expected.push_back(e);
  }
  std::span<const uint8_t> records(payload.data(), encoder.used());

  RecordDecoder decoder(nullptr, 0, start_ns);
  std::vector<Event> events;
  REQUIRE(decoder.decode_chunk(records, head, true, &events) == ChunkResult::Ok);
  REQUIRE(events.size() == expected.size());
  for (size_t i = 0; i < events.size(); ++i) {
    CAPTURE(i);
    CHECK(events[i].type == expected[i].type);
    CHECK(events[i].kind == expected[i].kind);
    CHECK(events[i].api == expected[i].api);
    CHECK(events[i].via == expected[i].via);
    CHECK(events[i].thread == expected[i].thread);
    CHECK(events[i].device == expected[i].device);
    CHECK(events[i].time_ns == expected[i].time_ns);
    CHECK(events[i].address == expected[i].address);
    CHECK(events[i].size == expected[i].size);
    CHECK(events[i].stream == expected[i].stream);
    CHECK(events[i].stack == expected[i].stack);
    CHECK(events[i].error == 0);
    CHECK(events[i].free_bytes == 0);
    CHECK(events[i].total_bytes == 0);
    CHECK(events[i].name == StringId{});
    CHECK(events[i].child_pid == 0);
  }
  CHECK(decoder.events_in_time_order());
  CHECK(decoder.address_event_kinds() == ((1u << static_cast<unsigned>(MemoryKind::Device)) |
                                          (1u << static_cast<unsigned>(MemoryKind::Managed))));
  // A part at a time: a record that would give an event past the part waits for the next.
  for (size_t part : {1, 3}) {
    CAPTURE(part);
    RecordDecoder parts_decoder(nullptr, 0, start_ns);
    parts_decoder.start_chunk(records, head, true);
    std::vector<Event> parts;
    std::vector<Event> buffer(part);
    while (!parts_decoder.chunk_done()) {
      size_t written = 0;
      REQUIRE(parts_decoder.decode_events(buffer, written) == ChunkResult::Ok);
      parts.insert(parts.end(), buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(written));
    }
    CHECK(same_events(parts, events));
  }
  RecordDecoder checker(nullptr, 0, start_ns);
  CHECK(checker.decode_chunk(records, head, true, nullptr) == ChunkResult::Ok);
  CHECK(checker.records_seen() == expected.size());
}
