// Collapsed stacks: the live allocations' stack ids resolved to frames and
// folded into one line of text each.
#include "analyzer/export_collapsed.h"

#include <cinttypes>
#include <map>
#include <stdexcept>

#include "analyzer/live_stacks.h"
#include "analyzer/stack_resolver.h"
#include "analyzer/symbolizer.h"
#include "analyzer/text_layout.h"

namespace vramscope::analysis {

namespace {

// The profiler's own hooks are in no one's code: they are left out.
bool is_profiler_frame(const StackFrame& frame) {
  return text::basename(frame.module).starts_with("libvramscope_inject.so");
}

std::string frame_text(const StackFrame& frame) {
  std::string result;
  if (frame.function == "??" && !frame.module.empty()) {
    result = text::printf_string("%s+0x%" PRIx64, std::string(text::basename(frame.module)).c_str(),
                                 frame.module_offset);
  } else if (frame.function == "??" && frame.address != 0) {
    result = text::printf_string("0x%" PRIx64, frame.address);
  } else {
    result = text::site_text(frame);
  }
  // ';' separates frames and a line ends the stack: neither may be in one.
  for (char& c : result) {
    if (c == ';') c = ':';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return result;
}

std::string stack_text(const ResolvedStack& stack) {
  std::string result;
  for (auto frame = stack.frames.rbegin(); frame != stack.frames.rend(); ++frame) {
    if (is_profiler_frame(*frame)) continue;
    if (!result.empty()) result += ';';
    result += frame_text(*frame);
  }
  return result.empty() ? frame_text(stack.site) : result;
}

std::string device_list(const std::map<uint32_t, LiveStacks>& devices) {
  std::string list;
  for (const auto& [device, stacks] : devices) list += (list.empty() ? "" : ", ") + std::to_string(device);
  return list;
}

}  // namespace

std::optional<CollapsedWhat> parse_collapsed_what(std::string_view text) {
  if (text == "peak") return CollapsedWhat::Peak;
  if (text == "leaks") return CollapsedWhat::Leaks;
  return std::nullopt;
}

std::string collapsed_text(const trace::TraceContents& trace, const BytesByStack& stacks, size_t* lines) {
  Symbolizer symbolizer(trace.modules);
  StackResolver resolver(trace, symbolizer);
  std::map<std::string, uint64_t> by_text;  // sorted by stack text: the same output every run
  for (const auto& [stack, entry] : stacks) {
    if (entry.bytes == 0) continue;  // a flame graph has no width for it
    by_text[stack_text(resolver.resolve(trace::StackId{stack}))] += entry.bytes;
  }
  std::string text;
  for (const auto& [stack, bytes] : by_text) text += stack + ' ' + std::to_string(bytes) + '\n';
  if (lines != nullptr) *lines = by_text.size();
  return text;
}

CollapsedSummary write_collapsed_stacks(const trace::TraceContents& trace, const CollapsedQuery& query,
                                        std::ostream& out) {
  CollapsedSummary summary;
  BytesByStack stacks;
  if (query.what == CollapsedWhat::Peak) {
    std::map<uint32_t, LiveStacks> peaks = live_at_peaks(trace);
    if (peaks.empty()) throw std::invalid_argument("the trace has no device memory: no peak to export");
    uint32_t device = query.device.value_or(peaks.begin()->first);
    auto found = peaks.find(device);
    if (found == peaks.end()) {
      throw std::invalid_argument("device " + std::to_string(device) +
                                  " never held device memory: devices with a peak: " + device_list(peaks));
    }
    summary.device = device;
    summary.time_ns = found->second.time_ns;
    stacks = std::move(found->second.stacks);
  } else {
    summary.device = query.device;
    for (auto& [device, live] : live_at_exit(trace)) {
      summary.time_ns = live.time_ns;
      if (query.device && device != *query.device) continue;
      for (const auto& [stack, entry] : live.stacks) {
        StackBytes& sum = stacks[stack];
        sum.bytes += entry.bytes;
        sum.count += entry.count;
      }
    }
  }
  for (const auto& [stack, entry] : stacks) {
    summary.bytes += entry.bytes;
    summary.allocations += entry.count;
  }
  out << collapsed_text(trace, stacks, &summary.lines);
  return summary;
}

}  // namespace vramscope::analysis
