// The timeline view: one column per bucket, the categories stacked by their
// highest bytes in the bucket (a temporary made and freed inside one pixel's
// time still shows; where several categories peak apart within one pixel the
// stack may stand above the reserved line), the reserved line through each
// bucket's highest.
#include "ui/timeline_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "formats/human_size.h"
#include "ui/palette.h"

namespace vramscope::ui {

namespace {

constexpr int kByteTicks = 4;
constexpr int kTimeTicks = 5;

std::string time_label(uint64_t ns) {
  char text[32];
  if (ns == 0) return "0";
  if (ns >= 1'000'000'000) {
    std::snprintf(text, sizeof text, "%.2f s", static_cast<double>(ns) / 1e9);
  } else if (ns >= 1'000'000) {
    std::snprintf(text, sizeof text, "%.2f ms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.1f us", static_cast<double>(ns) / 1e3);
  }
  return text;
}

void draw_legend(const analysis::Timeline& timeline, ImDrawList& draw, float x, float y) {
  for (const analysis::TimelineSeries& group : timeline.groups) {
    draw.AddRectFilled({x, y + 6}, {x + 12, y + 18}, category_colour(group.name).packed());
    draw.AddText({x + 16, y + 5}, kAxisText.packed(), group.name.c_str());
    x += 16 + ImGui::CalcTextSize(group.name.c_str()).x + 18;
  }
}

}  // namespace

uint64_t timeline_top_bytes(const analysis::Timeline& timeline) {
  const uint64_t highest = std::max(timeline.reserved.peak_bytes, timeline.allocated.peak_bytes);
  const uint64_t capacity = timeline.total_bytes;
  const bool near = capacity != 0 && capacity / 2 <= highest;
  const uint64_t base = near ? std::max(capacity, highest) : highest;
  return std::max<uint64_t>(1, base + base / 10);
}

TimelineLayout::TimelineLayout(const analysis::Timeline& timeline, float width, float height)
    : left(kLeft),
      top(kTop),
      right(std::max(kLeft + 1, width - kRight)),
      bottom(std::max(kTop + 1, height - kBottom)),
      start_ns(timeline.start_ns),
      end_ns(std::max(timeline.end_ns, timeline.start_ns + 1)),
      top_bytes(timeline_top_bytes(timeline)) {}

float TimelineLayout::x_of(uint64_t time_ns) const {
  const double t = static_cast<double>(std::clamp(time_ns, start_ns, end_ns) - start_ns);
  return std::round(left + static_cast<float>(t / static_cast<double>(end_ns - start_ns) * (right - left)));
}

float TimelineLayout::y_of(uint64_t bytes) const {
  const double share = static_cast<double>(std::min(bytes, top_bytes)) / static_cast<double>(top_bytes);
  return std::round(bottom - static_cast<float>(share * (bottom - top)));
}

void draw_timeline(const ViewerModel& model, ImDrawList& draw, float x, float y, float width, float height) {
  const analysis::Timeline& timeline = model.timeline;
  TimelineLayout layout(timeline, width, height);
  const ImVec2 origin{x, y};
  auto at = [&](float px, float py) { return ImVec2{origin.x + px, origin.y + py}; };

  draw.AddRectFilled(at(layout.left, layout.top), at(layout.right, layout.bottom), kPlotBackground.packed());
  draw_legend(timeline, draw, origin.x + layout.left, origin.y);

  for (int i = 0; i <= kByteTicks; ++i) {
    const uint64_t bytes = layout.top_bytes / kByteTicks * static_cast<uint64_t>(i);
    const std::string label = format_size(bytes);
    const float ty = layout.y_of(bytes);
    draw.AddText(at(layout.left - 6 - ImGui::CalcTextSize(label.c_str()).x, ty - 7), kAxisText.packed(),
                 label.c_str());
  }
  for (int i = 0; i <= kTimeTicks; ++i) {
    const uint64_t t =
        layout.start_ns + (layout.end_ns - layout.start_ns) / kTimeTicks * static_cast<uint64_t>(i);
    const std::string label = time_label(t - layout.start_ns);
    const float tx = layout.x_of(t) - ImGui::CalcTextSize(label.c_str()).x / 2;
    draw.AddText(at(std::clamp(tx, 0.0f, width - 60), layout.bottom + 8), kAxisText.packed(), label.c_str());
  }

  for (const analysis::IterationTimes& iteration : model.report.iterations.list) {
    const float ix = layout.x_of(iteration.start_ns);
    draw.AddLine(at(ix, layout.top), at(ix, layout.bottom), kIterationMark.packed(), 1.0f);
  }

  // The categories, stacked in their fixed order, a column per bucket.
  const size_t buckets = timeline.bucket_count;
  for (size_t b = 0; b < buckets; ++b) {
    const float x0 = layout.x_of(timeline.bucket_start(b));
    const float x1 =
        std::max(x0 + 1, b + 1 < buckets ? layout.x_of(timeline.bucket_start(b + 1)) : layout.right);
    uint64_t below = 0;
    for (const analysis::TimelineSeries& group : timeline.groups) {
      const uint64_t bytes = group.buckets[b].max;
      if (bytes == 0) continue;
      draw.AddRectFilled(at(x0, layout.y_of(below + bytes)), at(x1, layout.y_of(below)),
                         category_colour(group.name).packed());
      below += bytes;
    }
  }
  // Reserved: through each bucket's highest.
  for (size_t b = 0; b + 1 < buckets; ++b) {
    const float x0 = layout.x_of(timeline.bucket_start(b));
    const float x1 = layout.x_of(timeline.bucket_start(b + 1));
    const float y0 = layout.y_of(timeline.reserved.buckets[b].max);
    const float y1 = layout.y_of(timeline.reserved.buckets[b + 1].max);
    draw.AddLine(at(x0, y0), at(x1, y0), kReservedLine.packed(), 1.0f);
    draw.AddLine(at(x1, y0), at(x1, y1), kReservedLine.packed(), 1.0f);
  }

  if (timeline.total_bytes != 0 && timeline.total_bytes <= layout.top_bytes) {
    const float cy = layout.y_of(timeline.total_bytes);
    draw.AddLine(at(layout.left, cy), at(layout.right, cy), kCapacityLine.packed(), 2.0f);
    const std::string label = "capacity " + format_size(timeline.total_bytes);
    draw.AddText(at(layout.right - ImGui::CalcTextSize(label.c_str()).x - 4, cy - 16), kCapacityLine.packed(),
                 label.c_str());
  }

  for (const analysis::FailedAllocation& failure : model.report.failed_allocations) {
    if (failure.device != timeline.device || !analysis::ran_out_of_memory(failure)) continue;
    const float fx = layout.x_of(failure.time_ns);
    draw.AddLine(at(fx, layout.top), at(fx, layout.bottom), kOomMark.packed(), 2.0f);
    draw.AddTriangleFilled(at(fx - 6, layout.top - 10), at(fx + 6, layout.top - 10), at(fx, layout.top),
                           kOomMark.packed());
  }
}

}  // namespace vramscope::ui
