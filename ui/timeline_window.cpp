// Zoom and pan within the trace, clamped to it.
#include "ui/timeline_window.h"

#include <algorithm>
#include <cstdint>

namespace vramscope::ui {

uint64_t whole_number(double value, uint64_t most) {
  if (!(value > 0)) return 0;  // NaN too
  return value < static_cast<double>(most) ? std::min(static_cast<uint64_t>(value), most) : most;
}

namespace {

// `time_ns` moved by `by_ns` (either way), within [low, high].
uint64_t moved_within(uint64_t time_ns, double by_ns, uint64_t low, uint64_t high) {
  time_ns = std::clamp(time_ns, low, high);
  return by_ns < 0 ? time_ns - whole_number(-by_ns, time_ns - low)
                   : time_ns + whole_number(by_ns, high - time_ns);
}

}  // namespace

TimelineWindow TimelineWindow::spanning(uint64_t start_ns, uint64_t end_ns) {
  TimelineWindow w;
  w.from_ns = std::min(start_ns, UINT64_MAX - 1);
  w.to_ns = std::max(end_ns, w.from_ns + 1);
  return w;
}

TimelineWindow TimelineWindow::whole(const analysis::Timeline& timeline) {
  return spanning(timeline.start_ns, timeline.end_ns);
}

void TimelineWindow::zoom(double factor, double anchor, const analysis::Timeline& timeline) {
  const TimelineWindow all = whole(timeline);
  const uint64_t whole_span = all.to_ns - all.from_ns;
  const uint64_t span = to_ns - from_ns;
  const uint64_t wanted = std::max(std::min(kMinSpanNs, whole_span),
                                   whole_number(static_cast<double>(span) * factor, whole_span));
  // The time at `anchor` stays there: the start moves by the span's change there.
  anchor = std::clamp(anchor, 0.0, 1.0);
  from_ns = moved_within(from_ns, (static_cast<double>(span) - static_cast<double>(wanted)) * anchor,
                         all.from_ns, all.to_ns - wanted);
  to_ns = from_ns + wanted;
}

void TimelineWindow::pan(double share, const analysis::Timeline& timeline) {
  const TimelineWindow all = whole(timeline);
  const uint64_t span = std::min(to_ns - from_ns, all.to_ns - all.from_ns);
  from_ns = moved_within(from_ns, share * static_cast<double>(span), all.from_ns, all.to_ns - span);
  to_ns = from_ns + span;
}

void TimelineWindow::centre_on(double centre_ns, double share, const analysis::Timeline& timeline) {
  const TimelineWindow all = whole(timeline);
  from_ns = all.from_ns;
  to_ns = all.to_ns;
  zoom(share, 0.0, timeline);
  const double span = static_cast<double>(to_ns - from_ns);
  pan((centre_ns - static_cast<double>(from_ns) - span / 2) / span, timeline);
}

}  // namespace vramscope::ui
