// Zoom and pan within the trace, clamped to it.
#include "ui/timeline_window.h"

#include <algorithm>

namespace vramscope::ui {

TimelineWindow TimelineWindow::whole(const analysis::Timeline& timeline) {
  TimelineWindow w;
  w.from_ns = timeline.start_ns;
  w.to_ns = std::max(timeline.end_ns, timeline.start_ns + 1);
  return w;
}

void TimelineWindow::zoom(double factor, double anchor, const analysis::Timeline& timeline) {
  const TimelineWindow all = whole(timeline);
  const double span = static_cast<double>(to_ns - from_ns);
  const double wanted = std::min(static_cast<double>(all.to_ns - all.from_ns),
                                 std::max(span * factor, static_cast<double>(kMinSpanNs)));
  const double at = static_cast<double>(from_ns) + span * std::clamp(anchor, 0.0, 1.0);
  double from = at - wanted * std::clamp(anchor, 0.0, 1.0);
  from = std::clamp(from, static_cast<double>(all.from_ns), static_cast<double>(all.to_ns) - wanted);
  from_ns = static_cast<uint64_t>(from);
  to_ns = std::min(all.to_ns, from_ns + std::max<uint64_t>(1, static_cast<uint64_t>(wanted)));
}

void TimelineWindow::pan(double share, const analysis::Timeline& timeline) {
  const TimelineWindow all = whole(timeline);
  const uint64_t span = to_ns - from_ns;
  const double from = std::clamp(static_cast<double>(from_ns) + share * static_cast<double>(span),
                                 static_cast<double>(all.from_ns), static_cast<double>(all.to_ns - span));
  from_ns = static_cast<uint64_t>(from);
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
