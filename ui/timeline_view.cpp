// The timeline view: one column per bucket, the categories stacked by their
// highest bytes in the bucket (a temporary made and freed inside one pixel's
// time still shows; where several categories peak apart within one pixel the
// stack may stand above the reserved line), the reserved line through each
// bucket's highest.
#include "ui/timeline_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "analyzer/text_layout.h"
#include "formats/human_size.h"
#include "ui/palette.h"

namespace vramscope::ui {

namespace {

constexpr int kByteTicks = 4;
constexpr int kTimeTicks = 5;
constexpr double kZoomStep = 0.8;  // the span after one notch of the wheel, forward

// The time since the trace's start, as the text report writes it; the axis's origin plain "0".
std::string time_label(uint64_t ns) { return ns == 0 ? "0" : analysis::text::elapsed(ns); }

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

TimelineLayout::TimelineLayout(const analysis::Timeline& timeline, const TimelineWindow& window, float width,
                               float height)
    : left(kLeft),
      top(kTop),
      right(std::max(kLeft + 1, width - kRight)),
      bottom(std::max(kTop + 1, height - kBottom)),
      start_ns(window.from_ns),
      end_ns(std::max(window.to_ns, window.from_ns + 1)),
      top_bytes(timeline_top_bytes(timeline)) {}

float TimelineLayout::x_of(uint64_t time_ns) const {
  const double t = static_cast<double>(std::clamp(time_ns, start_ns, end_ns) - start_ns);
  return std::round(left + static_cast<float>(t / static_cast<double>(end_ns - start_ns) * (right - left)));
}

uint64_t TimelineLayout::time_at(float x) const {
  const double share = std::clamp((x - left) / (right - left), 0.0f, 1.0f);
  return start_ns + static_cast<uint64_t>(share * static_cast<double>(end_ns - start_ns));
}

float TimelineLayout::y_of(uint64_t bytes) const {
  const double share = static_cast<double>(std::min(bytes, top_bytes)) / static_cast<double>(top_bytes);
  return std::round(bottom - static_cast<float>(share * (bottom - top)));
}

void draw_timeline(const ViewerModel& model, const TimelineWindow& window, ImDrawList& draw, float x, float y,
                   float width, float height) {
  const analysis::Timeline& timeline = model.timeline;
  const TimelineLevels& levels = model.levels;
  TimelineLayout layout(timeline, window, width, height);
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
    const std::string label = time_label(t - timeline.start_ns);
    const float tx = layout.x_of(t) - ImGui::CalcTextSize(label.c_str()).x / 2;
    draw.AddText(at(std::clamp(tx, 0.0f, width - 60), layout.bottom + 8), kAxisText.packed(), label.c_str());
  }

  // Only what falls inside the window is drawn.
  auto visible = [&](uint64_t t) { return t >= layout.start_ns && t <= layout.end_ns; };
  for (const analysis::IterationTimes& iteration : model.report.iterations.list) {
    if (!visible(iteration.start_ns)) continue;
    const float ix = layout.x_of(iteration.start_ns);
    draw.AddLine(at(ix, layout.top), at(ix, layout.bottom), kIterationMark.packed(), 1.0f);
  }

  // The categories, stacked in their fixed order, a column per pixel.
  const int columns = layout.columns();
  std::vector<uint64_t> below(static_cast<size_t>(columns), 0);
  std::vector<uint64_t> values(static_cast<size_t>(columns));
  for (size_t series = TimelineLevels::kFirstGroup; series < levels.series_count(); ++series) {
    levels.columns(series, layout.start_ns, layout.end_ns, values);
    const uint32_t colour = category_colour(levels.name(series)).packed();
    for (int c = 0; c < columns; ++c) {
      const uint64_t bytes = values[static_cast<size_t>(c)];
      if (bytes == 0) continue;
      uint64_t& base = below[static_cast<size_t>(c)];
      const float x0 = layout.left + static_cast<float>(c);
      draw.AddRectFilled(at(x0, layout.y_of(base + bytes)), at(x0 + 1, layout.y_of(base)), colour);
      base += bytes;
    }
  }
  // Reserved: through each column's highest.
  if (levels.series_count() > TimelineLevels::kReserved) {
    levels.columns(TimelineLevels::kReserved, layout.start_ns, layout.end_ns, values);
    for (int c = 0; c + 1 < columns; ++c) {
      const float x0 = layout.left + static_cast<float>(c);
      const float y0 = layout.y_of(values[static_cast<size_t>(c)]);
      const float y1 = layout.y_of(values[static_cast<size_t>(c) + 1]);
      draw.AddLine(at(x0, y0), at(x0 + 1, y0), kReservedLine.packed(), 1.0f);
      if (y1 != y0) draw.AddLine(at(x0 + 1, y0), at(x0 + 1, y1), kReservedLine.packed(), 1.0f);
    }
  }

  if (timeline.total_bytes != 0 && timeline.total_bytes <= layout.top_bytes) {
    const float cy = layout.y_of(timeline.total_bytes);
    draw.AddLine(at(layout.left, cy), at(layout.right, cy), kCapacityLine.packed(), 2.0f);
    const std::string label = "capacity " + format_size(timeline.total_bytes);
    draw.AddText(at(layout.right - ImGui::CalcTextSize(label.c_str()).x - 4, cy - 16), kCapacityLine.packed(),
                 label.c_str());
  }

  for (const analysis::FailedAllocation& failure : model.report.failed_allocations) {
    if (failure.device != timeline.device || !analysis::ran_out_of_memory(failure) ||
        !visible(failure.time_ns))
      continue;
    const float fx = layout.x_of(failure.time_ns);
    draw.AddLine(at(fx, layout.top), at(fx, layout.bottom), kOomMark.packed(), 2.0f);
    draw.AddTriangleFilled(at(fx - 6, layout.top - 10), at(fx + 6, layout.top - 10), at(fx, layout.top),
                           kOomMark.packed());
  }

  if (window.selected_ns && visible(*window.selected_ns)) {
    const float sx = layout.x_of(*window.selected_ns);
    draw.AddLine(at(sx, layout.top), at(sx, layout.bottom), kSelection.packed(), 1.0f);
  }
}

void handle_timeline_input(const ViewerModel& model, TimelineWindow& window, float x, float y, float width,
                           float height, bool tooltip) {
  const TimelineLayout layout(model.timeline, window, width, height);
  const ImGuiIO& io = ImGui::GetIO();
  const float mx = io.MousePos.x - x, my = io.MousePos.y - y;
  const bool over = mx >= layout.left && mx < layout.right && my >= layout.top && my < layout.bottom;
  if (!over || !ImGui::IsWindowHovered()) return;
  const double anchor = (mx - layout.left) / (layout.right - layout.left);
  if (io.MouseWheel != 0) window.zoom(std::pow(kZoomStep, io.MouseWheel), anchor, model.timeline);
  if (ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f)) {
    window.pan(-io.MouseDelta.x / (layout.right - layout.left), model.timeline);
  } else if (ImGui::IsMouseReleased(ImGuiMouseButton_Left) &&
             ImGui::GetMouseDragDelta(ImGuiMouseButton_Left, 2.0f).x == 0) {
    window.selected_ns = layout.time_at(mx);
  }

  if (!tooltip) return;
  // The bytes under the cursor: its pixel column's highest, per series.
  const uint64_t t0 = layout.time_at(std::floor(mx)),
                 t1 = std::max(t0 + 1, layout.time_at(std::floor(mx) + 1));
  uint64_t value = 0;
  ImGui::BeginTooltip();
  ImGui::Text("%s", time_label(t0 - model.timeline.start_ns).c_str());
  for (size_t series = 0; series < model.levels.series_count(); ++series) {
    model.levels.columns(series, t0, t1, std::span(&value, 1));
    if (value == 0 && series >= TimelineLevels::kFirstGroup) continue;
    ImGui::Text("%-16s %s", model.levels.name(series).c_str(), format_size(value).c_str());
  }
  ImGui::EndTooltip();
}

}  // namespace vramscope::ui
