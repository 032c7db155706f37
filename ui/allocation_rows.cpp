// Filtering and sorting the table's rows, once per change of what they depend on.
#include "ui/allocation_rows.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "analyzer/categories.h"

namespace vramscope::ui {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::vector<uint32_t> table_rows(const MemoryMap& map, const AllocationsTable& table,
                                 const TimelineWindow& window) {
  const std::string needle = lower(table.filter);
  // A site or category matches once, not once per row.
  std::vector<bool> site_matches(map.sites.size(), needle.empty());
  for (size_t s = 0; s < map.sites.size() && !needle.empty(); ++s) {
    site_matches[s] = lower(map.sites[s]).find(needle) != std::string::npos;
  }
  bool category_matches[analysis::kCategoryCount + 1] = {};
  for (int c = 0; c < analysis::kCategoryCount; ++c) {
    category_matches[c] =
        !needle.empty() &&
        std::string(to_string(static_cast<analysis::Category>(c))).find(needle) != std::string::npos;
  }
  std::vector<uint32_t> rows;
  for (size_t i = 0; i < map.rects.size(); ++i) {
    const MapRect& r = map.rects[i];
    if (!site_matches[r.site] && !category_matches[r.category]) continue;
    if (table.live_at_moment && (!window.selected_ns || !live_at(r, *window.selected_ns))) continue;
    if (table.in_range && window.range &&
        (r.from_ns < window.range->first || r.from_ns >= window.range->second))
      continue;
    rows.push_back(static_cast<uint32_t>(i));
  }
  auto lifetime = [](const MapRect& r) { return r.freed ? r.to_ns - r.from_ns : UINT64_MAX; };
  auto less = [&](uint32_t a, uint32_t b) {
    const MapRect &x = map.rects[a], &y = map.rects[b];
    switch (table.sort) {
      case AllocationColumn::Number:
      case AllocationColumn::Made:
        return false;  // allocation order: the ties' order
      case AllocationColumn::Size:
        return x.size < y.size;
      case AllocationColumn::Site:
        return map.sites[x.site] < map.sites[y.site];
      case AllocationColumn::Category:
        return x.category < y.category;
      case AllocationColumn::Lifetime:
        return lifetime(x) < lifetime(y);
      case AllocationColumn::Stream:
        return x.stream < y.stream;
      case AllocationColumn::Thread:
        return x.thread < y.thread;
      case AllocationColumn::Address:
        return x.address < y.address;
    }
    return false;
  };
  // Stable on rows in allocation order: ties keep it, whichever the direction.
  if (table.ascending) {
    std::stable_sort(rows.begin(), rows.end(), less);
  } else {
    std::stable_sort(rows.begin(), rows.end(), [&](uint32_t a, uint32_t b) { return less(b, a); });
  }
  if (!table.ascending && (table.sort == AllocationColumn::Number || table.sort == AllocationColumn::Made)) {
    std::reverse(rows.begin(), rows.end());
  }
  return rows;
}

}  // namespace vramscope::ui
