// One walk: each allocation a rectangle, closed by its free; then the bands.
#include "ui/memory_map.h"

#include <algorithm>
#include <unordered_map>

#include "analyzer/live_memory.h"
#include "analyzer/text_layout.h"
#include "ui/timeline_window.h"

namespace vramscope::ui {

void TensorCategories::add(std::span<const analysis::CategorizedTensor> tensors) {
  for (const analysis::CategorizedTensor& t : tensors) {
    if (events.size() >= MemoryMap::kMaxRects) return;
    events.push_back(t.tensor.alloc_index);
    categories.push_back(static_cast<uint8_t>(t.verdict.category));
  }
}

MemoryMap collect_memory_map(const trace::TraceContents& trace, uint32_t device, uint64_t end_ns,
                             analysis::StackResolver& stacks, const TensorCategories& categories) {
  MemoryMap map;
  size_t next_category = 0;  // both in allocation order: a cursor finds each
  std::unordered_map<uint32_t, uint32_t> site_of_stack;
  std::unordered_map<std::string, uint32_t> site_index;
  analysis::LiveMemory live;
  std::unordered_map<uint64_t, size_t> open;  // allocation serial → rect
  trace::EventCursor walk = trace.events.cursor(trace::FreeFields::AsRecorded);
  for (auto batch = walk.next(); !batch.empty(); batch = walk.next()) {
    for (const trace::Event& e : batch) {
      const analysis::LiveChange& change = live.apply(e);
      auto close = [&](const analysis::Allocation& a) {
        auto found = open.find(a.serial);
        if (found == open.end()) return;
        map.rects[found->second].to_ns = e.time_ns;
        map.rects[found->second].freed = true;
        open.erase(found);
      };
      if (change.displaced) close(*change.displaced);
      if (change.what == analysis::LiveChange::What::Freed) close(change.allocation);
      if (change.what != analysis::LiveChange::What::Allocated) continue;
      const analysis::Allocation& a = change.allocation;
      const bool block = a.kind == trace::MemoryKind::Block;
      // No rectangle runs past the top of the address space (a damaged
      // trace's may): ends, bands and packed addresses then stay in 64 bits.
      const uint64_t size = std::min(a.size, UINT64_MAX - a.address);
      if (a.device != device || (!block && !trace::occupies_device_memory(a.kind)) || size == 0) continue;
      if (map.rects.size() >= MemoryMap::kMaxRects) {
        ++map.left_out;
        continue;
      }
      auto [slot, made] = site_of_stack.try_emplace(a.stack.value, 0);
      if (made) {
        const analysis::ResolvedStack& resolved = stacks.resolve(a.stack);
        auto [named, added] = site_index.try_emplace(analysis::site_key(resolved.site),
                                                     static_cast<uint32_t>(map.sites.size()));
        if (added) map.sites.push_back(analysis::text::site_text(resolved.site));
        slot->second = named->second;
      }
      while (next_category < categories.events.size() && categories.events[next_category] < a.event_index) {
        ++next_category;
      }
      const bool categorized =
          next_category < categories.events.size() && categories.events[next_category] == a.event_index;
      open[a.serial] = map.rects.size();
      map.rects.push_back(
          MapRect{e.time_ns, end_ns, a.address, size, 0, e.stream, slot->second, a.stack, a.thread.value,
                  categorized ? categories.categories[next_category] : kNoCategory, block, false});
    }
  }
  // In the order they were made, which the lookups by moment and the runs
  // rely on. A damaged trace can give events out of it (a thread's chunks
  // that overlap in time are read one after the other); ties keep the file's order.
  auto made_before = [](const MapRect& a, const MapRect& b) { return a.from_ns < b.from_ns; };
  if (!std::is_sorted(map.rects.begin(), map.rects.end(), made_before))
    std::stable_sort(map.rects.begin(), map.rects.end(), made_before);
  // The bands: every range ever used, merged where they touch or overlap.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [start, end)
  for (const MapRect& r : map.rects) ranges.emplace_back(r.address, r.address + r.size);
  std::sort(ranges.begin(), ranges.end());
  for (const auto& [start, end] : ranges) {
    if (!map.bands.empty() && start <= map.bands.back().address + map.bands.back().size) {
      AddressBand& last = map.bands.back();
      last.size = std::max(last.size, end - last.address);
    } else {
      map.bands.push_back(AddressBand{start, end - start, 0});
    }
  }
  for (AddressBand& band : map.bands) {
    band.packed = map.packed_bytes;
    map.packed_bytes += band.size;
  }
  // Each rectangle's place among them, once: every band holds whole rectangles.
  for (MapRect& r : map.rects) {
    auto after = std::upper_bound(map.bands.begin(), map.bands.end(), r.address,
                                  [](uint64_t a, const AddressBand& b) { return a < b.address; });
    const AddressBand& band = *(after - 1);
    r.packed = band.packed + (r.address - band.address);
    map.has_blocks |= r.block;
  }
  for (const MapRect& r : map.rects) {
    if (!r.freed && r.block == map.has_blocks) map.live_at_end_ns.push_back(r.from_ns);
  }
  index_runs(map);
  return map;
}

void index_runs(MemoryMap& map) {
  map.run_end_ns.clear();
  map.run_first_end_ns.clear();
  map.run_last_start_ns.clear();
  map.run_rows.clear();
  constexpr uint32_t kNone = UINT32_MAX;
  std::vector<uint32_t> top(MemoryMap::kSpanRows);
  const double row_bytes = static_cast<double>(std::max<uint64_t>(1, map.packed_bytes)) /
                           static_cast<double>(MemoryMap::kSpanRows);
  auto row_of = [&](uint64_t packed) {
    return std::min(MemoryMap::kSpanRows - 1, static_cast<size_t>(static_cast<double>(packed) / row_bytes));
  };
  for (size_t i = 0; i < map.rects.size(); i += MemoryMap::kRun) {
    const size_t end = std::min(map.rects.size(), i + MemoryMap::kRun);
    uint64_t last_end = 0, first_end = UINT64_MAX, last_start = 0;
    std::fill(top.begin(), top.end(), kNone);
    for (int pass = 0; pass < 2; ++pass) {  // segments under their blocks
      for (size_t j = i; j < end; ++j) {
        const MapRect& r = map.rects[j];
        if (!drawn_in_pass(map, r, pass)) continue;
        last_end = std::max(last_end, r.freed ? r.to_ns : UINT64_MAX);
        first_end = std::min(first_end, r.to_ns);
        last_start = std::max(last_start, r.from_ns);
        if (r.size == 0) continue;
        std::fill(top.begin() + static_cast<ptrdiff_t>(row_of(r.packed)),
                  top.begin() + static_cast<ptrdiff_t>(row_of(r.packed + r.size - 1)) + 1,
                  static_cast<uint32_t>(j));
      }
    }
    std::vector<RowSpan>& rows = map.run_rows.emplace_back();
    for (size_t row = 0; row < MemoryMap::kSpanRows; ++row) {
      if (top[row] == kNone) continue;
      if (!rows.empty() && rows.back().rect == top[row] && rows.back().last_row + 1u == row) {
        rows.back().last_row = static_cast<uint16_t>(row);
      } else {
        rows.push_back(RowSpan{static_cast<uint16_t>(row), static_cast<uint16_t>(row), top[row]});
      }
    }
    map.run_end_ns.push_back(last_end);
    map.run_first_end_ns.push_back(first_end);
    map.run_last_start_ns.push_back(last_start);
  }
}

std::vector<size_t> live_allocations_at(const MemoryMap& map, uint64_t time_ns,
                                        const std::function<bool(const MapRect&)>& keep, size_t most) {
  std::vector<size_t> live;
  const auto past = std::upper_bound(map.rects.begin(), map.rects.end(), time_ns,
                                     [](uint64_t t, const MapRect& r) { return t < r.from_ns; });
  const size_t count = static_cast<size_t>(past - map.rects.begin());
  for (size_t run = 0; run * MemoryMap::kRun < count; ++run) {
    if (map.run_end_ns[run] < time_ns) continue;  // all of it over before
    for (size_t i = run * MemoryMap::kRun; i < std::min(count, (run + 1) * MemoryMap::kRun); ++i) {
      const MapRect& r = map.rects[i];
      if (live_at(r, time_ns) && keep(r)) live.push_back(i);
    }
  }
  const size_t kept = std::min(most, live.size());
  std::partial_sort(
      live.begin(), live.begin() + static_cast<ptrdiff_t>(kept), live.end(), [&](size_t a, size_t b) {
        return map.rects[a].size != map.rects[b].size ? map.rects[a].size > map.rects[b].size : a < b;
      });
  live.resize(kept);
  return live;
}

MapRaster rasterize(const MemoryMap& map, uint64_t start_ns, uint64_t end_ns, size_t columns, size_t rows,
                    const std::function<uint32_t(const MapRect&)>& colour) {
  MapRaster raster;
  raster.columns = columns;
  raster.rows = rows;
  const TimelineWindow extent = TimelineWindow::spanning(start_ns, end_ns);
  raster.start_ns = extent.from_ns;
  raster.end_ns = extent.to_ns;
  raster.cells.assign(columns * rows, 0);
  if (columns == 0 || rows == 0 || map.packed_bytes == 0) return raster;
  const double column_ns =
      static_cast<double>(raster.end_ns - raster.start_ns) / static_cast<double>(columns);
  const double row_bytes = static_cast<double>(map.packed_bytes) / static_cast<double>(rows);
  auto column_of = [&](uint64_t t) {
    const double c =
        static_cast<double>(std::clamp(t, raster.start_ns, raster.end_ns) - raster.start_ns) / column_ns;
    return std::min(columns - 1, static_cast<size_t>(c));
  };
  auto row_of = [&](uint64_t packed) {
    return std::min(rows - 1, static_cast<size_t>(static_cast<double>(packed) / row_bytes));
  };
  // Each rectangle covers the cells its span touches, one at least; the
  // rectangles of one layer never overlap, so the work is about the cells.
  for (int pass = 0; pass < 2; ++pass) {
    for (const MapRect& r : map.rects) {
      if (!drawn_in_pass(map, r, pass)) continue;
      if (r.to_ns < raster.start_ns || r.from_ns > raster.end_ns) continue;
      const uint32_t c = colour(r);
      const size_t x0 = column_of(r.from_ns), x1 = std::max(x0, column_of(r.to_ns - (r.to_ns > r.from_ns)));
      const size_t y0 = row_of(r.packed), y1 = std::max(y0, row_of(r.packed + r.size - 1));
      for (size_t y = y0; y <= y1; ++y) std::fill_n(raster.cells.begin() + y * columns + x0, x1 - x0 + 1, c);
    }
  }
  return raster;
}

}  // namespace vramscope::ui
