// The decoded trace: what the injector records and the analyzer reads back.
// The byte layout of these records is in docs/trace-format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/flat_table.h"

namespace vramscope::trace {

inline constexpr uint16_t kFormatVersion = 1;

// Typed ids that cross the trace format, so a stack id is never passed where a
// string id belongs. Value 0 means "none" for every id type.
template <typename Tag>
struct Id {
  uint32_t value = 0;
  constexpr bool valid() const { return value != 0; }
  friend constexpr bool operator==(Id, Id) = default;
  friend constexpr auto operator<=>(Id, Id) = default;
};
using StringId = Id<struct StringTag>;
using StackId = Id<struct StackTag>;
using FrameId = Id<struct FrameTag>;
using ThreadIndex = Id<struct ThreadTag>;

// What kind of memory an allocation is. Each kind has its own address space in
// the analyzer: a VMM handle and a pointer never match each other.
enum class MemoryKind : uint8_t {
  Device = 0,          // cuMemAlloc, cuMemAllocPitch
  AsyncPool = 1,       // cuMemAllocAsync, cuMemAllocFromPoolAsync
  Managed = 2,         // cuMemAllocManaged
  PinnedHost = 3,      // cuMemHostAlloc, cuMemAllocHost
  HostRegistered = 4,  // cuMemHostRegister (host memory the job owns)
  VirtualReserve = 5,  // cuMemAddressReserve: address range, no memory
  VirtualPhysical = 6, // cuMemCreate: physical memory; "address" is the handle
  VirtualMap = 7,      // cuMemMap: physical memory mapped into a range
  MemoryPool = 8,      // cuMemPoolCreate: a pool object; size 0
  // From the NVTX memory API (an allocator's own annotations), not the driver:
  // the bytes are inside segments already counted, so they occupy nothing more.
  Block = 9,           // nvtxMemRegionsRegister: a tensor block in a heap; stream = the heap's handle
  Heap = 10,           // nvtxMemHeapRegister: an allocator heap; address = its handle (its base pointer)
};
inline constexpr int kMemoryKindCount = 11;
std::string_view to_string(MemoryKind kind);
// Kinds whose bytes occupy GPU memory (what cuMemGetInfo's "free" loses).
constexpr bool occupies_device_memory(MemoryKind k) {
  return k == MemoryKind::Device || k == MemoryKind::AsyncPool || k == MemoryKind::VirtualPhysical;
}

// Allocations are paired with frees per address space: device pointers from
// cuMemAlloc, cuMemAllocAsync and cuMemAllocManaged are all freed by address
// (cuMemFree frees any of them), VMM handles are not pointers at all.
// NVTX blocks and heaps are an allocator's view of memory inside segments:
// their addresses overlap the segments', so each has its own space too.
enum class AddressSpace : uint8_t {
  DevicePointer,
  PinnedHost,
  HostRegistered,
  Reserve,
  Physical,
  Map,
  Pool,
  Block,
  Heap
};
constexpr AddressSpace address_space(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::Device:
    case MemoryKind::AsyncPool:
    case MemoryKind::Managed:
      return AddressSpace::DevicePointer;
    case MemoryKind::PinnedHost:
      return AddressSpace::PinnedHost;
    case MemoryKind::HostRegistered:
      return AddressSpace::HostRegistered;
    case MemoryKind::VirtualReserve:
      return AddressSpace::Reserve;
    case MemoryKind::VirtualPhysical:
      return AddressSpace::Physical;
    case MemoryKind::VirtualMap:
      return AddressSpace::Map;
    case MemoryKind::MemoryPool:
      return AddressSpace::Pool;
    case MemoryKind::Block:
      return AddressSpace::Block;
    case MemoryKind::Heap:
      return AddressSpace::Heap;
  }
  return AddressSpace::DevicePointer;
}

// Where a live allocation is found: by its address within its address space.
struct AddressKey {
  AddressSpace space;
  uint64_t address;
  bool operator==(const AddressKey&) const = default;
  size_t hash() const { return mix_hash(address ^ (static_cast<uint64_t>(space) << 56)); }
};

// The API function that did the work (driver level) or that asked for it
// (runtime level, recorded as `via`).
enum class Api : uint8_t {
  None = 0,
  // Driver API.
  cuMemAlloc = 1,
  cuMemAllocPitch,
  cuMemFree,
  cuMemAllocAsync,
  cuMemAllocFromPoolAsync,
  cuMemFreeAsync,
  cuMemAllocManaged,
  cuMemHostAlloc,
  cuMemAllocHost,
  cuMemFreeHost,
  cuMemHostRegister,
  cuMemHostUnregister,
  cuMemAddressReserve,
  cuMemAddressFree,
  cuMemCreate,
  cuMemRelease,
  cuMemMap,
  cuMemUnmap,
  cuMemPoolCreate,
  cuMemPoolDestroy,
  cuMemPoolTrimTo,
  // Runtime API.
  cudaMalloc = 64,
  cudaMallocPitch,
  cudaFree,
  cudaMallocAsync,
  cudaMallocFromPoolAsync,
  cudaFreeAsync,
  cudaMallocManaged,
  cudaMallocHost,
  cudaHostAlloc,
  cudaFreeHost,
  cudaHostRegister,
  cudaHostUnregister,
  cudaMemPoolCreate,
  cudaMemPoolDestroy,
  cudaMemPoolTrimTo,
  cudaMalloc3D,
  // NVTX memory API (what an allocator says about its own blocks).
  nvtxMemHeapRegister = 128,
  nvtxMemHeapUnregister,
  nvtxMemHeapReset,
  nvtxMemRegionsRegister,
  nvtxMemRegionsResize,
  nvtxMemRegionsUnregister,
  // A framework's caching allocator, in its own words (a PyTorch snapshot's
  // out-of-memory entry): the request it could not serve.
  cachingAllocator = 192,
};
std::string_view to_string(Api api);

enum class EventType : uint8_t {
  Alloc,        // address, size
  Free,         // address (size filled in by the reader from the matching Alloc, 0 if unknown)
  FailedAlloc,  // size requested, error, free_bytes/total_bytes at that moment
  MemInfo,      // free_bytes/total_bytes sample
  Marker,       // name
  RangePush,    // name
  RangePop,     // name may be 0
  Fork,         // child_pid
  PoolTrim,     // address = pool, size = bytes to keep
};

// One timed event, decoded. Fields that a type does not use are zero.
struct Event {
  EventType type = EventType::Alloc;
  MemoryKind kind = MemoryKind::Device;
  Api api = Api::None;  // driver function
  Api via = Api::None;  // runtime function that called it, if any
  ThreadIndex thread;
  uint32_t device = 0;
  uint64_t time_ns = 0;  // since the trace's clock origin (header.start_ns)
  uint64_t address = 0;
  uint64_t size = 0;
  uint64_t stream = 0;
  StackId stack;
  int32_t error = 0;
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
  StringId name;
  uint32_t child_pid = 0;
};

struct DeviceInfo {
  uint32_t ordinal = 0;
  std::string name;
  uint64_t total_bytes = 0;
  bool simulated = false;
};

struct Header {
  uint16_t version = kFormatVersion;
  std::string clock = "CLOCK_MONOTONIC";
  uint64_t start_ns = 0;         // clock reading at the trace's start
  uint64_t start_unix_ns = 0;    // wall clock at the same moment
  // Records count time in ticks of this frequency (the TSC, cheaper to read
  // than the clock); 0 means ticks are nanoseconds.
  uint64_t ticks_per_second = 0;
  uint32_t pid = 0;
  uint32_t parent_pid = 0;
  std::string host;
  int32_t rank = -1;             // from RANK, OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID; -1 if none
  int32_t local_rank = -1;
  int32_t world_size = -1;
  std::vector<std::string> command_line;
  std::vector<DeviceInfo> devices;  // devices known at start; more come as Device records
};

// A node of the stack prefix tree: the stack with id `id` is `parent`'s stack
// plus one frame, the innermost.
struct StackNode {
  StackId id;
  StackId parent;
  uint64_t ip = 0;   // native return address, when frame is not valid
  FrameId frame;     // a non-native frame (Python), when valid
};

struct Frame {
  FrameId id;
  StringId function;
  StringId file;
  uint32_t line = 0;
};

struct Module {
  std::string path;
  uint64_t base = 0;   // load bias (dlpi_addr)
  uint64_t start = 0;  // lowest mapped address of the executable segments
  uint64_t end = 0;
  std::string build_id;  // hex
};

struct Thread {
  ThreadIndex index;
  uint64_t os_tid = 0;
  std::string name;
};

enum class EndReason : uint8_t { Exit = 0, Signal = 1, Abort = 2, Exec = 3 };
struct End {
  uint64_t time_ns = 0;
  EndReason reason = EndReason::Exit;
  int32_t code = 0;  // exit status or signal number
  uint64_t chunks = 0;  // chunks the file had when the end was written
};

}  // namespace vramscope::trace
