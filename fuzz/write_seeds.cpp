// Writes the trace seeds no sample records (docs/fuzzing.md), into a folder:
//   nvtx_resize      an allocator's NVTX heaps with tensor blocks, one of them
//                    resized (nvtxMemRegionsResize: a free and an allocation
//                    at one address), then its heap unregistered;
//   vmm_unmap_range  three pages mapped into one reserved range, then one
//                    cuMemUnmap over all three.
// `scripts/fuzz.sh --coverage` showed the reader's code for both never run
// by the seeds or by 5.6 million executions of the trace target.
//
// Shrink them with fuzz/shrink_trace.py before they go into fuzz/corpus/trace.
//
// usage: vramscope_write_seeds DIR
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>

#include "formats/trace_file_writer.h"

namespace {

using namespace vramscope::trace;

constexpr uint64_t kMiB = uint64_t{1} << 20;

Header header() {
  Header h;
  h.start_ns = 1'000'000;
  h.pid = 1;
  h.host = "seed";
  h.command_line = {"./seed"};
  return h;
}

AllocFields fields(uint64_t ticks, MemoryKind kind, Api api, uint64_t stream, uint64_t address,
                   uint64_t size) {
  return {.ticks = ticks, .kind = kind, .api = api, .stream = stream, .address = address, .size = size};
}

void write_nvtx_resize(const std::string& path) {
  constexpr uint64_t kSegment = 0x7f0000000000, kHeapA = kSegment, kHeapB = kSegment + 2 * kMiB;
  SimpleTraceWriter w(path, header());
  ChunkEncoder& e = w.encoder();
  e.device(DeviceInfo{0, "seed GPU", 64 * kMiB, true});
  e.alloc(fields(1'000'001, MemoryKind::Device, Api::cuMemAlloc, 0, kSegment, 4 * kMiB));
  e.alloc(fields(1'000'010, MemoryKind::Heap, Api::nvtxMemHeapRegister, kHeapA, kHeapA, 2 * kMiB));
  e.alloc(fields(1'000'011, MemoryKind::Heap, Api::nvtxMemHeapRegister, kHeapB, kHeapB, 2 * kMiB));
  e.alloc(fields(1'000'020, MemoryKind::Block, Api::nvtxMemRegionsRegister, kHeapA, kHeapA, 4096));
  e.alloc(fields(1'000'021, MemoryKind::Block, Api::nvtxMemRegionsRegister, kHeapA, kHeapA + 4096, 8192));
  e.alloc(fields(1'000'022, MemoryKind::Block, Api::nvtxMemRegionsRegister, kHeapB, kHeapB, 1024));
  // The resize: the free names the block, the allocation its new size; neither names the heap.
  e.free(fields(1'000'030, MemoryKind::Block, Api::nvtxMemRegionsResize, 0, kHeapA, 0));
  e.alloc(fields(1'000'031, MemoryKind::Block, Api::nvtxMemRegionsResize, 0, kHeapA, 65536));
  e.free(fields(1'000'040, MemoryKind::Block, Api::nvtxMemRegionsUnregister, 0, kHeapB, 0));
  e.free(fields(1'000'050, MemoryKind::Heap, Api::nvtxMemHeapUnregister, 0, kHeapA, 0));
  e.free(fields(1'000'060, MemoryKind::Device, Api::cuMemFree, 0, kSegment, 0));
  e.end(1'000'100, EndReason::Exit, 0, 1);
  w.finish();
}

void write_vmm_unmap_range(const std::string& path) {
  constexpr uint64_t kRange = 0x7e0000000000, kPage = 2 * kMiB;
  SimpleTraceWriter w(path, header());
  ChunkEncoder& e = w.encoder();
  e.device(DeviceInfo{0, "seed GPU", 64 * kMiB, true});
  e.alloc(fields(1'000'001, MemoryKind::VirtualReserve, Api::cuMemAddressReserve, 0, kRange, 8 * kPage));
  for (uint64_t i = 0; i < 3; ++i) {
    e.alloc(fields(1'000'010 + i, MemoryKind::VirtualPhysical, Api::cuMemCreate, 0, 0x10 + i, kPage));
    e.alloc(fields(1'000'020 + i, MemoryKind::VirtualMap, Api::cuMemMap, 0, kRange + i * kPage, kPage));
  }
  e.free(fields(1'000'030, MemoryKind::VirtualMap, Api::cuMemUnmap, 0, kRange, 3 * kPage));
  for (uint64_t i = 0; i < 3; ++i)
    e.free(fields(1'000'040 + i, MemoryKind::VirtualPhysical, Api::cuMemRelease, 0, 0x10 + i, 0));
  e.free(fields(1'000'050, MemoryKind::VirtualReserve, Api::cuMemAddressFree, 0, kRange, 8 * kPage));
  e.end(1'000'100, EndReason::Exit, 0, 1);
  w.finish();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: vramscope_write_seeds DIR\n", stderr);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    write_nvtx_resize(dir + "/nvtx_resize");
    write_vmm_unmap_range(dir + "/vmm_unmap_range");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vramscope_write_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
