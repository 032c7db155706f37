// The report on one trace: plain data computed by analyze_trace() and printed
// by report_json and report_text. Field meanings are documented in docs/report.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/trace_events.h"

namespace vramscope::analysis {

// One frame of a call stack, symbolized. `function` is "??" when nothing is
// known; `address` is the native return address (0 for a Python frame) and
// `module_offset` its offset from the module's load bias.
struct StackFrame {
  std::string function;
  std::string file;
  uint32_t line = 0;
  std::string module;
  uint64_t address = 0;
  uint64_t module_offset = 0;
};
using Stack = std::vector<StackFrame>;  // innermost first

// Where an allocation was asked for: the innermost frame outside the profiler,
// the CUDA libraries and the C/C++ runtime (see docs/report.md). A stack-less
// event has the site "<no stack>".
using Site = StackFrame;

// Live allocations that share a site; `stack` is the one call path of the
// group that holds the most bytes.
struct SiteBytes {
  Site site;
  uint64_t bytes = 0;
  uint64_t count = 0;
  Stack stack;
};

struct DevicePeak {
  uint64_t bytes = 0;             // live device bytes at the peak
  uint64_t time_ns = 0;           // first moment the peak was reached
  uint64_t live_allocations = 0;  // of the kinds that occupy device memory
  std::vector<SiteBytes> sites;   // what was live then, by bytes descending
};

struct DeviceReport {
  uint32_t ordinal = 0;
  std::string name;
  bool simulated = false;
  uint64_t total_bytes = 0;
  DevicePeak peak;
  uint64_t live_at_exit_bytes = 0;  // kinds that occupy device memory
};

// Allocations still live at the end of the trace that share kind, device and
// the whole call stack.
struct LeakGroup {
  trace::MemoryKind kind = trace::MemoryKind::Device;
  uint32_t device = 0;
  uint64_t bytes = 0;
  uint64_t count = 0;
  Site site;
  Stack stack;
};

struct Leaks {
  uint64_t bytes = 0;             // headline: see counts_as_leaked_memory()
  uint64_t count = 0;             // allocations behind `bytes`
  std::vector<LeakGroup> groups;  // every kind, by bytes descending
};

struct FailedAllocation {
  uint64_t time_ns = 0;
  uint32_t device = 0;
  trace::MemoryKind kind = trace::MemoryKind::Device;
  trace::Api api = trace::Api::None;
  trace::Api via = trace::Api::None;
  uint64_t requested_bytes = 0;
  int32_t error = 0;
  std::string error_name;
  uint64_t free_bytes = 0;  // cuMemGetInfo at that moment
  uint64_t total_bytes = 0;
  uint64_t live_bytes = 0;  // this process's live device bytes on `device`
  Site site;
  Stack stack;
};

struct KindTotals {
  trace::MemoryKind kind = trace::MemoryKind::Device;
  uint64_t allocations = 0;
  uint64_t frees = 0;  // matched frees
  uint64_t allocated_bytes = 0;
  uint64_t peak_bytes = 0;  // all devices together
  uint64_t live_at_exit_bytes = 0;
  uint64_t live_at_exit_count = 0;
};

struct ThreadTotals {
  uint32_t index = 0;
  uint64_t os_tid = 0;
  std::string name;
  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t allocated_bytes = 0;
  uint64_t failed_allocations = 0;
};

struct ApiCount {
  trace::Api api = trace::Api::None;
  trace::Api via = trace::Api::None;
  uint64_t count = 0;
};

struct ForkEvent {
  uint64_t time_ns = 0;
  uint32_t child_pid = 0;
};

struct EventCounts {
  uint64_t events = 0;
  uint64_t allocations = 0;
  uint64_t frees = 0;  // frees that matched a live allocation
  uint64_t failed_allocations = 0;
  uint64_t unmatched_frees = 0;  // frees of an address not live: ignored
  uint64_t missing_frees = 0;    // allocations at a still-live address
  uint64_t markers = 0;
  uint64_t forks = 0;
};

struct TraceFacts {
  std::string path;
  uint32_t pid = 0;
  uint32_t parent_pid = 0;
  std::string host;
  int32_t rank = -1;
  std::vector<std::string> command_line;
  uint64_t start_unix_ns = 0;  // wall clock at the trace's start: orders events across ranks
  bool cut_short = false;
  std::string cut_short_reason;
  std::optional<trace::End> end;
  uint64_t duration_ns = 0;
  uint64_t event_count = 0;
  uint64_t record_bytes = 0;
  uint64_t file_bytes = 0;
  double bytes_per_event = 0;
};

struct Report {
  TraceFacts trace;
  std::vector<DeviceReport> devices;  // by ordinal
  EventCounts counts;
  std::vector<KindTotals> kinds;  // kinds that occur, in enum order
  Leaks leaks;
  std::vector<FailedAllocation> failed_allocations;  // in time order
  std::vector<ThreadTotals> threads;                 // by index
  std::vector<ApiCount> apis;                        // by count descending
  std::vector<ForkEvent> forks;                      // in time order
};

// Kinds whose live-at-exit bytes make up the headline "leaked" figure: GPU
// memory, managed memory and pinned host memory. Address reservations,
// mappings of physical memory counted elsewhere, registered host memory and
// pool objects are reported per kind but not added up.
constexpr bool counts_as_leaked_memory(trace::MemoryKind k) {
  return trace::occupies_device_memory(k) || k == trace::MemoryKind::Managed ||
         k == trace::MemoryKind::PinnedHost;
}

}  // namespace vramscope::analysis
