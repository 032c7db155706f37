// The report on one trace: plain data computed by analyze_trace() and printed
// by report_json and report_text. Field meanings are documented in docs/report.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
  bool inlined = false;  // a function inlined where the next frame out stands
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
  // What most of these bytes are for (see Categories in docs/report.md);
  // both empty when the allocations are not categorized (segments around tensor blocks).
  std::string category;
  std::string confidence;
};

// Live tensors of one category at one moment.
struct CategoryBytes {
  std::string category;
  uint64_t bytes = 0;
  uint64_t count = 0;
};

struct DevicePeak {
  uint64_t bytes = 0;             // live device bytes at the peak
  uint64_t time_ns = 0;           // first moment the peak was reached
  uint64_t live_allocations = 0;  // of the kinds that occupy device memory
  std::vector<SiteBytes> sites;   // what was live then, by bytes descending
  std::vector<CategoryBytes> categories;  // the tensors live then, by bytes descending
};

// Free holes inside this process's segments at one moment: see
// docs/report.md, Fragmentation.
struct FragmentationReport {
  uint64_t time_ns = 0;
  uint64_t segments = 0;
  uint64_t segment_bytes = 0;  // reserved
  uint64_t block_bytes = 0;    // allocated: blocks, and segments without block data whole
  uint64_t total_free_bytes = 0;
  uint64_t largest_free_bytes = 0;
  uint64_t reserved_but_unallocated_bytes = 0;
  double metric = 0;  // 1 - largest_free / total_free; 0 when nothing is free
};

struct DeviceFragmentation {
  bool has_block_data = false;  // an allocator annotated blocks in this device's segments
  std::optional<FragmentationReport> at_peak;
  std::optional<FragmentationReport> worst;  // highest metric with something free; first such moment
  // At the trace's end (a snapshot's moment, for an imported one); with block data only.
  std::optional<FragmentationReport> at_end;
};

// The device's tensor requests replayed through models of PyTorch's caching
// allocator (analyzer/replay.h), for the advice; with block data only.
struct ReplayFigures {
  size_t requests = 0;
  uint64_t peak_reserved = 0;             // PyTorch's defaults, no limit
  uint64_t peak_reserved_expandable = 0;  // expandable_segments:True
  uint64_t smallest_capacity = 0;         // PyTorch's defaults; 0 when not sought (a long trace)
  uint64_t smallest_capacity_expandable = 0;
};

struct DeviceReport {
  uint32_t ordinal = 0;
  std::string name;
  bool simulated = false;
  uint64_t total_bytes = 0;
  DevicePeak peak;
  uint64_t live_at_exit_bytes = 0;  // kinds that occupy device memory
  DeviceFragmentation fragmentation;
  std::optional<ReplayFigures> replay;
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
  bool counted = false;  // in the headline (LeakRule, analyzer/leak_finder.h)
  bool cached = false;   // segments an allocator keeps as its cache
};

struct Leaks {
  uint64_t bytes = 0;             // headline: the groups that count (LeakRule)
  uint64_t count = 0;             // allocations behind `bytes`
  std::vector<LeakGroup> groups;  // those that count first, each part by bytes descending
};

// Why an allocation failed: the first rule of docs/report.md that holds.
enum class OomVerdict {
  NotOutOfMemory,
  AnotherProcess,
  Fragmentation,
  OutsizedRequest,
  Leak,
  OverSubscription
};
std::string_view to_string(OomVerdict verdict);

struct OomEvidence {
  uint64_t allocated_bytes = 0;
  uint64_t reserved_bytes = 0;
  uint64_t outside_process_bytes = 0;  // total - free - reserved, at least 0
  uint64_t largest_free_bytes = 0;     // inside this process's segments
  uint64_t total_free_bytes = 0;
  uint64_t shortfall_bytes = 0;  // requested - free, at least 0
};

// The site whose live bytes grew most before the failure.
struct SiteGrowth {
  Site site;
  uint64_t growth_bytes = 0;
  uint64_t bytes = 0;  // live at the failure
};

struct OomDiagnosis {
  OomVerdict verdict = OomVerdict::OverSubscription;
  std::string explanation;
  OomEvidence evidence;
  std::optional<SiteGrowth> grew;
  std::vector<SiteBytes> sites;  // responsible sites, by bytes descending
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
  FragmentationReport fragmentation;
  OomDiagnosis diagnosis;
  // A framework allocator's try at the driver (`via` the allocator) is part
  // of one request of the job: the allocator's own notice, later in the
  // list, at this index, reports it (see fold_allocator_attempts).
  std::optional<size_t> attempt_of;
  uint32_t driver_attempts = 0;  // a notice's: its tries at the driver that failed before it
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

// Iterations, categories and growth leaks: see docs/report.md.
struct IterationTimes {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
};

struct Iterations {
  std::string method = "none";  // "nvtx range 'NAME'", "marker 'NAME'", "repeating pattern", "none"
  std::vector<IterationTimes> list;
};

struct CategoryTotals {
  std::string category;
  uint64_t peak_bytes = 0;  // highest live bytes of the category, all devices together
  uint64_t allocations = 0;
  uint64_t allocated_bytes = 0;
  std::string confidence;  // of the most allocated bytes of the category
  std::string reason;      // likewise
};

struct Categories {
  std::string source = "none";          // "device memory", "tensor blocks" or "none"
  std::vector<CategoryTotals> totals;  // every category, in a fixed order; empty with no source
};

struct GrowthLeak {
  trace::MemoryKind kind = trace::MemoryKind::Device;
  uint32_t device = 0;
  uint64_t bytes_per_iteration = 0;
  uint64_t iterations = 0;
  uint64_t live_bytes_at_last_iteration = 0;
  Site site;
  Stack stack;
};

// One remedy the trace supports, with its saving estimated from the trace:
// see docs/report.md, Advice.
struct AdviceFigure {
  std::string name;
  uint64_t bytes = 0;
};

struct Advice {
  std::string kind;           // a fixed id, e.g. "plain-sgd"
  std::string title;
  uint64_t saving_bytes = 0;  // per GPU, at the peak
  uint32_t device = 0;        // whose peak (or leak, or fragmentation) the figures come from
  std::string detail;         // one or two sentences, figures in human units
  std::vector<AdviceFigure> figures;  // the figures the saving rests on
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
  Iterations iterations;
  Categories categories;
  std::vector<GrowthLeak> growth_leaks;  // by live_bytes_at_last_iteration descending
  std::vector<Advice> advice;            // by saving_bytes descending
};

// Kinds whose live-at-exit bytes make up the headline "leaked" figure: GPU
// memory, managed memory and pinned host memory. Address reservations,
// mappings of physical memory counted elsewhere, registered host memory and
// pool objects are reported per kind but not added up.
// Whether a failed allocation is a request of the job that failed for want
// of memory: every verdict but "not out of memory" (a request the driver
// refused for another reason, as PyTorch's expandable segments probe
// cuMemCreate and go on). An allocator's tries at the driver count in its
// notice, not again.
inline bool ran_out_of_memory(const FailedAllocation& failure) {
  return failure.diagnosis.verdict != OomVerdict::NotOutOfMemory && !failure.attempt_of;
}
// The failed requests of the job, whatever their error: an allocator's tries
// at the driver count in its notice.
inline size_t failed_request_count(const std::vector<FailedAllocation>& failures) {
  size_t n = 0;
  for (const FailedAllocation& f : failures) n += !f.attempt_of;
  return n;
}
// The failed requests that ran out of memory.
inline size_t out_of_memory_count(const std::vector<FailedAllocation>& failures) {
  size_t n = 0;
  for (const FailedAllocation& f : failures) n += ran_out_of_memory(f);
  return n;
}

constexpr bool counts_as_leaked_memory(trace::MemoryKind k) {
  return trace::occupies_device_memory(k) || k == trace::MemoryKind::Managed ||
         k == trace::MemoryKind::PinnedHost;
}

}  // namespace vramscope::analysis
