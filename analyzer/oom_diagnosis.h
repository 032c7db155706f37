// Why each failed allocation failed: the figures at that moment, what grew
// before it, and a verdict drawn from them by the rules of docs/report.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "analyzer/fragmentation.h"
#include "analyzer/live_memory.h"
#include "analyzer/report.h"
#include "analyzer/stack_resolver.h"
#include "formats/trace_reader.h"

namespace vramscope::analysis {

// The driver charges sizes rounded up to its granularity, which the trace
// does not record: "outside this process" may hold up to this much of this
// process's own memory per live segment (2 MiB: CUDA's usual granularity).
inline constexpr uint64_t kGranularitySlack = uint64_t{2} << 20;

// The figures at one failed allocation.
struct OomFacts {
  int32_t error = 0;  // not out of memory (is_out_of_memory): no rule but the first applies
  uint64_t requested_bytes = 0;
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t allocated_bytes = 0;
  uint64_t reserved_bytes = 0;
  uint64_t live_segments = 0;
  bool has_block_data = false;
  uint64_t total_free_bytes = 0;  // holes inside this process's segments
  uint64_t largest_free_bytes = 0;
  bool freed_before = false;  // something of the allocated kind was freed before it
};

// One site's live (allocated) bytes at the ends of the first three quarters
// of the events before the failure, and at the failure.
struct SiteTrend {
  uint64_t quarters[3] = {0, 0, 0};
  uint64_t at_failure = 0;
};

OomEvidence evidence_of(const OomFacts& facts);

struct RuledVerdict {
  OomVerdict verdict = OomVerdict::OverSubscription;
  int leak_site = -1;  // index into the trends, for a leak
};
RuledVerdict rule_verdict(const OomFacts& facts, const std::vector<SiteTrend>& sites);

// Records the facts at each failure during the walk over the events.
class OomWitness {
 public:
  struct Failure {
    size_t index = 0;
    uint64_t time_ns = 0;
    uint32_t device = 0;
    OomFacts facts;
    FragmentationFigures fragmentation;
  };
  // After `live` and `fragments` have applied events[index].
  void observe(size_t index, const trace::Event& event, const LiveChange& change, const LiveMemory& live,
               const FragmentationTracker& fragments) {
    if (change.what == LiveChange::What::Freed) freed(change.allocation);
    if (event.type == trace::EventType::FailedAlloc) observe_failure(index, event, live, fragments);
  }
  // observe() for a free of `a`.
  void freed(const Allocation& a) {
    if (a.kind == trace::MemoryKind::Block || is_segment_kind(a.kind)) {
      std::pair<uint32_t, bool> key{a.device, a.kind == trace::MemoryKind::Block};
      if (key != last_freed_) note_freed(key);  // frees come in runs of one kind
    }
  }
  const std::vector<Failure>& failures() const { return failures_; }

 private:
  void note_freed(std::pair<uint32_t, bool> key);
  void observe_failure(size_t index, const trace::Event& event, const LiveMemory& live,
                       const FragmentationTracker& fragments);

  std::vector<Failure> failures_;
  std::set<std::pair<uint32_t, bool>> freed_;  // (device, a block?) of what was freed so far
  std::pair<uint32_t, bool> last_freed_{UINT32_MAX, false};
};

// One diagnosis per recorded failure, in order. Replays the events once for
// the sites' live bytes at the points the rules look at.
std::vector<OomDiagnosis> diagnose_failures(const trace::TraceContents& trace, const OomWitness& witness,
                                            StackResolver& stacks);

// Fills the report's fragmentation figures (per device and per failure) and
// each failure's diagnosis; `report.failed_allocations` must hold the
// witness's failures, in the same order.
void add_fragmentation_and_diagnoses(Report& report, const trace::TraceContents& trace,
                                     const FragmentationWatch& fragments, const OomWitness& witness,
                                     const LiveMemory& live, uint64_t end_ns, StackResolver& stacks);

}  // namespace vramscope::analysis
