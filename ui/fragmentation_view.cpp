// Segments as bars: the bar in the hole colour, the blocks drawn over it;
// a segment without block data is one used block.
#include "ui/fragmentation_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "analyzer/text_layout.h"
#include "formats/human_size.h"
#include "ui/palette.h"

namespace vramscope::ui {

void draw_fragmentation(ViewerModel& model, uint64_t time_ns, ImDrawList& draw, float x, float y, float width,
                        float height) {
  using L = FragmentationLayout;
  const analysis::DeviceFragmentationMap& map = model.fragmentation_at(time_ns);
  const analysis::FragmentationFigures& f = map.figures;
  auto at = [&](float px, float py) { return ImVec2{x + px, y + py}; };

  char line[256];
  std::snprintf(line, sizeof line, "at %s: %llu segments, %s reserved, %s in blocks",
                analysis::text::elapsed(time_ns - model.timeline.start_ns).c_str(),
                static_cast<unsigned long long>(f.segments), format_size(f.segment_bytes).c_str(),
                format_size(f.block_bytes).c_str());
  draw.AddText(at(L::kLeft, 6), kAxisText.packed(), line);
  std::snprintf(
      line, sizeof line, "free %s in holes, the largest %s: fragmentation %.2f (1 - largest / free)",
      format_size(f.total_free_bytes).c_str(), format_size(f.largest_free_bytes).c_str(), f.metric());
  draw.AddText(at(L::kLeft, 24), kAxisText.packed(), line);

  uint64_t largest = 1;
  for (const analysis::SegmentMap& segment : map.segments) largest = std::max(largest, segment.range.size);
  const float span = std::max(1.0f, width - L::kLeft - L::kRight);
  auto x_of = [&](uint64_t offset) {
    return std::round(L::kLeft +
                      static_cast<float>(static_cast<double>(offset) / static_cast<double>(largest) * span));
  };

  size_t drawn = 0;
  for (const analysis::SegmentMap& segment : map.segments) {
    const float y0 = L::kTop + static_cast<float>(drawn) * (L::kBar + L::kGap);
    if (y0 + L::kBar > height - 20) break;
    const uint64_t start = segment.range.address;
    const float x1 = std::max(x_of(segment.range.size), L::kLeft + 2);
    draw.AddRectFilled(at(L::kLeft, y0), at(x1, y0 + L::kBar),
                       (segment.has_blocks ? kHole : kWholeSegment).packed());
    if (segment.has_blocks) {
      for (const analysis::AddressRange& block : segment.blocks) {
        const float b0 = x_of(block.address - start);
        const float b1 = std::max(b0 + 1, x_of(block.address + block.size - start));
        draw.AddRectFilled(at(b0, y0), at(b1, y0 + L::kBar), kBlock.packed());
      }
    }
    const std::string label = format_size(segment.range.size);
    draw.AddText(at(L::kLeft - 6 - ImGui::CalcTextSize(label.c_str()).x, y0), kAxisText.packed(),
                 label.c_str());
    ++drawn;
  }
  if (drawn < map.segments.size()) {
    std::snprintf(line, sizeof line, "and %zu more segments", map.segments.size() - drawn);
    draw.AddText(at(L::kLeft, height - 18), kAxisText.packed(), line);
  }
  if (map.segments.empty())
    draw.AddText(at(L::kLeft, L::kTop), kAxisText.packed(), "no segments live at this moment");
}

}  // namespace vramscope::ui
