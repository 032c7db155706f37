// Rectangles culled by time; each outlined when big enough to tell apart
// from its neighbours of the same site.
#include "ui/memory_map_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "analyzer/text_layout.h"
#include "formats/human_size.h"
#include "ui/palette.h"
#include "ui/timeline_view.h"

namespace vramscope::ui {

namespace {

// The packed address at the canvas row `py`, and back.
struct AddressScale {
  float top, rows;
  uint64_t bytes;
  float y_of(uint64_t packed) const {
    return std::round(top + static_cast<float>(static_cast<double>(packed) /
                                               static_cast<double>(std::max<uint64_t>(1, bytes)) * rows));
  }
  uint64_t packed_at(float py) const {
    return static_cast<uint64_t>(static_cast<double>(py - top) / rows * static_cast<double>(bytes));
  }
};

AddressScale address_scale(const MemoryMap& map, const TimelineLayout& layout) {
  return {layout.top, layout.bottom - layout.top, map.packed_bytes};
}

Rgb colour_of(const MapRect& r, const MemoryMapChoice& choice, bool has_blocks) {
  if (has_blocks && !r.block) return kWholeSegment;  // a segment under its blocks
  if (choice.by_site) return site_colour(r.site);
  return category_colour(r.category == kNoCategory ? "unknown"
                                                   : to_string(static_cast<analysis::Category>(r.category)));
}

}  // namespace

void draw_memory_map(ViewerModel& model, const MemoryMapChoice& choice, const TimelineWindow& window,
                     ImDrawList& draw, float x, float y, float width, float height) {
  const MemoryMap& map = model.memory_map();
  const TimelineLayout layout(model.timeline, window, width, height);
  auto at = [&](float px, float py) { return ImVec2{x + px, y + py}; };
  draw.AddRectFilled(at(layout.left, layout.top), at(layout.right, layout.bottom), kPlotBackground.packed());

  char line[200];
  std::snprintf(line, sizeof line, "%zu allocations over %s of addresses in use%s, by %s", map.rects.size(),
                format_size(map.packed_bytes).c_str(),
                map.left_out ? (", " + std::to_string(map.left_out) + " more not drawn").c_str() : "",
                choice.by_site ? "site" : "category");
  draw.AddText(at(layout.left, 6), kAxisText.packed(), line);

  const AddressScale scale = address_scale(map, layout);
  const bool has_blocks =
      std::any_of(map.rects.begin(), map.rects.end(), [](const MapRect& r) { return r.block; });
  for (int pass = 0; pass < 2; ++pass) {  // segments under their blocks
    for (const MapRect& r : map.rects) {
      if (r.to_ns < layout.start_ns || r.from_ns > layout.end_ns) continue;
      if (has_blocks && (pass == 0) != !r.block) continue;
      if (!has_blocks && pass == 1) break;
      const float x0 = layout.x_of(r.from_ns), x1 = std::max(x0 + 1, layout.x_of(r.to_ns));
      const float y0 = scale.y_of(r.packed), y1 = std::max(y0 + 1, scale.y_of(r.packed + r.size));
      draw.AddRectFilled(at(x0, y0), at(x1, y1), colour_of(r, choice, has_blocks).packed());
      if (x1 - x0 >= 4 && y1 - y0 >= 4) draw.AddRect(at(x0, y0), at(x1, y1), kPlotBackground.packed());
    }
  }
  if (const MapRect* r = selected_allocation(model, window);
      r && r->to_ns >= layout.start_ns && r->from_ns <= layout.end_ns) {
    const float x0 = layout.x_of(r->from_ns), x1 = std::max(x0 + 4, layout.x_of(r->to_ns));
    const float y0 = scale.y_of(r->packed), y1 = std::max(y0 + 4, scale.y_of(r->packed + r->size));
    draw_outline(draw, at(x0, y0), at(x1, y1), kHighlight);
  }
}

const MapRect* memory_map_hit(ViewerModel& model, const TimelineWindow& window, float mx, float my,
                              float width, float height) {
  const MemoryMap& map = model.memory_map();
  const TimelineLayout layout(model.timeline, window, width, height);
  if (mx < layout.left || mx >= layout.right || my < layout.top || my >= layout.bottom ||
      map.packed_bytes == 0)
    return nullptr;
  const uint64_t time = layout.time_at(mx);
  const uint64_t packed = address_scale(map, layout).packed_at(my);
  // The last one drawn there is the one on top: a block over its segment.
  const MapRect* hit = nullptr;
  for (const MapRect& r : map.rects) {
    if (time < r.from_ns || time >= std::max(r.to_ns, r.from_ns + 1)) continue;
    if (packed < r.packed || packed >= r.packed + r.size) continue;
    if (!hit || r.block || !hit->block) hit = &r;
  }
  return hit;
}

void handle_memory_map_input(ViewerModel& model, TimelineWindow& window, float x, float y, float width,
                             float height) {
  if (!ImGui::IsWindowHovered()) return;
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const MapRect* hit = memory_map_hit(model, window, mouse.x - x, mouse.y - y, width, height);
  if (!hit) return;
  if (ImGui::IsMouseReleased(ImGuiMouseButton_Left) &&
      ImGui::GetMouseDragDelta(ImGuiMouseButton_Left, 2.0f).x == 0) {
    window.selected_allocation = static_cast<size_t>(hit - model.memory_map().rects.data());
  }
  ImGui::BeginTooltip();
  show_allocation(model, *hit);
  ImGui::EndTooltip();
}

}  // namespace vramscope::ui
