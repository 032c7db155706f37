// One walk: each allocation a rectangle, closed by its free; then the bands.
#include "ui/memory_map.h"

#include <algorithm>
#include <unordered_map>

#include "analyzer/live_memory.h"
#include "analyzer/text_layout.h"

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
      if (a.device != device || (!block && !trace::occupies_device_memory(a.kind)) || a.size == 0) continue;
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
          MapRect{e.time_ns, end_ns, a.address, a.size, 0, e.stream, slot->second, a.stack, a.thread.value,
                  categorized ? categories.categories[next_category] : kNoCategory, block, false});
    }
  }
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
  }
  return map;
}

}  // namespace vramscope::ui
