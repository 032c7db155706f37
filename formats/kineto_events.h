// The parts of a Kineto Chrome trace the importer uses, read in one SAX pass
// that builds no JSON tree: a trace holds hundreds of thousands of events,
// most of them kernels and flows that are skipped. Internal to formats/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vramscope::trace::kineto {

// A CUDA `[memory]` or `[OutOfMemory]` event.
struct MemoryRecord {
  int64_t time_ns = 0;  // the file's clock, in ns
  uint32_t order = 0;   // among the memory records, in file order
  uint32_t thread = 0;  // index into KinetoRecords::threads
  uint32_t device = 0;
  bool out_of_memory = false;
  std::optional<uint64_t> address;
  int64_t bytes = 0;  // negative for a free; the size asked for, out of memory
  std::optional<int64_t> total_allocated;
  std::optional<int64_t> total_reserved;
};

// A `ProfilerStep#N` or user-annotation slice.
struct RangeRecord {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  uint32_t order = 0;  // in file order
  uint32_t thread = 0;
  std::string name;
};

struct ThreadRecord {
  uint64_t os_tid = 0;  // 0 when the trace's tid is no number
  std::string name;     // from its thread_name metadata, else ""
};

struct DeviceRecord {
  uint32_t id = 0;
  std::string name;
  uint64_t total_bytes = 0;
};

struct KinetoRecords {
  std::vector<MemoryRecord> memory;  // in file order
  std::vector<RangeRecord> ranges;
  std::vector<ThreadRecord> threads;   // those the records are on, in order of first use
  std::vector<DeviceRecord> devices;   // deviceProperties
  std::optional<int64_t> earliest_ns;  // of every event with a time
  std::optional<uint32_t> pid;         // of the first CUDA memory event
  int32_t rank = -1;                   // distributedInfo
  int32_t world_size = -1;
  uint64_t other_memory_events = 0;  // [memory] events of other devices than CUDA ones
};

// Throws TraceError: not JSON, not a Chrome trace, a field of the wrong type.
KinetoRecords read_kineto_records(std::string_view json, const std::string& source);

}  // namespace vramscope::trace::kineto
