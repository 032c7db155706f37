// Iterations, categories and growth, from the lifetime log into the report.
#include "analyzer/category_report.h"

#include <algorithm>
#include <array>
#include <map>
#include <span>
#include <string>
#include <utility>

#include "analyzer/categories.h"
#include "analyzer/growth.h"
#include "analyzer/iterations.h"
#include "analyzer/pending_frees.h"
#include "analyzer/per_stack.h"

namespace vramscope::analysis {

namespace {

size_t slot(Category c) { return static_cast<size_t>(c); }

constexpr size_t kConfidences = 3;
constexpr size_t kReasons = static_cast<size_t>(Reason::OutsideIterations) + 1;

// Tensors and bytes per (confidence, reason), to name what holds most of a
// category's bytes.
class Verdicts {
 public:
  void add(const Categorized& c, uint64_t bytes) {
    Cell& cell = cells_[static_cast<size_t>(c.confidence)][static_cast<size_t>(c.reason)];
    cell.bytes += bytes;
    cell.count += 1;
  }
  uint64_t count() const { return sum(&Cell::count); }
  uint64_t bytes() const { return sum(&Cell::bytes); }
  // The verdict with the most bytes; the first in (confidence, reason) order on a tie.
  std::pair<Confidence, Reason> heaviest() const {
    std::pair<Confidence, Reason> best{Confidence::Low, Reason::NoIterations};
    uint64_t best_bytes = 0;
    bool first = true;
    for (size_t c = 0; c < kConfidences; ++c) {
      for (size_t r = 0; r < kReasons; ++r) {
        const Cell& cell = cells_[c][r];
        if (cell.count == 0 || (!first && cell.bytes <= best_bytes)) continue;
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
    uint64_t count = 0;
  };
  uint64_t sum(uint64_t Cell::*field) const {
    uint64_t total = 0;
    for (const auto& by_reason : cells_) {
      for (const Cell& cell : by_reason) total += cell.*field;
    }
    return total;
  }
  std::array<std::array<Cell, kReasons>, kConfidences> cells_{};
};

// Per category: allocations, bytes, verdicts, and the peak of its live bytes, which
// rise at allocations and fall at frees. At one event, a displaced
// allocation's end comes before the new one.
class CategorySweep {
 public:
  // A batch of tensors in allocation order, and the growth fed from the same loop.
  void observe(std::span<const CategorizedTensor> tensors, GrowthFinder& growth) {
    for (size_t j = 0; j < tensors.size(); ++j) {
      const Lifetime& l = tensors[j].tensor;
      size_t next_alloc = j + 1 < tensors.size() ? tensors[j + 1].tensor.alloc_index : 0;  // 0: not known
      if (!observe(l, tensors[j].verdict, next_alloc)) growth.observe(l);
    }
  }
  // `next_alloc`: the next tensor's allocation index, or 0 where not known.
  // Whether the tensor was freed by then: no iteration ends between two
  // allocations of a batch, so such a tensor is live at no iteration's end
  // and the growth need not see it.
  bool observe(const Lifetime& l, const Categorized& verdict, size_t next_alloc) {
    size_t c = slot(verdict.category);
    verdicts_[c].add(verdict, l.size);
    // live_ still counts the frees not released yet: while it stays at or
    // under the peak with this tensor, so does the true count, and the frees
    // can wait to be released many at a time.
    uint64_t with_it = 0;
    bool wrapped = __builtin_add_overflow(live_[c], l.size, &with_it);
    if (wrapped || with_it > peak_bytes_[c] || exact_) [[unlikely]] {
      frees_.release_until(l.alloc_index, live_);
      peak_bytes_[c] = std::max(peak_bytes_[c], live_[c] + l.size);
    }
    if (l.free_index <= next_alloc) return true;  // freed before any peak is looked at again
    exact_ |= __builtin_add_overflow(live_[c], l.size, &live_[c]);
    if (l.free_index != kNeverFreed) {
      if (!frees_.fits_ring(l.free_index)) frees_.release_until(l.alloc_index, live_);  // make room
      frees_.add(l.free_index, c, l.size);
    }
    return false;
  }

  std::vector<CategoryTotals> totals() {
    std::vector<CategoryTotals> result(kCategoryCount);
    for (size_t c = 0; c < kCategoryCount; ++c) {
      result[c].category = std::string(to_string(static_cast<Category>(c)));
      result[c].allocations = verdicts_[c].count();
      result[c].allocated_bytes = verdicts_[c].bytes();
      result[c].peak_bytes = peak_bytes_[c];
      if (result[c].allocations == 0) continue;
      auto [confidence, reason] = verdicts_[c].heaviest();
      result[c].confidence = std::string(to_string(confidence));
      result[c].reason = std::string(to_string(reason));
    }
    return result;
  }

 private:
  // Per category; the allocations and their bytes are the verdicts' sums.
  std::array<Verdicts, kCategoryCount> verdicts_;
  std::array<uint64_t, kCategoryCount> peak_bytes_{};
  PendingFrees<kCategoryCount>::Bytes live_{};  // as of the last release; see observe
  PendingFrees<kCategoryCount> frees_;
  // A count passed 2^64 bytes (a corrupt trace): from then on every tensor
  // releases the frees before the peak is looked at, as their sums wrap.
  bool exact_ = false;
};

bool live_at(const Lifetime& l, size_t index) { return l.alloc_index <= index && index < l.free_index; }

// The tensors live at a device's peak, by category; and, unless tensors are
// blocks inside the segments the peak rows show, what each peak site is for.
class PeakLabels {
 public:
  PeakLabels(DevicePeak& peak, size_t peak_index, uint32_t device, bool label_sites, StackResolver& stacks)
      : peak_(peak), peak_index_(peak_index), device_(device), label_sites_(label_sites), stacks_(stacks) {}

  // Tensors in allocation order: those made after the peak end the look.
  void observe(std::span<const CategorizedTensor> tensors) {
    for (const CategorizedTensor& t : tensors) {
      if (t.tensor.alloc_index > peak_index_) return;
      if (t.tensor.free_index > peak_index_) observe(t.tensor, t.verdict);  // most are freed before it
    }
  }

  void observe(const Lifetime& l, const Categorized& verdict) {
    if (l.device != device_ || !live_at(l, peak_index_)) return;
    size_t c = slot(verdict.category);
    by_category_[c].bytes += l.size;
    by_category_[c].count += 1;
    if (!label_sites_) return;
    SiteTally*& site = site_of_[l.stack];
    if (site == nullptr) site = &sites_[site_key(stacks_.resolve(l.stack).site)];
    site->bytes[c] += l.size;
    site->verdicts[c].add(verdict, l.size);
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
      auto found = sites_.find(site_key(site.site));
      if (found == sites_.end()) continue;
      const SiteTally& tally = found->second;
      size_t c =
          static_cast<size_t>(std::max_element(tally.bytes.begin(), tally.bytes.end()) - tally.bytes.begin());
      site.category = std::string(to_string(static_cast<Category>(c)));
      site.confidence = std::string(to_string(tally.verdicts[c].heaviest().first));
    }
  }

 private:
  DevicePeak& peak_;
  size_t peak_index_;
  uint32_t device_;
  bool label_sites_;
  StackResolver& stacks_;
  std::array<CategoryBytes, kCategoryCount> by_category_;
  struct SiteTally {
    std::array<uint64_t, kCategoryCount> bytes{};
    std::array<Verdicts, kCategoryCount> verdicts;
  };
  std::map<std::string, SiteTally> sites_;  // by site key; entries stay where they are
  PerStack<SiteTally*> site_of_;
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
      [&](std::span<const CategorizedTensor> tensors) {
        sweep.observe(tensors, growth);
        for (PeakLabels& label : labels) label.observe(tensors);
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
