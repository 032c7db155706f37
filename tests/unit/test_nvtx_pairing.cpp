// NVTX memory kinds in the reader: tensor blocks pair in their own address
// space, and a heap reset or unregister frees every live block of the heap.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "formats/trace_file_writer.h"
#include "formats/trace_reader.h"

using namespace vramscope::trace;

namespace {

constexpr uint64_t kHeapA = 0x7f0000000000;  // a heap's handle is its base pointer
constexpr uint64_t kHeapB = 0x7f0000400000;

std::string temp_path(const char* name) {
  return std::string(P_tmpdir) + "/vramscope-test-" + std::to_string(getpid()) + "-" + name;
}

Header header() {
  Header h;
  h.start_ns = 1'000'000;
  h.pid = 1;
  h.host = "test";
  return h;
}

AllocFields heap(uint64_t ticks, uint64_t handle, uint64_t size, Api api = Api::nvtxMemHeapRegister) {
  return {.ticks = ticks,
          .kind = MemoryKind::Heap,
          .api = api,
          .stream = handle,
          .address = handle,
          .size = size};
}

AllocFields block(uint64_t ticks, uint64_t heap_handle, uint64_t address, uint64_t size,
                  Api api = Api::nvtxMemRegionsRegister) {
  return {.ticks = ticks,
          .kind = MemoryKind::Block,
          .api = api,
          .stream = heap_handle,
          .address = address,
          .size = size};
}

struct Frees {
  int count = 0;
  uint64_t bytes = 0;
  std::vector<uint64_t> addresses;
};

Frees frees_of(const TraceContents& t, MemoryKind kind, Api api) {
  Frees f;
  for (const Event& e : t.events.collect()) {
    if (e.type != EventType::Free || e.kind != kind || e.api != api) continue;
    ++f.count;
    f.bytes += e.size;
    f.addresses.push_back(e.address);
  }
  return f;
}

}  // namespace

TEST_CASE("a heap reset frees every live block of that heap and nothing else") {
  std::string path = temp_path("nvtx-reset.vstrace");
  {
    SimpleTraceWriter w(path, header());
    auto& e = w.encoder();
    CHECK(e.alloc(heap(1'000'010, kHeapA, 2 << 20)));
    CHECK(e.alloc(heap(1'000'011, kHeapB, 2 << 20)));
    // The first block of a heap starts at its base: a different space, no clash.
    CHECK(e.alloc(block(1'000'020, kHeapA, kHeapA, 4096)));
    CHECK(e.alloc(block(1'000'021, kHeapA, kHeapA + 4096, 8192)));
    CHECK(e.alloc(block(1'000'022, kHeapA, kHeapA + 12288, 512)));
    CHECK(e.alloc(block(1'000'023, kHeapB, kHeapB, 1024)));
    // One block unregistered before the reset: freed once, not twice.
    CHECK(e.free(block(1'000'030, 0, kHeapA + 12288, 0, Api::nvtxMemRegionsUnregister)));
    CHECK(e.free(heap(1'000'040, kHeapA, 0, Api::nvtxMemHeapReset)));
    // A block registered again after the reset, at a freed address.
    CHECK(e.alloc(block(1'000'050, kHeapA, kHeapA, 256)));
    CHECK(e.end(1'000'100, EndReason::Exit, 0, 1));
  }
  TraceContents t = read_trace_file(path);
  Frees reset = frees_of(t, MemoryKind::Block, Api::nvtxMemHeapReset);
  CHECK(reset.count == 2);
  CHECK(reset.bytes == 4096 + 8192);
  CHECK(reset.addresses == std::vector<uint64_t>{kHeapA, kHeapA + 4096});
  CHECK(frees_of(t, MemoryKind::Block, Api::nvtxMemRegionsUnregister).bytes == 512);
  // The reset leaves no event of its own, and the heaps stay registered.
  CHECK(frees_of(t, MemoryKind::Heap, Api::nvtxMemHeapReset).count == 0);
  int events = 0;
  for (const Event& ev : t.events.collect())
    events += ev.type == EventType::Free || ev.type == EventType::Alloc;
  CHECK(events == 7 + 1 + 2);
  // Block frees follow the reset at its time, before the later allocation.
  REQUIRE(t.events.count() >= 2);
  CHECK(t.events.collect()[t.events.count() - 1].type == EventType::Alloc);
  CHECK(t.events.collect()[t.events.count() - 2].api == Api::nvtxMemHeapReset);
  std::remove(path.c_str());
}

TEST_CASE("a heap unregister frees the heap and its live blocks; a resize keeps the block in its heap") {
  std::string path = temp_path("nvtx-unregister.vstrace");
  {
    SimpleTraceWriter w(path, header());
    auto& e = w.encoder();
    CHECK(e.alloc(heap(1'000'010, kHeapA, 2 << 20)));
    CHECK(e.alloc(heap(1'000'011, kHeapB, 2 << 20)));
    CHECK(e.alloc(block(1'000'020, kHeapA, kHeapA, 4096)));
    CHECK(e.alloc(block(1'000'021, kHeapB, kHeapB, 1024)));
    // A resize is a free and an allocation; the new one names no heap.
    CHECK(e.free(block(1'000'030, 0, kHeapA, 0, Api::nvtxMemRegionsResize)));
    CHECK(e.alloc(block(1'000'031, 0, kHeapA, 65536, Api::nvtxMemRegionsResize)));
    CHECK(e.free(heap(1'000'040, kHeapA, 0, Api::nvtxMemHeapUnregister)));
    CHECK(e.end(1'000'100, EndReason::Exit, 0, 1));
  }
  TraceContents t = read_trace_file(path);
  Frees heaps = frees_of(t, MemoryKind::Heap, Api::nvtxMemHeapUnregister);
  CHECK(heaps.count == 1);
  CHECK(heaps.bytes == (2u << 20));
  Frees blocks = frees_of(t, MemoryKind::Block, Api::nvtxMemHeapUnregister);
  CHECK(blocks.count == 1);
  CHECK(blocks.bytes == 65536);  // the resized size
  CHECK(frees_of(t, MemoryKind::Block, Api::nvtxMemRegionsResize).bytes == 4096);
  // Heap B's block is untouched.
  for (const Event& ev : t.events.collect())
    CHECK_FALSE((ev.type == EventType::Free && ev.address == kHeapB));
  std::remove(path.c_str());
}
