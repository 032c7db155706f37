// The part of the trace the timeline shows and the moment selected: what
// the mouse wheel, dragging and a click change. Plain arithmetic, tested
// without a window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "analyzer/timeline.h"

namespace vramscope::ui {

// A span or an amount worked out in doubles, `value` (0 or more; NaN is
// 0), as a whole number, at most `most`. Times are worked out as such spans
// from a time held exactly: a time of its own in a double is rounded past
// 2^53 ns, and a double of 2^64 or more has no uint64_t.
uint64_t whole_number(double value, uint64_t most);

// What part of the trace the timeline shows, and what is selected.
struct TimelineWindow {
  static constexpr uint64_t kMinSpanNs = 1000;  // zoomed in no further than a microsecond

  uint64_t from_ns = 0;
  uint64_t to_ns = 1;
  std::optional<uint64_t> selected_ns;
  // Dragged with the right button (or shift and the left): [from, to).
  std::optional<std::pair<uint64_t, uint64_t>> range;
  // An allocation chosen in the table, as an index into the memory map's rectangles.
  std::optional<size_t> selected_allocation;

  // [start_ns, end_ns) made one nanosecond wide at least, within uint64_t:
  // the one rule for the extent of a trace, its levels and its memory map.
  static TimelineWindow spanning(uint64_t start_ns, uint64_t end_ns);
  static TimelineWindow whole(const analysis::Timeline& timeline);
  // Zooms by `factor` (under 1: in) keeping the time at `anchor` (0 to 1 across) in place.
  void zoom(double factor, double anchor, const analysis::Timeline& timeline);
  // Moves by `share` of the window's span (positive: later), within the trace.
  void pan(double share, const analysis::Timeline& timeline);
  // Shows `share` of the whole trace around `centre_ns` (within the trace);
  // what is selected stays selected.
  void centre_on(double centre_ns, double share, const analysis::Timeline& timeline);
};

}  // namespace vramscope::ui
