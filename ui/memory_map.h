// The memory map's data: every allocation of the timeline's device as a
// rectangle of address × time, and the addresses in use packed together (the
// gaps between the address ranges ever used left out), as PyTorch's segment
// timeline draws them. Collected by one walk, the first time the view opens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "analyzer/categories.h"
#include "analyzer/stack_resolver.h"
#include "formats/trace_reader.h"

namespace vramscope::ui {

// An allocation's category when the analyzer gave it none (a segment around blocks).
inline constexpr uint8_t kNoCategory = analysis::kCategoryCount;

struct MapRect {
  uint64_t from_ns = 0, to_ns = 0;  // to_ns: the free, or the trace's end
  uint64_t address = 0, size = 0;
  uint64_t packed = 0;  // the address once the gaps are left out (MemoryMap::bands)
  uint64_t stream = 0;
  uint32_t site = 0;  // an index into MemoryMap::sites, by first appearance
  trace::StackId stack;
  uint32_t thread = 0;
  uint8_t category = kNoCategory;  // an analysis::Category
  bool block = false;  // a tensor block inside a segment, else a segment
  bool freed = false;  // else live at the end
};

// The categories of the trace's tensors (the timeline's, by category), each
// by the event that made it, in that order; the first MemoryMap::kMaxRects.
struct TensorCategories {
  std::vector<uint64_t> events;
  std::vector<uint8_t> categories;
  void add(std::span<const analysis::CategorizedTensor> tensors);
};

struct AddressBand {
  uint64_t address = 0, size = 0;
  uint64_t packed = 0;  // where the band starts once the gaps are left out
};

// Rows [first_row, last_row] of a run of rectangles (of MemoryMap::kSpanRows
// across the packed addresses) where `rect` is the one drawn on top.
struct RowSpan {
  uint16_t first_row = 0, last_row = 0;
  uint32_t rect = 0;
};

struct MemoryMap {
  std::vector<MapRect> rects;      // in allocation order: by from_ns, then the trace's order
  std::vector<AddressBand> bands;  // by address, disjoint
  uint64_t packed_bytes = 0;       // all bands together
  std::vector<std::string> sites;  // names, in order of first appearance
  size_t left_out = 0;             // allocations past kMaxRects, not drawn
  bool has_blocks = false;         // some rectangles are tensor blocks inside segments
  // The latest end (to_ns) of each run of kRun rectangles, UINT64_MAX where
  // one was never freed: a frame skips the runs that ended before its window
  // (most of a long training job's), as the list of what is live at a moment
  // does. A never-freed one is live at any moment after it was made, even
  // past the map's end (a damaged trace can have events after its end).
  std::vector<uint64_t> run_end_ns;
  // And the earliest end and latest start of each run: a run whose
  // rectangles all span a window is drawn from its rows (run_rows), a bar
  // per rectangle on top, however many it has (a job's long-lived memory).
  std::vector<uint64_t> run_first_end_ns;
  std::vector<uint64_t> run_last_start_ns;
  std::vector<std::vector<RowSpan>> run_rows;
  // When each tensor still live at the end was made, in time order: the
  // timeline's leak marks.
  std::vector<uint64_t> live_at_end_ns;

  static constexpr size_t kMaxRects = size_t{4} << 20;
  static constexpr size_t kRun = 1024;
  static constexpr size_t kSpanRows = 1024;  // rows of the packed addresses in run_rows
};

// The two passes that draw a map, segments first and their blocks over them
// (a map without blocks is drawn in the first): whether `r` is drawn in `pass`.
inline bool drawn_in_pass(const MemoryMap& map, const MapRect& r, int pass) {
  return map.has_blocks ? r.block == (pass == 1) : pass == 0;
}

// Whether `r` is live at `time_ns`: made by then and not yet freed. One made
// and freed at the same moment is live at that moment, so that it can be
// seen and chosen (at the last nanosecond of uint64_t too, where a moment
// after it has no number). The map's lists, its tooltip and the table all ask this.
inline bool live_at(const MapRect& r, uint64_t time_ns) {
  return r.from_ns <= time_ns && (!r.freed || time_ns < r.to_ns || time_ns == r.from_ns);
}

// Fills the runs' facts (run_end_ns, run_first_end_ns, run_last_start_ns,
// run_rows) from map.rects and map.packed_bytes (collect_memory_map does).
void index_runs(MemoryMap& map);

// The allocations live at `time_ns` that `keep` accepts, largest first (ties
// in allocation order), at most `most`: indices into map.rects.
std::vector<size_t> live_allocations_at(const MemoryMap& map, uint64_t time_ns,
                                        const std::function<bool(const MapRect&)>& keep, size_t most);

// The map at a fixed resolution, for a window so wide that rectangles are
// narrower than a pixel: cells of time × packed address, each the colour of
// the last rectangle drawn over it (segments first, blocks over them), 0
// where none. Built once per colouring; the view draws it as one texture.
struct MapRaster {
  size_t columns = 0, rows = 0;
  uint64_t start_ns = 0, end_ns = 1;
  std::vector<uint32_t> cells;  // [row * columns + column], colours packed as Dear ImGui's
};

MapRaster rasterize(const MemoryMap& map, uint64_t start_ns, uint64_t end_ns, size_t columns, size_t rows,
                    const std::function<uint32_t(const MapRect&)>& colour);

MemoryMap collect_memory_map(const trace::TraceContents& trace, uint32_t device, uint64_t end_ns,
                             analysis::StackResolver& stacks, const TensorCategories& categories);

}  // namespace vramscope::ui
