// What the viewer shows, computed once when a trace is opened: the
// analyzer's report and the live-memory timeline by category. Every view
// draws from here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "analyzer/fragmentation.h"
#include "analyzer/report.h"
#include "analyzer/symbolizer.h"
#include "analyzer/timeline.h"
#include "formats/trace_reader.h"
#include "ui/call_tree.h"
#include "ui/memory_map.h"
#include "ui/timeline_levels.h"

namespace vramscope::ui {

class ViewerModel {
 public:
  std::string path;
  analysis::Report report;
  // The whole trace by category, on the device with the most memory at its
  // peak, in kTimelineBuckets buckets (their series moved into `levels`).
  analysis::Timeline timeline;
  TimelineLevels levels;
  // The trace itself, for what is computed at a moment the user selects
  // (a trace file's events stay in the file: this holds where they are).
  trace::TraceContents trace;
  bool from_file = false;  // a vramscope trace file (else a trace imported into memory)
  // The category of each tensor, from the timeline's walk.
  TensorCategories tensor_categories;

  // The timeline's device's segments, blocks and holes just after `time_ns`;
  // the last answer is kept, so a frame asks again for nothing.
  const analysis::DeviceFragmentationMap& fragmentation_at(uint64_t time_ns);
  // The timeline's device's bytes by call path: live just after `time_ns`,
  // or (`leaked`) live at the end, of the kinds counted as leaked. Kept as
  // fragmentation_at keeps its answer.
  const CallTreeNode& call_tree(bool leaked, bool bottom_up, uint64_t time_ns);
  // The timeline's device's allocations as address × time, collected once,
  // on a thread of its own from start_memory_map() on (waits for it).
  const MemoryMap& memory_map();
  void start_memory_map();
  // Takes the map if its thread has finished; true when it is there.
  bool poll_memory_map();
  // The map, if collected already (nullptr before).
  const MemoryMap* collected_memory_map() const { return memory_map_ ? &*memory_map_ : nullptr; }
  // The timeline by its top sites (kTopSites of them, the rest "other"),
  // computed on a thread of its own the first time it is asked for: nullptr
  // until it is ready, unless `wait`. Throws what the computation threw.
  const TimelineLevels* site_levels(bool wait);
  static constexpr size_t kTopSites = 8;
  // A stack id of the trace, symbolized (cached).
  const analysis::ResolvedStack& resolve(trace::StackId stack) { return stacks().resolve(stack); }

 private:
  analysis::StackResolver& stacks();
  // Runs `work(trace)` on a thread of its own, over a read of its own for a
  // trace file (a file's walks keep per-read state), else over `trace`.
  template <typename Work>
  auto in_background(Work work) -> std::future<decltype(work(trace))>;
  std::optional<MemoryMap> memory_map_;
  std::future<MemoryMap> memory_map_job_;
  std::future<TimelineLevels> site_levels_job_;
  std::optional<TimelineLevels> site_levels_;
  std::optional<std::tuple<bool, bool, uint64_t>> call_tree_key_;
  CallTreeNode call_tree_;
  // Made on first use, once the model is where it stays: they point into `trace`.
  std::unique_ptr<analysis::Symbolizer> symbolizer_;
  std::unique_ptr<analysis::StackResolver> stacks_;

  std::optional<uint64_t> fragmentation_time_;
  analysis::DeviceFragmentationMap fragmentation_;
};

// The moment a view shows when none is selected: the device's peak.
uint64_t default_moment(const ViewerModel& model);

// The finest timeline the viewer keeps: 2^18 buckets of each series, a few
// tens of megabytes, a bucket 14 ms wide on an hour of trace.
inline constexpr size_t kTimelineBuckets = size_t{1} << 18;

// Reads a trace of any form vramscope reads and analyzes it. Throws
// trace::TraceError (or std::invalid_argument) with a message for the user.
ViewerModel load_model(const std::string& path, size_t timeline_buckets = kTimelineBuckets);

}  // namespace vramscope::ui
