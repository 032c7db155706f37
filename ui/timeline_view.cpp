// The timeline view: one column per bucket, the categories stacked by their
// highest bytes in the bucket (a temporary made and freed inside one pixel's
// time still shows; where several categories peak apart within one pixel the
// stack may stand above the reserved line), the reserved line through each
// bucket's highest.
#include "ui/timeline_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
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
constexpr size_t kFrameWidth = 100;  // characters of a stack frame in a tooltip
constexpr float kLeakTick = 8;       // pixels high
constexpr size_t kBandAllocations = 3;  // listed when hovering a band

// The time since the trace's start, as the text report writes it; the axis's origin plain "0".
std::string time_label(uint64_t ns) { return ns == 0 ? "0" : analysis::text::elapsed(ns); }

constexpr size_t kLegendName = 60;  // characters of a site's name in the legend

// Categories in a row above the plot; sites, whose names are long, one per
// line in the plot's top left corner.
void draw_legend(const TimelineLevels& bands, ImDrawList& draw, ImVec2 row, ImVec2 corner) {
  std::vector<std::string> names;
  float widest = 0;
  for (size_t series = TimelineLevels::kFirstGroup; series < bands.series_count(); ++series) {
    std::string name = bands.name(series);
    if (name.size() > kLegendName) name = name.substr(0, kLegendName - 3) + "...";
    widest = std::max(widest, ImGui::CalcTextSize(name.c_str()).x);
    names.push_back(std::move(name));
  }
  if (bands.by_site()) {
    const float line = ImGui::GetTextLineHeightWithSpacing();
    draw.AddRectFilled(corner,
                       {corner.x + widest + 32, corner.y + line * static_cast<float>(names.size()) + 8},
                       IM_COL32(24, 24, 28, 220));
    for (size_t i = 0; i < names.size(); ++i) {
      const float y = corner.y + 4 + line * static_cast<float>(i);
      const uint32_t colour = band_colour(bands, TimelineLevels::kFirstGroup + i).packed();
      draw.AddRectFilled({corner.x + 6, y + 2}, {corner.x + 18, y + 14}, colour);
      draw.AddText({corner.x + 24, y}, kAxisText.packed(), names[i].c_str());
    }
    return;
  }
  float x = row.x;
  for (size_t i = 0; i < names.size(); ++i) {
    draw.AddRectFilled({x, row.y + 6}, {x + 12, row.y + 18},
                       band_colour(bands, TimelineLevels::kFirstGroup + i).packed());
    draw.AddText({x + 16, row.y + 5}, kAxisText.packed(), names[i].c_str());
    x += 16 + ImGui::CalcTextSize(names[i].c_str()).x + 18;
  }
}

}  // namespace

std::vector<size_t> band_allocations_at(const MemoryMap& map, const TimelineLevels& bands, size_t series,
                                        uint64_t time_ns, size_t most) {
  const std::string& name = bands.name(series);
  std::function<bool(const MapRect&)> keep;
  if (bands.by_site()) {
    auto site = std::find(map.sites.begin(), map.sites.end(), name);
    if (site == map.sites.end()) return {};  // "other"
    const auto index = static_cast<uint32_t>(site - map.sites.begin());
    keep = [&map, index](const MapRect& r) { return r.site == index && r.block == map.has_blocks; };
  } else {
    uint8_t category = kNoCategory;
    for (int c = 0; c < analysis::kCategoryCount; ++c) {
      if (to_string(static_cast<analysis::Category>(c)) == name) category = static_cast<uint8_t>(c);
    }
    if (category == kNoCategory) return {};
    keep = [category](const MapRect& r) { return r.category == category; };
  }
  return live_allocations_at(map, time_ns, keep, most);
}

Rgb band_colour(const TimelineLevels& bands, size_t series) {
  if (!bands.by_site()) return category_colour(bands.name(series));
  if (bands.name(series) == "other") return category_colour("unknown");
  return site_colour(static_cast<uint32_t>(series - TimelineLevels::kFirstGroup));
}

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
      top_bytes(timeline_top_bytes(timeline)) {
  const TimelineWindow shown = TimelineWindow::spanning(window.from_ns, window.to_ns);
  start_ns = shown.from_ns;
  end_ns = shown.to_ns;
}

float TimelineLayout::x_of(uint64_t time_ns) const {
  const double t = static_cast<double>(std::clamp(time_ns, start_ns, end_ns) - start_ns);
  return std::round(left + static_cast<float>(t / static_cast<double>(end_ns - start_ns) * (right - left)));
}

uint64_t TimelineLayout::time_at(float x) const {
  const double share = std::clamp((x - left) / (right - left), 0.0f, 1.0f);
  return start_ns + whole_number(share * static_cast<double>(end_ns - start_ns), end_ns - start_ns);
}

float TimelineLayout::y_of(uint64_t bytes) const {
  const double share = static_cast<double>(std::min(bytes, top_bytes)) / static_cast<double>(top_bytes);
  return std::round(bottom - static_cast<float>(share * (bottom - top)));
}

void draw_timeline(const ViewerModel& model, const TimelineLevels& bands, const TimelineWindow& window,
                   ImDrawList& draw, float x, float y, float width, float height) {
  const analysis::Timeline& timeline = model.timeline;
  const TimelineLevels& levels = bands;
  TimelineLayout layout(timeline, window, width, height);
  const ImVec2 origin{x, y};
  auto at = [&](float px, float py) { return ImVec2{origin.x + px, origin.y + py}; };

  draw.AddRectFilled(at(layout.left, layout.top), at(layout.right, layout.bottom), kPlotBackground.packed());
  const ImVec2 corner = at(layout.left + 8, layout.top + 8);

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
    const uint32_t colour = band_colour(levels, series).packed();
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

  // Leak marks: under the plot, a tick at each pixel where something still
  // live at the end was made (once the memory map, collected after the
  // trace opens, is there).
  if (const MemoryMap* map = model.collected_memory_map()) {
    const std::vector<uint64_t>& made = map->live_at_end_ns;
    auto next = std::lower_bound(made.begin(), made.end(), layout.start_ns);
    while (next != made.end() && *next <= layout.end_ns) {
      const float lx = layout.x_of(*next);
      draw.AddRectFilled(at(lx, layout.bottom - kLeakTick), at(lx + 1, layout.bottom), kLeakMark.packed());
      next = std::lower_bound(next, made.end(), layout.time_at(lx + 1));  // one tick a pixel
      if (next != made.end() && layout.x_of(*next) <= lx) ++next;
    }
  }

  if (window.selected_ns && visible(*window.selected_ns)) {
    const float sx = layout.x_of(*window.selected_ns);
    draw.AddLine(at(sx, layout.top), at(sx, layout.bottom), kSelection.packed(), 1.0f);
  }

  if (window.range) {
    const float x0 = layout.x_of(window.range->first), x1 = layout.x_of(window.range->second);
    draw.AddRectFilled(at(x0, layout.top), at(std::max(x0 + 1, x1), layout.bottom),
                       IM_COL32(140, 140, 255, 48));
    draw.AddRectFilled(at(x0, layout.top), at(x0 + 1, layout.bottom), kRangeShade.packed());
    draw.AddRectFilled(at(x1, layout.top), at(x1 + 1, layout.bottom), kRangeShade.packed());
  }

  draw_legend(bands, draw, at(layout.left, 0), corner);

  // The selected allocation: its bytes from the floor over its lifetime.
  if (const MapRect* r = selected_allocation(model, window);
      r && r->to_ns >= layout.start_ns && r->from_ns <= layout.end_ns) {
    const float x0 = layout.x_of(r->from_ns), x1 = std::max(x0 + 4, layout.x_of(r->to_ns));
    const float y0 = std::min(layout.y_of(r->size), layout.bottom - 4), y1 = layout.bottom;
    draw_outline(draw, at(x0, y0), at(x1, y1), kHighlight);
  }
}

void draw_outline(ImDrawList& draw, ImVec2 from, ImVec2 to, Rgb colour) {
  const uint32_t c = colour.packed();
  draw.AddRectFilled(from, {to.x, from.y + 2}, c);
  draw.AddRectFilled({from.x, to.y - 2}, to, c);
  draw.AddRectFilled(from, {from.x + 2, to.y}, c);
  draw.AddRectFilled({to.x - 2, from.y}, to, c);
}

const MapRect* selected_allocation(const ViewerModel& model, const TimelineWindow& window) {
  const MemoryMap* map = model.collected_memory_map();
  if (!map || !window.selected_allocation || *window.selected_allocation >= map->rects.size()) return nullptr;
  return &map->rects[*window.selected_allocation];
}

void handle_timeline_input(ViewerModel& model, const TimelineLevels& bands, TimelineWindow& window, float x,
                           float y, float width, float height, bool tooltip) {
  const TimelineLayout layout(model.timeline, window, width, height);
  const ImGuiIO& io = ImGui::GetIO();
  const float mx = io.MousePos.x - x, my = io.MousePos.y - y;
  const bool over = mx >= layout.left && mx < layout.right && my >= layout.top && my < layout.bottom;
  if (!over || !ImGui::IsWindowHovered()) return;
  const double anchor = (mx - layout.left) / (layout.right - layout.left);
  if (io.MouseWheel != 0) window.zoom(std::pow(kZoomStep, io.MouseWheel), anchor, model.timeline);
  // A range: dragged with the right button, or the left with shift held.
  const bool range_drag = ImGui::IsMouseDragging(ImGuiMouseButton_Right, 2.0f) ||
                          (io.KeyShift && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f));
  if (range_drag) {
    const ImGuiMouseButton button =
        ImGui::IsMouseDragging(ImGuiMouseButton_Right, 2.0f) ? ImGuiMouseButton_Right : ImGuiMouseButton_Left;
    const float start = mx - ImGui::GetMouseDragDelta(button, 2.0f).x;
    const uint64_t a = layout.time_at(start), b = layout.time_at(mx);
    window.range = std::pair{std::min(a, b), std::max(a, b)};
  } else if (ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f)) {
    window.pan(-io.MouseDelta.x / (layout.right - layout.left), model.timeline);
  } else if (ImGui::IsMouseReleased(ImGuiMouseButton_Left) &&
             ImGui::GetMouseDragDelta(ImGuiMouseButton_Left, 2.0f).x == 0) {
    window.selected_ns = layout.time_at(mx);
  } else if (ImGui::IsMouseReleased(ImGuiMouseButton_Right) &&
             ImGui::GetMouseDragDelta(ImGuiMouseButton_Right, 2.0f).x == 0) {
    window.range.reset();  // a right click clears the range
  }

  if (!tooltip) return;
  // The bytes under the cursor: its pixel column's highest, per series.
  const uint64_t t0 = layout.time_at(std::floor(mx)),
                 t1 = std::max(t0 + 1, layout.time_at(std::floor(mx) + 1));
  uint64_t value = 0;
  ImGui::BeginTooltip();
  ImGui::Text("%s", time_label(t0 - model.timeline.start_ns).c_str());
  if (window.range) {
    ImGui::Text("range %s to %s (%s)", time_label(window.range->first - model.timeline.start_ns).c_str(),
                time_label(window.range->second - model.timeline.start_ns).c_str(),
                analysis::text::elapsed(window.range->second - window.range->first).c_str());
  }
  // The band under the cursor: the series whose stacked bytes hold the cursor's height.
  const float share = (layout.bottom - my) / (layout.bottom - layout.top);
  const uint64_t cursor_bytes =
      whole_number(static_cast<double>(share) * static_cast<double>(layout.top_bytes), layout.top_bytes);
  uint64_t below = 0;
  std::optional<size_t> band;
  for (size_t series = 0; series < bands.series_count(); ++series) {
    bands.columns(series, t0, t1, std::span(&value, 1));
    if (value == 0 && series >= TimelineLevels::kFirstGroup) continue;
    const bool under =
        series >= TimelineLevels::kFirstGroup && cursor_bytes >= below && cursor_bytes < below + value;
    if (under) band = series;
    if (series >= TimelineLevels::kFirstGroup) below += value;
    ImGui::Text("%s %-16s %s", under ? ">" : " ", bands.name(series).c_str(), format_size(value).c_str());
  }
  // The band's largest allocations live there, once the memory map is collected.
  if (const MemoryMap* map = model.collected_memory_map(); map && band) {
    const std::vector<size_t> largest = band_allocations_at(*map, bands, *band, t0, kBandAllocations);
    for (size_t k = 0; k < largest.size(); ++k) {
      const MapRect& r = map->rects[largest[k]];
      ImGui::Separator();
      if (k == 0) {
        ImGui::Text("the largest of %s live here:", bands.name(*band).c_str());
        show_allocation(model, r);
      } else {
        ImGui::Text("%s, made at %s: %s", format_size(r.size).c_str(),
                    time_label(r.from_ns - model.timeline.start_ns).c_str(), map->sites[r.site].c_str());
      }
    }
  }
  // The selected allocation, when the cursor is on it.
  if (const MapRect* r = selected_allocation(model, window); r && live_at(*r, t0) && cursor_bytes < r->size) {
    ImGui::Separator();
    show_allocation(model, *r);
  }
  ImGui::EndTooltip();
}

void show_allocation(ViewerModel& model, const MapRect& r) {
  const MemoryMap* map = model.collected_memory_map();
  ImGui::Text("%s %s at 0x%llx", format_size(r.size).c_str(), r.block ? "block" : "segment",
              static_cast<unsigned long long>(r.address));
  if (map) ImGui::Text("site: %s", map->sites[r.site].c_str());
  if (r.category != kNoCategory) {
    ImGui::Text("category: %s", std::string(to_string(static_cast<analysis::Category>(r.category))).c_str());
  }
  const std::string made = analysis::text::elapsed(r.from_ns - model.timeline.start_ns);
  if (r.freed) {
    ImGui::Text("made at %s, freed %s later", made.c_str(),
                analysis::text::elapsed(r.to_ns - r.from_ns).c_str());
  } else {
    ImGui::Text("made at %s, live at the end", made.c_str());
  }
  ImGui::Text("stream %llu, thread %u", static_cast<unsigned long long>(r.stream), r.thread);
  for (const analysis::StackFrame& frame : model.resolve(r.stack).frames) {
    ImGui::Text("  %s", analysis::text::frame_label(frame, kFrameWidth).c_str());
  }
}

}  // namespace vramscope::ui
