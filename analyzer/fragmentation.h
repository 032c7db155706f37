// The fragmentation map: per device, the segments (what the driver handed out)
// with the tensor blocks live inside them and the free holes between, kept
// up to date event by event; and the figures the report takes from it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "analyzer/live_memory.h"
#include "analyzer/report.h"
#include "formats/trace_reader.h"

namespace vramscope::analysis {

// Kinds that are segments: memory the driver handed to this process.
constexpr bool is_segment_kind(trace::MemoryKind k) { return trace::occupies_device_memory(k); }

struct FragmentationFigures {
  uint64_t segment_bytes = 0;   // live segments
  uint64_t segments = 0;
  uint64_t block_bytes = 0;     // live blocks inside them (a segment without block data: itself)
  uint64_t total_free_bytes = 0;    // sum of the holes
  uint64_t largest_free_bytes = 0;  // largest hole
  uint64_t reserved_but_unallocated_bytes() const { return segment_bytes - block_bytes; }
  // TensorFlow's `1 - largest_free / total_free`; 0 when nothing is free.
  double metric() const {
    if (total_free_bytes == 0) return 0;
    return 1.0 - static_cast<double>(largest_free_bytes) / static_cast<double>(total_free_bytes);
  }
};

struct AddressRange {
  uint64_t address = 0;
  uint64_t size = 0;
};

struct SegmentMap {
  trace::MemoryKind kind = trace::MemoryKind::Device;
  AddressRange range;
  bool has_blocks = false;  // false: no block data, the segment counts as one used block
  std::vector<AddressRange> blocks;  // by address
  std::vector<AddressRange> holes;   // by address
};

struct DeviceFragmentationMap {
  std::vector<SegmentMap> segments;  // by address
  FragmentationFigures figures;
};

class FragmentationTracker {
 public:
  FragmentationTracker() = default;
  FragmentationTracker(const FragmentationTracker&) = delete;  // it points into its own map
  FragmentationTracker& operator=(const FragmentationTracker&) = delete;

  // Call after `live` has applied the event (`change`: what it did to the
  // live set). Returns whether the event changed the device's map.
  bool apply(const trace::Event& event, const LiveChange& change, const LiveMemory& live);
  // apply() for the common case, a segment made or freed on a device with no
  // block data: nothing to do, the live set counts its segments. Returns
  // false, having done nothing, for any other change.
  bool apply_counted_segment(const LiveChange& change) {
    if (change.displaced) return false;
    if (change.what != LiveChange::What::Allocated && change.what != LiveChange::What::Freed) return false;
    return counts_nothing_of(change.allocation);
  }
  // Whether a segment made or freed, that displaced none, is `a`, one the
  // live set counts and this tracker need not.
  [[gnu::always_inline]] bool counts_nothing_of(const Allocation& a) {
    if (!is_segment_kind(a.kind) || a.size == 0) return false;
    return !any_ordered_ || !device(a.device).ordered;
  }

  // `live`: the live set the events were applied to.
  FragmentationFigures figures(uint32_t device, const LiveMemory& live) const;
  // `live`: the live set the events were applied to.
  DeviceFragmentationMap map(uint32_t device, const LiveMemory& live) const;
  // Whether any segment of the device has had block data.
  bool has_block_data(uint32_t device) const;
  // Whether the device's segments have free holes now.
  bool has_free(uint32_t ordinal) { return device(ordinal).total_free != 0; }

 private:
  struct Segment {
    trace::MemoryKind kind = trace::MemoryKind::Device;
    uint64_t size = 0;
    bool has_blocks = false;
    std::map<uint64_t, uint64_t> blocks;  // address → size, inside the segment, not overlapping
    uint64_t block_bytes = 0;
  };
  struct Device {
    // Until the device has block data the live set holds and counts its
    // segments; then they are kept in address order, and counted here.
    bool ordered = false;
    std::map<uint64_t, Segment> segments;  // by start address
    std::multiset<uint64_t> holes;         // sizes of every hole of segments with block data
    uint64_t segment_count = 0;            // these three only once ordered
    uint64_t segment_bytes = 0;
    uint64_t used_bytes = 0;  // blocks, and whole segments without block data
    uint64_t total_free = 0;
    bool ever_blocks = false;
  };

  // Puts the device's live segments into address order, for block data.
  void order_segments(Device& d, uint32_t ordinal, const LiveMemory& live);
  // A segment made or freed: placed in the map and counted once the device
  // is ordered; until then the live set holds and counts it.
  static void add_segment(Device& d, const Allocation& a);
  void remove_segment(Device& d, const Allocation& a);
  bool add_block(Device& d, uint64_t address, uint64_t size);
  bool remove_block(Device& d, uint64_t address);
  void mark_has_blocks(Device& d, uint64_t segment_address, Segment& s);
  Segment* segment_containing(Device& d, uint64_t address, uint64_t* start);
  void add_hole(Device& d, uint64_t size);
  void remove_hole(Device& d, uint64_t size);
  // The holes of a segment with block data, in address order.
  static std::vector<AddressRange> holes_of(uint64_t start, const Segment& s);

  Device& device(uint32_t ordinal) {
    if (last_ == nullptr || ordinal != last_ordinal_) {
      last_ = &devices_[ordinal];  // map entries stay where they are
      last_ordinal_ = ordinal;
    }
    return *last_;
  }

  std::map<uint32_t, Device> devices_;
  bool any_ordered_ = false;
  uint32_t last_ordinal_ = 0;
  Device* last_ = nullptr;  // the last device's entry
};

// The map of one device just after the last event at or before `time_ns`
// (for the viewer's fragmentation view).
DeviceFragmentationMap fragmentation_at(const trace::TraceContents& trace, uint32_t device, uint64_t time_ns);

// The report's figures per device: at the peak, at failed allocations, and
// the worst moment of the run. Fed after each event.
struct FragmentationMoment {
  FragmentationFigures figures;
  uint64_t time_ns = 0;
};

FragmentationReport fragmentation_report(const FragmentationFigures& figures, uint64_t time_ns);

class FragmentationWatch {
 public:
  // Applies the event; `at_peak` when it is the moment the device's peak was
  // first reached. The peak's figures also take in the heap registrations
  // that follow it at once: an allocator registers its new segment right
  // after getting it, and until then the segment counts as wholly used.
  void observe(const trace::Event& event, const LiveChange& change, const LiveMemory& live, bool at_peak) {
    if (!at_peak) {
      bool untouched = event.type != trace::EventType::Alloc && event.type != trace::EventType::Free;
      if (untouched || passes_over(change)) return;
    }
    observe_change(event, change, live, at_peak);
  }
  // Whether an allocation or free that did not set a peak leaves every
  // figure as it was, and observe() would do nothing with it: a device
  // without block data has no holes, only the peak's figures could change.
  bool passes_over(const LiveChange& change) {
    return peak_open_.empty() && tracker_.apply_counted_segment(change);
  }
  // The same for an allocation, or a free, of `a` that displaced none.
  bool passes_over(const Allocation& a) { return peak_open_.empty() && tracker_.counts_nothing_of(a); }
  const FragmentationTracker& tracker() const { return tracker_; }
  FragmentationTracker& tracker() { return tracker_; }

  // Per device; absent for a device with no segment.
  const std::map<uint32_t, FragmentationMoment>& at_peak() const { return at_peak_; }
  const std::map<uint32_t, FragmentationMoment>& worst() const { return worst_; }

 private:
  void observe_change(const trace::Event& event, const LiveChange& change, const LiveMemory& live,
                      bool at_peak);

  FragmentationTracker tracker_;
  std::map<uint32_t, FragmentationMoment> at_peak_;
  std::map<uint32_t, FragmentationMoment> worst_;
  std::set<uint32_t> peak_open_;  // devices whose peak moment still takes heap registrations
};

}  // namespace vramscope::analysis
