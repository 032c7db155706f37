// The timeline pass: one walk fills the buckets; by site a first walk ranks
// the sites; by category the walk also feeds the report's categorization,
// whose verdicts then fill the categories' buckets.
#include "analyzer/timeline.h"

#include <algorithm>
#include <array>
#include <map>
#include <queue>
#include <stdexcept>
#include <unordered_map>

#include "analyzer/categories.h"
#include "analyzer/iterations.h"
#include "analyzer/lifetimes.h"
#include "analyzer/live_memory.h"
#include "analyzer/stack_resolver.h"
#include "analyzer/text_layout.h"
#include "analyzer/timeline_buckets.h"

namespace vramscope::analysis {

namespace {

// At most this many values (buckets × series) in one timeline: 1 GiB.
constexpr u128 kMaxValues = u128{64} << 20;

constexpr uint64_t kNoEnd = UINT64_MAX;

bool uses_device(const trace::Event& e, uint32_t device) {
  return (e.type == trace::EventType::Alloc || e.type == trace::EventType::Free ||
          e.type == trace::EventType::FailedAlloc) &&
         e.device == device;
}

// What the timeline needs to know of the whole trace, whatever the window.
struct Survey {
  bool device_seen = false;  // an event names the device
  bool has_memory = false;   // the device had device memory (or tensor blocks)
  bool has_blocks = false;   // the device had tensor blocks
  uint64_t last_event_ns = 0;
  void observe(const trace::Event& e, uint32_t device) {
    last_event_ns = e.time_ns;
    if (!uses_device(e, device)) return;
    device_seen = true;
    if (e.type != trace::EventType::Alloc) return;
    if (trace::occupies_device_memory(e.kind)) has_memory = true;
    if (e.kind == trace::MemoryKind::Block) has_memory = has_blocks = true;
  }
};

// Fixed-order groups: the kinds that make up reserved, then tensor blocks.
constexpr std::array<trace::MemoryKind, 4> kGroupKinds = {
    trace::MemoryKind::Device, trace::MemoryKind::AsyncPool, trace::MemoryKind::VirtualPhysical,
    trace::MemoryKind::Block};
std::optional<size_t> kind_slot(trace::MemoryKind kind) {
  for (size_t k = 0; k < kGroupKinds.size(); ++k) {
    if (kGroupKinds[k] == kind) return k;
  }
  return std::nullopt;
}

// The sites of the allocated bytes, ranked by their peak inside the window.
class SiteRanking {
 public:
  SiteRanking(StackResolver& stacks, const TimelineWindow& window, uint32_t device)
      : stacks_(stacks), window_(window), device_(device) {}

  // Call with every event, in order.
  void observe(const trace::Event& event, const LiveChange& change) {
    if (!entered_ && event.time_ns >= window_.start) enter();
    if (change.displaced) count(*change.displaced, false);
    if (change.what == LiveChange::What::Allocated) count(change.allocation, true);
    if (change.what == LiveChange::What::Freed) count(change.allocation, false);
  }
  // `trace_end`: nothing is held after it.
  void finish(uint64_t trace_end) {
    if (!entered_ && window_.start <= trace_end) enter();
  }

  // The site of each stack: its rank by peak (blocks or segments), or
  // sites.size() ("other") for the sites past the first `top` and those with
  // no bytes in the window.
  struct Ranked {
    std::vector<Site> sites;  // the first `top`, by peak
    std::unordered_map<uint32_t, size_t> stack_rank;
    size_t folded = 0;  // sites past the first `top` with bytes in the window
  };
  Ranked rank(bool blocks, size_t top) const {
    size_t w = blocks ? 1 : 0;
    std::vector<size_t> order;
    for (size_t s = 0; s < sites_.size(); ++s) {
      if (sites_[s].peak[w] > 0) order.push_back(s);
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (sites_[a].peak[w] != sites_[b].peak[w]) return sites_[a].peak[w] > sites_[b].peak[w];
      return sites_[a].key < sites_[b].key;
    });
    Ranked ranked;
    // Not `top`: with fewer sites than that, "other" comes sooner, and a
    // site with no bytes in the window (all freed before it starts) must
    // fall in it, not past the series.
    std::vector<size_t> rank_of(sites_.size(), std::min(top, order.size()));
    for (size_t r = 0; r < order.size(); ++r) {
      if (r < top) {
        rank_of[order[r]] = r;
        ranked.sites.push_back(sites_[order[r]].site);
      } else {
        ++ranked.folded;
      }
    }
    for (const auto& [stack, site] : site_of_stack_) ranked.stack_rank[stack] = rank_of[site];
    return ranked;
  }

 private:
  struct SiteLive {
    std::string key;
    Site site;
    std::array<uint64_t, 2> live{};  // segments (device memory), tensor blocks
    std::array<uint64_t, 2> peak{};
  };

  void enter() {
    entered_ = true;
    for (SiteLive& s : sites_) s.peak = s.live;
  }

  void count(const Allocation& a, bool allocated) {
    if (a.device != device_) return;
    size_t w = a.kind == trace::MemoryKind::Block ? 1 : 0;
    if (w == 0 && !trace::occupies_device_memory(a.kind)) return;
    SiteLive& s = sites_[site_of(a.stack)];
    if (!allocated) {
      s.live[w] -= a.size;
      return;
    }
    s.live[w] += a.size;
    if (entered_ && a.time_ns <= window_.end) s.peak[w] = std::max(s.peak[w], s.live[w]);
  }

  size_t site_of(trace::StackId stack) {
    auto [slot, inserted] = site_of_stack_.try_emplace(stack.value);
    if (!inserted) return slot->second;
    const Site& site = stacks_.resolve(stack).site;
    std::string key = site_key(site);
    auto [by_key, added] = site_by_key_.try_emplace(key, sites_.size());
    if (added) sites_.push_back(SiteLive{key, site, {}, {}});
    slot->second = by_key->second;
    return slot->second;
  }

  StackResolver& stacks_;
  const TimelineWindow& window_;
  uint32_t device_;
  bool entered_ = false;
  std::vector<SiteLive> sites_;
  std::map<std::string, size_t> site_by_key_;
  std::unordered_map<uint32_t, size_t> site_of_stack_;
};

// Per category, the bytes of the device's allocated tensors in the buckets,
// from the tensors as the categorization hands them over (allocation order,
// each with its free) and the event index of each bucket. The frees still to
// come wait in a heap, earliest first: the live set, no more.
class CategoryBuckets {
 public:
  CategoryBuckets(const IndexBuckets& index, size_t buckets, uint32_t device, bool blocks)
      : index_(index), values_(kCategoryCount, buckets), device_(device), blocks_(blocks) {}

  void observe(const Lifetime& l, const Categorized& verdict) {
    release_until(l.alloc_index);
    bool allocated = blocks_ ? l.kind == trace::MemoryKind::Block : trace::occupies_device_memory(l.kind);
    if (l.device != device_ || !allocated) return;
    size_t c = static_cast<size_t>(verdict.category);
    if (at(l.alloc_index)) values_.add(c, l.size);
    if (l.free_index != kNeverFreed) frees_.push(Pending{l.free_index, l.size, c});
  }
  BucketSeries& finish() {
    release_until(kNeverFreed);
    return values_;
  }

 private:
  struct Pending {
    size_t free_index;
    uint64_t size;
    size_t category;
    bool operator>(const Pending& o) const { return free_index > o.free_index; }
  };

  // Moves the series to the event at `index`; false past the window, where
  // nothing counts any more.
  // Indices come in order (frees are released up to each allocation before
  // it counts): the bucket is found by walking on from the last.
  bool at(size_t index) {
    if (index_.after(index)) return false;
    if (!index_.before(index)) {
      bucket_ = index_.bucket_of(index, bucket_);
      values_.enter(bucket_);
    }
    return true;
  }
  // The frees at or before `index`: a displaced allocation ends at the event
  // of the one that displaces it, before that one counts.
  void release_until(size_t index) {
    for (; !frees_.empty() && frees_.top().free_index <= index; frees_.pop()) {
      if (at(frees_.top().free_index)) values_.remove(frees_.top().category, frees_.top().size);
    }
  }

  const IndexBuckets& index_;
  BucketSeries values_;
  uint32_t device_;
  bool blocks_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> frees_;
  size_t bucket_ = 0;  // the last bucket at() found
};

// The pieces the report runs for its categories, fed by the bucket walk.
class CategoryFinder {
 public:
  explicit CategoryFinder(const TimelineWindow& window) : index_(window) {}

  void observe(size_t i, const trace::Event& event, const LiveChange& change) {
    lifetimes_.observe(i, change);
    iterations_.observe(i, event);
    index_.observe(i, event.time_ns);
    events_ = i + 1;
  }

  bool blocks_are_tensors() const { return lifetimes_.has_tensor_blocks(); }

  // The device's allocated bytes per category, in `buckets` buckets.
  BucketSeries finish(const trace::TraceContents& trace, StackResolver& stacks, size_t buckets,
                      uint32_t device, bool device_has_blocks, const CategoryVisit& also_visit) {
    index_.finish(events_);
    FoundIterations found = iterations_.finish(trace);
    CategoryBuckets sweep(index_, buckets, device, device_has_blocks);
    if (lifetimes_.tensor_count() != 0) {
      categorize(
          lifetimes_, found.spans,
          [&](trace::StackId stack) { return site_and_callers(stacks.resolve(stack)); },
          [&](std::span<const CategorizedTensor> tensors) {
            for (const CategorizedTensor& t : tensors) sweep.observe(t.tensor, t.verdict);
            if (also_visit) also_visit(tensors);
          });
    }
    return std::move(sweep.finish());
  }

 private:
  LifetimeLog lifetimes_;
  IterationFinder iterations_;
  IndexBuckets index_;
  size_t events_ = 0;
};

std::string elapsed(uint64_t ns) { return text::elapsed(ns); }

TimelineWindow resolve_window(const TimelineQuery& query, uint64_t trace_end) {
  TimelineWindow w;
  w.start = query.from_ns.value_or(0);
  w.end = query.to_ns.value_or(trace_end);
  if (!query.to_ns && w.end <= w.start) {
    if (query.from_ns) {
      throw std::invalid_argument("the window is empty: it starts at " + elapsed(w.start) +
                                  ", not before the trace's end at " + elapsed(trace_end));
    }
    w.end = w.start + 1;  // a trace with no time: one nanosecond
  }
  if (w.end <= w.start) {
    throw std::invalid_argument("the window is empty: it starts at " + elapsed(w.start) + " and ends at " +
                                elapsed(w.end));
  }
  if (query.resolution_ns) {
    uint64_t width = *query.resolution_ns;
    if (width == 0) throw std::invalid_argument("the bucket width must be at least 1 ns");
    uint64_t count = w.span() / width + (w.span() % width != 0 ? 1 : 0);
    if (count > kMaxTimelineBuckets) {
      throw std::invalid_argument("buckets of " + elapsed(width) + " over " + elapsed(w.span()) + " make " +
                                  std::to_string(count) + " buckets, more than " +
                                  std::to_string(kMaxTimelineBuckets) +
                                  ": take wider buckets or a shorter window");
    }
    w.count = static_cast<size_t>(count);
    u128 end = u128{w.start} + u128{count} * width;
    w.end = end > kNoEnd ? kNoEnd : static_cast<uint64_t>(end);
    return w;
  }
  if (query.buckets == 0) throw std::invalid_argument("a timeline needs at least 1 bucket");
  if (query.buckets > kMaxTimelineBuckets) {
    throw std::invalid_argument(std::to_string(query.buckets) + " buckets are more than " +
                                std::to_string(kMaxTimelineBuckets));
  }
  w.count = static_cast<size_t>(std::min<uint64_t>(query.buckets, w.span()));
  return w;
}

uint64_t last_event_ns(const trace::TraceContents& trace) {
  uint64_t last = 0;
  trace::EventCursor cursor = trace.events.cursor(trace::FreeFields::AsRecorded);
  for (std::span<const trace::Event> batch = cursor.next(); !batch.empty(); batch = cursor.next()) {
    last = batch.back().time_ns;
  }
  return last;
}

uint32_t default_device(const trace::TraceContents& trace) {
  if (trace.devices.empty()) return 0;
  uint32_t lowest = trace.devices.front().ordinal;
  for (const trace::DeviceInfo& d : trace.devices) lowest = std::min(lowest, d.ordinal);
  return lowest;
}

const trace::DeviceInfo* listed_device(const trace::TraceContents& trace, uint32_t ordinal) {
  for (const trace::DeviceInfo& d : trace.devices) {
    if (d.ordinal == ordinal) return &d;
  }
  return nullptr;
}

std::string device_list(const trace::TraceContents& trace) {
  if (trace.devices.empty()) return "the trace lists no devices";
  std::string list;
  for (const trace::DeviceInfo& d : trace.devices) {
    list += (list.empty() ? "" : ", ") + std::to_string(d.ordinal);
  }
  return "the trace has device" + std::string(trace.devices.size() == 1 ? " " : "s ") + list;
}

// The group an allocation of the device counts in, by kind or by site
// (categories come after the walk).
class Grouper {
 public:
  Grouper(TimelineGrouping by, bool has_blocks, SiteRanking::Ranked sites)
      : by_(by), has_blocks_(has_blocks), sites_(std::move(sites)) {}

  size_t groups() const {
    if (by_ == TimelineGrouping::Kind) return kGroupKinds.size();
    if (by_ == TimelineGrouping::Site) return sites_.sites.size() + 1;
    return 0;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> names;
    if (by_ == TimelineGrouping::Kind) {
      for (trace::MemoryKind kind : kGroupKinds) names.emplace_back(trace::to_string(kind));
    } else if (by_ == TimelineGrouping::Site) {
      for (const Site& site : sites_.sites) names.push_back(text::site_text(site));
      names.emplace_back("other");
    }
    return names;
  }
  const std::vector<Site>& sites() const { return sites_.sites; }
  size_t folded_sites() const { return sites_.folded; }

  std::optional<size_t> group_of(const Allocation& a) const {
    if (by_ == TimelineGrouping::Kind) return kind_slot(a.kind);
    if (by_ != TimelineGrouping::Site) return std::nullopt;
    bool allocated = has_blocks_ ? a.kind == trace::MemoryKind::Block : trace::occupies_device_memory(a.kind);
    if (!allocated) return std::nullopt;
    auto found = sites_.stack_rank.find(a.stack.value);
    return found == sites_.stack_rank.end() ? sites_.sites.size() : found->second;
  }

 private:
  TimelineGrouping by_;
  bool has_blocks_;
  SiteRanking::Ranked sites_;
};

}  // namespace

std::string_view to_string(TimelineGrouping grouping) {
  switch (grouping) {
    case TimelineGrouping::None:
      return "none";
    case TimelineGrouping::Kind:
      return "kind";
    case TimelineGrouping::Site:
      return "site";
    case TimelineGrouping::Category:
      return "category";
  }
  return "none";
}

std::optional<TimelineGrouping> parse_grouping(std::string_view text) {
  for (TimelineGrouping g :
       {TimelineGrouping::None, TimelineGrouping::Kind, TimelineGrouping::Site, TimelineGrouping::Category}) {
    if (text == to_string(g)) return g;
  }
  return std::nullopt;
}

uint64_t Timeline::bucket_start(size_t i) const {
  if (bucket_count == 0) return start_ns;
  return TimelineWindow{start_ns, end_ns, bucket_count}.bucket_start(i);
}

Timeline compute_timeline(const trace::TraceContents& trace, const TimelineQuery& query) {
  if (!query.resolution_ns && query.buckets == 0) {
    throw std::invalid_argument("a timeline needs at least 1 bucket");
  }
  if (query.from_ns && query.to_ns && *query.to_ns <= *query.from_ns) {
    throw std::invalid_argument("the window is empty: it starts at " + elapsed(*query.from_ns) +
                                " and ends at " + elapsed(*query.to_ns));
  }
  Timeline timeline;
  timeline.trace_path = trace.source;
  timeline.by = query.by;
  timeline.device = query.device.value_or(default_device(trace));
  timeline.top = query.top;
  const uint32_t device = timeline.device;
  const trace::DeviceInfo* info = listed_device(trace, device);
  if (info != nullptr) {
    timeline.device_name = info->name;
    timeline.simulated = info->simulated;
    timeline.total_bytes = info->total_bytes;
  }

  // The trace's end: the End record, else a walk to the last event.
  uint64_t trace_end = trace.end ? trace.end->time_ns : 0;
  if (!trace.end && !query.to_ns) trace_end = last_event_ns(trace);
  TimelineWindow window = resolve_window(query, trace_end);

  Symbolizer symbolizer(trace.modules);
  StackResolver stacks(trace, symbolizer);
  Survey survey;
  bool surveyed = false;  // the whole trace
  std::optional<SiteRanking> ranking;
  if (query.by == TimelineGrouping::Site) {
    ranking.emplace(stacks, window, device);
    LiveMemory live;
    walk_with_live_set(trace.events, live, [&](size_t, const trace::Event& event, const LiveChange& change) {
      survey.observe(event, device);
      ranking->observe(event, change);
      return true;
    });
    ranking->finish(std::max(trace_end, survey.last_event_ns));
    surveyed = true;
  }
  Grouper grouper(query.by, survey.has_blocks,
                  ranking ? ranking->rank(survey.has_blocks, query.top) : SiteRanking::Ranked{});
  std::optional<CategoryFinder> categories;
  if (query.by == TimelineGrouping::Category) categories.emplace(window);
  // Reserved, and blocks: the allocated bytes when the device turns out to have them.
  constexpr size_t kReserved = 0, kBlocks = 1, kGroups = 2;
  size_t series = kGroups + std::max<size_t>(grouper.groups(), categories ? kCategoryCount : 0);
  if (u128{series} * window.count > kMaxValues) {
    throw std::invalid_argument(std::to_string(window.count) + " buckets of " + std::to_string(series) +
                                " series are too many values: take fewer buckets or fewer sites");
  }

  BucketSeries values(kGroups + grouper.groups(), window.count);
  bool past_window = false;
  bool in_bucket = false;
  uint64_t next_bucket_ns = 0;
  LiveMemory live;
  walk_with_live_set(trace.events, live, [&](size_t i, const trace::Event& event, const LiveChange& change) {
    if (!surveyed) survey.observe(event, device);
    if (categories) categories->observe(i, event, change);
    if (past_window || event.time_ns > window.end) {
      // Past the window only the categories, and what the survey lacks, need more.
      past_window = true;
      bool known = (info != nullptr || survey.device_seen) && survey.has_memory && survey.has_blocks;
      return categories || (!surveyed && !known);
    }
    // The bucket again only when the time has left the last one: a division saved per event.
    if (event.time_ns >= window.start && (event.time_ns >= next_bucket_ns || !in_bucket)) {
      const size_t b = window.bucket_of(event.time_ns);
      values.enter(b);
      in_bucket = true;
      next_bucket_ns = b + 1 < window.count ? window.bucket_start(b + 1) : UINT64_MAX;
    }
    auto count = [&](const Allocation& a, bool made) {
      if (a.device != device) return;
      auto apply = [&](size_t s) { made ? values.add(s, a.size) : values.remove(s, a.size); };
      if (trace::occupies_device_memory(a.kind)) apply(kReserved);
      if (a.kind == trace::MemoryKind::Block) apply(kBlocks);
      if (std::optional<size_t> group = grouper.group_of(a)) apply(kGroups + *group);
    };
    if (change.displaced) count(*change.displaced, false);
    if (change.what == LiveChange::What::Freed) count(change.allocation, false);
    if (change.what == LiveChange::What::Allocated) count(change.allocation, true);
    return true;
  });
  trace_end = std::max(trace_end, survey.last_event_ns);
  timeline.trace_end_ns = trace_end;
  if (query.device && info == nullptr && !survey.device_seen) {
    throw std::invalid_argument("no device " + std::to_string(device) + ": " + device_list(trace));
  }
  timeline.has_block_data = survey.has_blocks;
  if (!survey.has_memory) return timeline;  // nothing to show: no buckets

  values.finish(window, trace_end);
  timeline.start_ns = window.start;
  timeline.end_ns = window.end;
  timeline.bucket_count = window.count;
  timeline.reserved = values.series(kReserved, "reserved");
  timeline.allocated = values.series(survey.has_blocks ? kBlocks : kReserved, "allocated");
  auto add_group = [&](TimelineSeries s) {
    if (s.peak_bytes != 0) timeline.groups.push_back(std::move(s));
  };
  std::vector<std::string> names = grouper.names();
  for (size_t g = 0; g < names.size(); ++g) {
    TimelineSeries s = values.series(kGroups + g, names[g]);
    if (query.by == TimelineGrouping::Site && g < grouper.sites().size()) s.site = grouper.sites()[g];
    add_group(std::move(s));
  }
  if (query.by == TimelineGrouping::Site) timeline.folded_sites = grouper.folded_sites();
  if (categories) {
    if (categories->blocks_are_tensors() && !survey.has_blocks) {
      // Tensors are the blocks of other devices: none of this one's is categorized.
      add_group(values.series(kReserved, std::string(to_string(Category::Unknown))));
    } else {
      BucketSeries by_category =
          categories->finish(trace, stacks, window.count, device, survey.has_blocks, query.on_tensors);
      by_category.finish(window, trace_end);
      for (int c = 0; c < kCategoryCount; ++c) {
        add_group(
            by_category.series(static_cast<size_t>(c), std::string(to_string(static_cast<Category>(c)))));
      }
    }
  }
  return timeline;
}

}  // namespace vramscope::analysis
