// Iterations, categories and growth, from the lifetime log into the report.
#include "analyzer/category_report.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>

#include "analyzer/categories.h"
#include "analyzer/growth.h"
#include "analyzer/iterations.h"

namespace vramscope::analysis {

namespace {

size_t slot(Category c) { return static_cast<size_t>(c); }

constexpr size_t kConfidences = 3;
constexpr size_t kReasons = static_cast<size_t>(Reason::OutsideIterations) + 1;

// Bytes per (confidence, reason), to name what holds most of a category's bytes.
class Verdicts {
 public:
  void add(const Categorized& c, uint64_t bytes) {
    Cell& cell = cells_[static_cast<size_t>(c.confidence)][static_cast<size_t>(c.reason)];
    cell.bytes += bytes;
    cell.seen = true;
  }
  // The verdict with the most bytes; the first in (confidence, reason) order on a tie.
  std::pair<Confidence, Reason> heaviest() const {
    std::pair<Confidence, Reason> best{Confidence::Low, Reason::NoIterations};
    uint64_t best_bytes = 0;
    bool first = true;
    for (size_t c = 0; c < kConfidences; ++c) {
      for (size_t r = 0; r < kReasons; ++r) {
        const Cell& cell = cells_[c][r];
        if (!cell.seen || (!first && cell.bytes <= best_bytes)) continue;
        first = false;
        best = {static_cast<Confidence>(c), static_cast<Reason>(r)};
        best_bytes = cell.bytes;
      }
    }
    return best;
  }

 private:
  struct Cell {
    uint64_t bytes = 0;
    bool seen = false;
  };
  std::array<std::array<Cell, kReasons>, kConfidences> cells_{};
};

// Per category: allocations, bytes, and the peak of its live bytes, which
// rise at allocations and fall at frees. The frees still to come wait in a
// heap, earliest first; a tensor freed before the next one is made (most
// temporaries) never enters it. At one event, a displaced allocation's end
// comes before the new one.
class CategorySweep {
 public:
  void observe(const Lifetime& l, const Categorized& verdict) {
    size_t c = slot(verdict.category);
    for (; !frees_.empty() && frees_.top().free_index <= l.alloc_index; frees_.pop()) {
      live_[slot(frees_.top().category)] -= frees_.top().size;
    }
    if (held_) {
      if (held_->free_index <= l.alloc_index) {
        live_[slot(held_->category)] -= held_->size;
      } else {
        frees_.push(*held_);
      }
      held_.reset();
    }
    result_[c].allocations += 1;
    result_[c].allocated_bytes += l.size;
    verdicts_[c].add(verdict, l.size);
    live_[c] += l.size;
    result_[c].peak_bytes = std::max(result_[c].peak_bytes, live_[c]);
    if (l.free_index != kNeverFreed) held_ = Pending{l.free_index, l.size, verdict.category};
  }

  std::vector<CategoryTotals> totals() {
    for (int c = 0; c < kCategoryCount; ++c) {
      result_[c].category = std::string(to_string(static_cast<Category>(c)));
      if (result_[c].allocations == 0) continue;
      auto [confidence, reason] = verdicts_[c].heaviest();
      result_[c].confidence = std::string(to_string(confidence));
      result_[c].reason = std::string(to_string(reason));
    }
    return {result_.begin(), result_.end()};
  }

 private:
  struct Pending {
    size_t free_index;
    uint64_t size;
    Category category;
    bool operator>(const Pending& o) const { return free_index > o.free_index; }
  };
  std::array<CategoryTotals, kCategoryCount> result_;
  std::array<Verdicts, kCategoryCount> verdicts_;
  std::array<uint64_t, kCategoryCount> live_{};
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> frees_;
  std::optional<Pending> held_;  // the last tensor's free, not yet in the heap
};

bool live_at(const Lifetime& l, size_t index) { return l.alloc_index <= index && index < l.free_index; }

// The tensors live at a device's peak, by category; and, unless tensors are
// blocks inside the segments the peak rows show, what each peak site is for.
class PeakLabels {
 public:
  PeakLabels(DevicePeak& peak, size_t peak_index, uint32_t device, bool label_sites, StackResolver& stacks)
      : peak_(peak), peak_index_(peak_index), device_(device), label_sites_(label_sites), stacks_(stacks) {}

  void observe(const Lifetime& l, const Categorized& verdict) {
    if (l.device != device_ || !live_at(l, peak_index_)) return;
    size_t c = slot(verdict.category);
    by_category_[c].bytes += l.size;
    by_category_[c].count += 1;
    if (!label_sites_) return;
    auto [cached, inserted] = keys_.try_emplace(l.stack.value);
    if (inserted) cached->second = site_key(stacks_.resolve(l.stack).site);
    const std::string& key = cached->second;
    site_bytes_[key][c] += l.size;  // value-initialized: zeros
    site_verdicts_[key][c].add(verdict, l.size);
  }

  void finish() {
    for (int c = 0; c < kCategoryCount; ++c) {
      if (by_category_[c].count == 0) continue;
      by_category_[c].category = std::string(to_string(static_cast<Category>(c)));
      peak_.categories.push_back(by_category_[c]);
    }
    std::stable_sort(peak_.categories.begin(), peak_.categories.end(),
                     [](const CategoryBytes& a, const CategoryBytes& b) { return a.bytes > b.bytes; });
    for (SiteBytes& site : peak_.sites) {
      auto found = site_bytes_.find(site_key(site.site));
      if (found == site_bytes_.end()) continue;
      const auto& bytes = found->second;
      size_t c = static_cast<size_t>(std::max_element(bytes.begin(), bytes.end()) - bytes.begin());
      site.category = std::string(to_string(static_cast<Category>(c)));
      site.confidence = std::string(to_string(site_verdicts_[found->first][c].heaviest().first));
    }
  }

 private:
  DevicePeak& peak_;
  size_t peak_index_;
  uint32_t device_;
  bool label_sites_;
  StackResolver& stacks_;
  std::array<CategoryBytes, kCategoryCount> by_category_;
  std::map<std::string, std::array<uint64_t, kCategoryCount>> site_bytes_;
  std::map<std::string, std::array<Verdicts, kCategoryCount>> site_verdicts_;
  std::unordered_map<uint32_t, std::string> keys_;  // by stack
};

}  // namespace

void add_iterations_and_categories(Report& report, const FoundIterations& found, const LifetimeLog& log,
                                   const std::map<uint32_t, PeakMoment>& peaks, StackResolver& stacks) {
  report.iterations.method = found.method;
  for (const IterationSpan& s : found.spans) report.iterations.list.push_back(IterationTimes{s.start_ns, s.end_ns});

  if (log.tensor_count() == 0) return;
  report.categories.source = log.has_tensor_blocks() ? "tensor blocks" : "device memory";
  // The categorized tensors feed the totals, each device's peak and the growth as they come.
  CategorySweep sweep;
  std::vector<PeakLabels> labels;
  for (DeviceReport& device : report.devices) {
    auto peak = peaks.find(device.ordinal);
    if (peak == peaks.end()) continue;
    labels.emplace_back(device.peak, peak->second.event_index, device.ordinal, !log.has_tensor_blocks(),
                        stacks);
  }
  GrowthFinder growth(found.spans);
  categorize(
      log, found.spans, [&](trace::StackId stack) { return site_and_callers(stacks.resolve(stack)); },
      [&](const Lifetime& l, const Categorized& verdict) {
        sweep.observe(l, verdict);
        for (PeakLabels& label : labels) label.observe(l, verdict);
        growth.observe(l);
      });
  report.categories.totals = sweep.totals();
  for (PeakLabels& label : labels) label.finish();

  for (const GrowthGroup& g : growth.groups()) {
    const ResolvedStack& resolved = stacks.resolve(g.stack);
    report.growth_leaks.push_back(GrowthLeak{g.kind, g.device, g.bytes_per_iteration, g.iterations,
                                             g.last_live_bytes, resolved.site, resolved.frames});
  }
}

}  // namespace vramscope::analysis
