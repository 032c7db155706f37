// The live-memory timeline of one device: allocated and reserved bytes over a
// window of time in equal buckets, each with the highest value inside it (a
// spike never vanishes when zoomed out) and the value at its end; broken down
// by memory kind, site or category. Memory: the buckets times the groups, plus
// the live set (and, by category, the lifetime log the categories come from).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/categories.h"
#include "analyzer/report.h"
#include "formats/trace_reader.h"

namespace vramscope::analysis {

enum class TimelineGrouping { None, Kind, Site, Category };
std::string_view to_string(TimelineGrouping grouping);
// "none", "kind", "site" or "category"; nullopt for anything else.
std::optional<TimelineGrouping> parse_grouping(std::string_view text);

inline constexpr size_t kDefaultTimelineBuckets = 1000;
inline constexpr size_t kMaxTimelineBuckets = 1'000'000;
inline constexpr size_t kDefaultTimelineTop = 5;

struct TimelineQuery {
  std::optional<uint32_t> device;  // default: the lowest the trace lists, else 0
  TimelineGrouping by = TimelineGrouping::None;
  std::optional<uint64_t> from_ns;           // default: the trace's start (0)
  std::optional<uint64_t> to_ns;             // default: the trace's end
  size_t buckets = kDefaultTimelineBuckets;  // at most one per nanosecond of the window
  // Bucket width instead of a count: the window's end moves out to a whole bucket.
  std::optional<uint64_t> resolution_ns;
  size_t top = kDefaultTimelineTop;  // by site: sites kept; the rest add up to "other"
  // By category: also handed every tensor of the trace with its category, in
  // allocation order (the viewer colours each allocation by it).
  CategoryVisit on_tensors;
};

struct BucketValue {
  uint64_t max = 0;  // the highest value inside the bucket
  uint64_t end = 0;  // the value at its end
};

struct TimelineSeries {
  std::string name;          // a kind, a category, a site as text, or "other"
  std::optional<Site> site;  // by site, except "other"
  uint64_t peak_bytes = 0;   // the highest max of its buckets
  std::vector<BucketValue> buckets;
};

struct Timeline {
  std::string trace_path;
  uint64_t trace_end_ns = 0;  // the End record's time, or the last event's
  uint32_t device = 0;
  std::string device_name;
  bool simulated = false;
  uint64_t total_bytes = 0;
  // Allocated is the tensor blocks an allocator annotated (NVTX memory API);
  // without any on the device, the same as reserved.
  bool has_block_data = false;
  TimelineGrouping by = TimelineGrouping::None;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;      // the last bucket holds the events at exactly end_ns
  size_t bucket_count = 0;  // 0: the device never had device memory
  size_t top = 0;           // by site: as asked
  size_t folded_sites = 0;  // by site: sites added up in "other"
  TimelineSeries allocated;
  TimelineSeries reserved;
  // Kind: device, async pool, virtual memory (physical) (adding up to
  // reserved) and tensor block (allocated). Site, category: the allocated
  // bytes, adding up to allocated. Groups with no bytes in the window are left
  // out; kinds and categories in their fixed order, sites by peak then "other".
  std::vector<TimelineSeries> groups;

  // The first nanosecond of bucket i: start + ceil(i * (end - start) / buckets).
  uint64_t bucket_start(size_t i) const;
};

// Throws std::invalid_argument with a message for the user when the query
// cannot be answered: no buckets, an empty window, too many buckets, a
// device the trace does not have. Never throws for odd trace contents.
Timeline compute_timeline(const trace::TraceContents& trace, const TimelineQuery& query);

}  // namespace vramscope::analysis
