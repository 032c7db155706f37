// Builds the TraceContents of an imported file from events made in any
// order: each goes in with its time and a tie-break, and they are sorted once
// at the end, as the analyzer wants them. Internal to formats/.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "formats/trace_reader.h"

namespace vramscope::trace {

// Of events at the same time, which come first.
enum class TieRank : uint8_t {
  AtStart,     // what was there before the trace began
  RangeEnd,    // before the ranges that begin then: a step ends before the next starts
  RangeStart,  // before the memory events: an allocation at a step's start is in it
  Memory,
};

class ImportedTrace {
 public:
  explicit ImportedTrace(const std::string& source);

  StringId string(const std::string& text);  // each text once
  // A stack of one non-native frame, each (function, file) once.
  StackId frame_stack(const std::string& function, const std::string& file);

  // `first` and `second` order events of one time and rank (lowest first);
  // events tied on all keep the order they were added in.
  void add(const Event& event, TieRank rank, int64_t first = 0, int64_t second = 0);

  // The trace, its events in order; `trace` holds what the importer set.
  TraceContents finish();

  TraceContents trace;

 private:
  struct Pending {
    std::tuple<uint64_t, TieRank, int64_t, int64_t, size_t> key;
    Event event;
  };
  std::vector<Pending> pending_;
  std::unordered_map<std::string, StringId> strings_;
  std::unordered_map<std::string, StackId> stacks_;
};

}  // namespace vramscope::trace
