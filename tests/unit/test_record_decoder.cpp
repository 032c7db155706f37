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
