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
constexpr size_t kFrameWidth = 100;  // characters of a stack frame in the tooltip
}  // namespace

void draw_memory_map(ViewerModel& model, const TimelineWindow& window, ImDrawList& draw, float x, float y,
                     float width, float height) {
  const MemoryMap& map = model.memory_map();
  const TimelineLayout layout(model.timeline, window, width, height);
  auto at = [&](float px, float py) { return ImVec2{x + px, y + py}; };
  draw.AddRectFilled(at(layout.left, layout.top), at(layout.right, layout.bottom), kPlotBackground.packed());

  char line[160];
  std::snprintf(line, sizeof line, "%zu allocations over %s of addresses in use%s", map.rects.size(),
                format_size(map.packed_bytes).c_str(),
                map.left_out ? (", " + std::to_string(map.left_out) + " more not drawn").c_str() : "");
  draw.AddText(at(layout.left, 6), kAxisText.packed(), line);

  const double rows = static_cast<double>(layout.bottom - layout.top);
  auto y_of = [&](uint64_t packed) {
    return std::round(
        layout.top + static_cast<float>(static_cast<double>(packed) /
                                        static_cast<double>(std::max<uint64_t>(1, map.packed_bytes)) * rows));
  };
  const bool has_blocks =
      std::any_of(map.rects.begin(), map.rects.end(), [](const MapRect& r) { return r.block; });
  for (int pass = 0; pass < 2; ++pass) {  // segments under their blocks
    for (const MapRect& r : map.rects) {
      if (r.to_ns < layout.start_ns || r.from_ns > layout.end_ns) continue;
      if (has_blocks && (pass == 0) != !r.block) continue;
      if (!has_blocks && pass == 1) break;
      const float x0 = layout.x_of(r.from_ns), x1 = std::max(x0 + 1, layout.x_of(r.to_ns));
      const float y0 = y_of(r.packed), y1 = std::max(y0 + 1, y_of(r.packed + r.size));
      const bool segment_under_blocks = has_blocks && !r.block;
      const Rgb colour = segment_under_blocks ? kWholeSegment : site_colour(r.site);
      draw.AddRectFilled(at(x0, y0), at(x1, y1), colour.packed());
      if (x1 - x0 >= 4 && y1 - y0 >= 4) draw.AddRect(at(x0, y0), at(x1, y1), kPlotBackground.packed());
    }
  }
}

void show_memory_map_tooltip(ViewerModel& model, const TimelineWindow& window, float x, float y, float width,
                             float height) {
  const MemoryMap& map = model.memory_map();
  const TimelineLayout layout(model.timeline, window, width, height);
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  const float mx = mouse.x - x, my = mouse.y - y;
  if (!ImGui::IsWindowHovered() || mx < layout.left || mx >= layout.right || my < layout.top ||
      my >= layout.bottom || map.packed_bytes == 0) {
    return;
  }
  const uint64_t time = layout.time_at(mx);
  const auto packed = static_cast<uint64_t>(static_cast<double>(my - layout.top) /
                                            static_cast<double>(layout.bottom - layout.top) *
                                            static_cast<double>(map.packed_bytes));
  // The last one drawn there is the one on top: a block over its segment.
  const MapRect* hit = nullptr;
  for (const MapRect& r : map.rects) {
    if (time < r.from_ns || time >= std::max(r.to_ns, r.from_ns + 1)) continue;
    if (packed < r.packed || packed >= r.packed + r.size) continue;
    if (!hit || r.block || !hit->block) hit = &r;
  }
  if (!hit) return;
  ImGui::BeginTooltip();
  ImGui::Text("%s %s at 0x%llx", format_size(hit->size).c_str(), hit->block ? "block" : "segment",
              static_cast<unsigned long long>(hit->address));
  ImGui::Text("site: %s", map.sites[hit->site].c_str());
  const std::string made = analysis::text::elapsed(hit->from_ns - model.timeline.start_ns);
  if (hit->freed) {
    ImGui::Text("made at %s, freed %s later", made.c_str(),
                analysis::text::elapsed(hit->to_ns - hit->from_ns).c_str());
  } else {
    ImGui::Text("made at %s, live at the end", made.c_str());
  }
  for (const analysis::StackFrame& frame : model.resolve(hit->stack).frames) {
    ImGui::Text("  %s", analysis::text::frame_label(frame, kFrameWidth).c_str());
  }
  ImGui::EndTooltip();
}

}  // namespace vramscope::ui
