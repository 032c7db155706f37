// Collapsed stacks, the folded format of Brendan Gregg's flamegraph.pl (also
// read by speedscope and inferno): one line per distinct call stack,
// "outermost;...;innermost BYTES", of the memory live at a device's peak or
// live at the trace's end.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "analyzer/peak_tracker.h"
#include "formats/trace_reader.h"

namespace vramscope::analysis {

enum class CollapsedWhat { Peak, Leaks };
// "peak" or "leaks"; nullopt for anything else.
std::optional<CollapsedWhat> parse_collapsed_what(std::string_view text);

struct CollapsedQuery {
  CollapsedWhat what = CollapsedWhat::Peak;
  // Peak: default the lowest device that had a peak. Leaks: default every device.
  std::optional<uint32_t> device;
};

struct CollapsedSummary {
  std::optional<uint32_t> device;  // whose stacks; none for the leaks of every device
  uint64_t time_ns = 0;            // the peak's, or the trace's end
  uint64_t bytes = 0;              // all lines together
  uint64_t allocations = 0;
  size_t lines = 0;
};

// The folded text of `stacks`: frames as "function (file:line)", "function",
// or "module+0xOFFSET" for a native frame without a name, with ';' in a name
// made ':'; lines sorted by stack text, stacks of the same text added up.
std::string collapsed_text(const trace::TraceContents& trace, const BytesByStack& stacks,
                           size_t* lines = nullptr);

// Writes the collapsed stacks the query asks for. Throws std::invalid_argument
// with a message for the user when there is nothing to answer with: no
// device memory at all, or none on the device asked for.
CollapsedSummary write_collapsed_stacks(const trace::TraceContents& trace, const CollapsedQuery& query,
                                        std::ostream& out);

}  // namespace vramscope::analysis
