// Rectangles culled by time; each outlined when big enough to tell apart
// from its neighbours of the same site.
#include "ui/memory_map_view.h"

#include <GL/gl.h>
#include <imgui.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

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
    return whole_number(static_cast<double>(py - top) / rows * static_cast<double>(bytes), bytes);
  }
};

AddressScale address_scale(const MemoryMap& map, const TimelineLayout& layout) {
  return {layout.top, layout.bottom - layout.top, map.packed_bytes};
}

// The categories' colours by index (kNoCategory last: "unknown"'s), looked up
// by name once rather than per rectangle.
const std::array<Rgb, analysis::kCategoryCount + 1>& category_colours() {
  static const std::array<Rgb, analysis::kCategoryCount + 1> colours = [] {
    std::array<Rgb, analysis::kCategoryCount + 1> c;
    for (int i = 0; i < analysis::kCategoryCount; ++i) {
      c[static_cast<size_t>(i)] = category_colour(to_string(static_cast<analysis::Category>(i)));
    }
    c[kNoCategory] = category_colour("unknown");
    return c;
  }();
  return colours;
}

Rgb colour_of(const MapRect& r, bool by_site, bool has_blocks) {
  if (has_blocks && !r.block) return kWholeSegment;  // a segment under its blocks
  if (by_site) return site_colour(r.site);
  return category_colours()[r.category];
}

}  // namespace

MapTexture::~MapTexture() { release(); }

void MapTexture::release() {
  if (texture) glDeleteTextures(1, &texture);
  texture = 0;
}

namespace {

// kRasterColumns, or fewer where the OpenGL implementation takes no texture so wide.
size_t raster_columns() {
  static const size_t columns = [] {
    GLint widest = 0;
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &widest);
    return std::min(kRasterColumns, static_cast<size_t>(std::max(widest, 1024)));
  }();
  return columns;
}

// `t`, the texture of `map` coloured by site or category, made (again) when
// there is none or the colouring changed.
const MapTexture& raster_texture(const ViewerModel& model, const MemoryMap& map, bool by_site,
                                 MapTexture& t) {
  if (t.texture && t.by_site == by_site) return t;
  const MapRaster raster =
      rasterize(map, model.timeline.start_ns, model.timeline.end_ns, raster_columns(), kRasterRows,
                [&](const MapRect& r) { return colour_of(r, by_site, map.has_blocks).packed(); });
  if (!t.texture) glGenTextures(1, &t.texture);
  glBindTexture(GL_TEXTURE_2D, t.texture);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  // The cells are Dear ImGui's packed colours: bytes R, G, B, A in memory.
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, static_cast<GLsizei>(raster.columns),
               static_cast<GLsizei>(raster.rows), 0, GL_RGBA, GL_UNSIGNED_BYTE, raster.cells.data());
  t.by_site = by_site;
  t.start_ns = raster.start_ns;
  t.end_ns = raster.end_ns;
  return t;
}

// Whether every rectangle of run `run` (a whole one, before `count`) spans
// the layout's window, in a map large enough to be drawn that way.
bool spans_window(const MemoryMap& map, size_t run, size_t count, const TimelineLayout& layout) {
  return map.rects.size() > kRasterAbove && (run + 1) * MemoryMap::kRun <= count &&
         map.run_last_start_ns[run] <= layout.start_ns && map.run_first_end_ns[run] >= layout.end_ns;
}

}  // namespace

void draw_memory_map(ViewerModel& model, bool by_site, MapTexture& raster, const TimelineWindow& window,
                     ImDrawList& draw, float x, float y, float width, float height) {
  const MemoryMap& map = model.memory_map();
  const TimelineLayout layout(model.timeline, window, width, height);
  auto at = [&](float px, float py) { return ImVec2{x + px, y + py}; };
  draw.AddRectFilled(at(layout.left, layout.top), at(layout.right, layout.bottom), kPlotBackground.packed());

  char line[200];
  std::snprintf(line, sizeof line, "%zu allocations over %s of addresses in use%s, by %s", map.rects.size(),
                format_size(map.packed_bytes).c_str(),
                map.left_out ? (", " + std::to_string(map.left_out) + " more not drawn").c_str() : "",
                by_site ? "site" : "category");
  draw.AddText(at(layout.left, 6), kAxisText.packed(), line);

  const AddressScale scale = address_scale(map, layout);
  const double column_ns =
      static_cast<double>(layout.end_ns - layout.start_ns) / static_cast<double>(layout.columns());
  const double raster_column_ns = static_cast<double>(model.timeline.end_ns - model.timeline.start_ns) /
                                  static_cast<double>(raster_columns());
  if (map.rects.size() > kRasterAbove && column_ns >= raster_column_ns) {
    // Wider than the raster's columns: the raster, scaled by the GPU, one quad.
    const MapTexture& t = raster_texture(model, map, by_site, raster);
    const double span = static_cast<double>(t.end_ns - t.start_ns);
    const float u0 = static_cast<float>(static_cast<double>(layout.start_ns - t.start_ns) / span);
    const float u1 = static_cast<float>(static_cast<double>(layout.end_ns - t.start_ns) / span);
    draw.AddImage(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(t.texture)),
                  at(layout.left, layout.top), at(layout.right, layout.bottom), {u0, 0}, {u1, 1});
  } else {
    // One rectangle each, culled by time: runs that ended before the window
    // are skipped whole, and the allocations after it are never reached.
    // Rectangles of one pixel are drawn once per pixel.
    const size_t columns = static_cast<size_t>(layout.columns());
    const size_t plot_rows = static_cast<size_t>(layout.bottom - layout.top);
    std::vector<bool> dotted(columns * plot_rows, false);
    const auto past = std::upper_bound(map.rects.begin(), map.rects.end(), layout.end_ns,
                                       [](uint64_t t, const MapRect& r) { return t < r.from_ns; });
    const size_t count = static_cast<size_t>(past - map.rects.begin());
    const double x_per_ns = static_cast<double>(layout.right - layout.left) /
                            static_cast<double>(layout.end_ns - layout.start_ns);
    const double y_per_byte =
        static_cast<double>(scale.rows) / static_cast<double>(std::max<uint64_t>(1, scale.bytes));
    auto x_of = [&](uint64_t t) {
      return std::round(layout.left +
                        static_cast<float>(static_cast<double>(std::clamp(t, layout.start_ns, layout.end_ns) -
                                                               layout.start_ns) *
                                           x_per_ns));
    };
    auto y_of = [&](uint64_t packed) {
      return std::round(scale.top + static_cast<float>(static_cast<double>(packed) * y_per_byte));
    };
    for (int pass = 0; pass < 2; ++pass) {  // segments under their blocks
      if (pass == 1 && !map.has_blocks) break;  // nothing is drawn in it: skip the walk
      std::fill(dotted.begin(), dotted.end(), false);
      for (size_t run = 0; run * MemoryMap::kRun < count; ++run) {
        if (map.run_end_ns[run] < layout.start_ns) continue;
        if (spans_window(map, run, count, layout)) {
          // Every rectangle of the run spans the window: a bar a row span, once.
          if (pass == 0) {
            const float rows_per_span_row =
                static_cast<float>(plot_rows) / static_cast<float>(MemoryMap::kSpanRows);
            for (const RowSpan& span : map.run_rows[run]) {
              const float y0 =
                  std::round(layout.top + static_cast<float>(span.first_row) * rows_per_span_row);
              const float y1 = std::max(
                  y0 + 1, std::round(layout.top + static_cast<float>(span.last_row + 1) * rows_per_span_row));
              draw.AddRectFilled(at(layout.left, y0), at(layout.right, y1),
                                 colour_of(map.rects[span.rect], by_site, map.has_blocks).packed());
            }
          }
          continue;
        }
        for (size_t i = run * MemoryMap::kRun; i < std::min(count, (run + 1) * MemoryMap::kRun); ++i) {
          const MapRect& r = map.rects[i];
          if (r.to_ns < layout.start_ns || !drawn_in_pass(map, r, pass)) continue;
          // As layout.x_of and scale.y_of, with a product for their quotient: this loop may see millions.
          const float x0 = x_of(r.from_ns), x1 = std::max(x0 + 1, x_of(r.to_ns));
          const float y0 = y_of(r.packed), y1 = std::max(y0 + 1, y_of(r.packed + r.size));
          if (x1 - x0 <= 1 && y1 - y0 <= 1) {
            const auto cx =
                static_cast<size_t>(std::clamp(x0 - layout.left, 0.0f, static_cast<float>(columns - 1)));
            const auto cy =
                static_cast<size_t>(std::clamp(y0 - layout.top, 0.0f, static_cast<float>(plot_rows - 1)));
            if (dotted[cy * columns + cx]) continue;
            dotted[cy * columns + cx] = true;
          }
          draw.AddRectFilled(at(x0, y0), at(x1, y1), colour_of(r, by_site, map.has_blocks).packed());
          if (x1 - x0 >= 4 && y1 - y0 >= 4) draw.AddRect(at(x0, y0), at(x1, y1), kPlotBackground.packed());
        }
      }
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
  // The one drawn last there is on top: the latest block, else the latest segment.
  const MapRect* hit = nullptr;
  for (size_t i : live_allocations_at(
           map, time, [&](const MapRect& r) { return packed >= r.packed && packed < r.packed + r.size; },
           SIZE_MAX)) {
    const MapRect& r = map.rects[i];
    if (!hit || (r.block && !hit->block) || (r.block == hit->block && &r > hit)) hit = &r;
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
