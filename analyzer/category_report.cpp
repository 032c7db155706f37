// Iterations, categories and growth, from the lifetime log into the report.
#include "analyzer/category_report.h"

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <utility>

#include "analyzer/categories.h"
#include "analyzer/growth.h"
#include "analyzer/iterations.h"

namespace vramscope::analysis {

namespace {

size_t slot(Category c) { return static_cast<size_t>(c); }

// Bytes per (confidence, reason), to name what holds most of a category's bytes.
using Verdicts = std::map<std::pair<Confidence, std::string_view>, uint64_t>;

std::pair<Confidence, std::string_view> heaviest(const Verdicts& verdicts) {
  std::pair<Confidence, std::string_view> best{Confidence::Low, ""};
  uint64_t best_bytes = 0;
  for (const auto& [verdict, bytes] : verdicts) {
    if (bytes > best_bytes || best.second.empty()) {
      best = verdict;
      best_bytes = bytes;
    }
  }
  return best;
}

std::vector<CategoryTotals> totals(const std::vector<Lifetime>& tensors, const std::vector<Categorized>& categories) {
  std::array<CategoryTotals, kCategoryCount> result;
  std::array<Verdicts, kCategoryCount> verdicts;
  // The live bytes of each category change at allocations (+) and frees (-).
  struct Change {
    size_t index;
    bool alloc;
    uint64_t size;
    Category category;
  };
  std::vector<Change> steps;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Lifetime& l = tensors[i];
    Category c = categories[i].category;
    result[slot(c)].allocations += 1;
    result[slot(c)].allocated_bytes += l.size;
    verdicts[slot(c)][{categories[i].confidence, categories[i].reason}] += l.size;
    steps.push_back(Change{l.alloc_index, true, l.size, c});
    if (l.free_index != kNeverFreed) steps.push_back(Change{l.free_index, false, l.size, c});
  }
  // At one event, a displaced allocation's end comes before the new one.
  std::stable_sort(steps.begin(), steps.end(), [](const Change& a, const Change& b) {
    return a.index != b.index ? a.index < b.index : (!a.alloc && b.alloc);
  });
  std::array<uint64_t, kCategoryCount> live{};
  for (const Change& s : steps) {
    uint64_t& bytes = live[slot(s.category)];
    bytes = s.alloc ? bytes + s.size : bytes - s.size;
    result[slot(s.category)].peak_bytes = std::max(result[slot(s.category)].peak_bytes, bytes);
  }
  for (int c = 0; c < kCategoryCount; ++c) {
    result[c].category = std::string(to_string(static_cast<Category>(c)));
    if (result[c].allocations == 0) continue;
    auto [confidence, reason] = heaviest(verdicts[c]);
    result[c].confidence = std::string(to_string(confidence));
    result[c].reason = std::string(reason);
  }
  return {result.begin(), result.end()};
}

// The site's function and its two nearest callers.
std::vector<std::string> site_and_callers(const ResolvedStack& stack) {
  constexpr size_t kCallers = 2;
  const Site& site = stack.site;
  size_t i = 0;
  while (i < stack.frames.size() &&
         !(stack.frames[i].address == site.address && stack.frames[i].function == site.function &&
           stack.frames[i].file == site.file && stack.frames[i].line == site.line)) {
    ++i;
  }
  if (i == stack.frames.size()) return {site.function};
  std::vector<std::string> names;
  for (size_t j = i; j < stack.frames.size() && j <= i + kCallers; ++j) names.push_back(stack.frames[j].function);
  return names;
}

bool live_at(const Lifetime& l, size_t index) { return l.alloc_index <= index && index < l.free_index; }

// The tensors live at the device's peak, by category; and, unless tensors are
// blocks inside the segments the peak rows show, what each peak site is for.
void label_peak(DevicePeak& peak, size_t peak_index, uint32_t device, const std::vector<Lifetime>& tensors,
                const std::vector<Categorized>& categories, bool label_sites, StackResolver& stacks,
                const std::function<std::string(const Site&)>& site_key) {
  std::array<CategoryBytes, kCategoryCount> by_category;
  std::map<std::string, std::array<uint64_t, kCategoryCount>> site_bytes;
  std::map<std::string, std::array<Verdicts, kCategoryCount>> site_verdicts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Lifetime& l = tensors[i];
    if (l.device != device || !live_at(l, peak_index)) continue;
    size_t c = slot(categories[i].category);
    by_category[c].bytes += l.size;
    by_category[c].count += 1;
    if (!label_sites) continue;
    std::string key = site_key(stacks.resolve(l.stack).site);
    site_bytes[key][c] += l.size;  // value-initialized: zeros
    site_verdicts[key][c][{categories[i].confidence, categories[i].reason}] += l.size;
  }
  for (int c = 0; c < kCategoryCount; ++c) {
    if (by_category[c].count == 0) continue;
    by_category[c].category = std::string(to_string(static_cast<Category>(c)));
    peak.categories.push_back(by_category[c]);
  }
  std::stable_sort(peak.categories.begin(), peak.categories.end(),
                   [](const CategoryBytes& a, const CategoryBytes& b) { return a.bytes > b.bytes; });
  for (SiteBytes& site : peak.sites) {
    auto found = site_bytes.find(site_key(site.site));
    if (found == site_bytes.end()) continue;
    const auto& bytes = found->second;
    size_t c = static_cast<size_t>(std::max_element(bytes.begin(), bytes.end()) - bytes.begin());
    site.category = std::string(to_string(static_cast<Category>(c)));
    site.confidence = std::string(to_string(heaviest(site_verdicts[found->first][c]).first));
  }
}

}  // namespace

void add_iterations_and_categories(Report& report, const trace::TraceContents& trace, const LifetimeLog& log,
                                   const std::map<uint32_t, PeakMoment>& peaks, StackResolver& stacks,
                                   const std::function<std::string(const Site&)>& site_key) {
  FoundIterations found = find_iterations(trace);
  report.iterations.method = found.method;
  for (const IterationSpan& s : found.spans) report.iterations.list.push_back(IterationTimes{s.start_ns, s.end_ns});

  std::vector<Lifetime> tensors = log.tensors();
  if (tensors.empty()) return;
  std::vector<Categorized> categories = categorize(tensors, found.spans, [&](trace::StackId stack) {
    return site_and_callers(stacks.resolve(stack));
  });
  report.categories.source = log.has_tensor_blocks() ? "tensor blocks" : "device memory";
  report.categories.totals = totals(tensors, categories);
  for (DeviceReport& device : report.devices) {
    auto peak = peaks.find(device.ordinal);
    if (peak == peaks.end()) continue;
    label_peak(device.peak, peak->second.event_index, device.ordinal, tensors, categories,
               !log.has_tensor_blocks(), stacks, site_key);
  }

  for (const GrowthGroup& g : find_growth(tensors, found.spans)) {
    const ResolvedStack& resolved = stacks.resolve(g.stack);
    report.growth_leaks.push_back(GrowthLeak{g.kind, g.device, g.bytes_per_iteration, g.iterations,
                                             g.last_live_bytes, resolved.site, resolved.frames});
  }
}

}  // namespace vramscope::analysis
