// Names native return addresses after the run: function, source file and line,
// from the modules the trace lists, with elfutils.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "analyzer/report.h"
#include "formats/trace_events.h"

namespace vramscope::analysis {

class Symbolizer {
 public:
  explicit Symbolizer(std::vector<trace::Module> modules);
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // `ip` is a return address, so the call instruction is looked up at ip - 1.
  // The frames there, innermost first: the functions inlined at that
  // instruction (each with the line where it stands, its caller's frame with
  // the line of the call), then the function that holds it. Never fails: an
  // address that cannot be named (module gone or rebuilt, no symbols, outside
  // every module) comes back as one frame with function "??" and its module
  // and offset when those are known. Results are cached per ip.
  const Stack& symbolize(uint64_t ip);

 private:
  struct Elfutils;
  Stack look_up(uint64_t ip);
  const trace::Module* module_containing(uint64_t address) const;

  std::vector<trace::Module> modules_;  // sorted by start
  std::unique_ptr<Elfutils> elfutils_;  // opened on first use: modules are read only when needed
  std::unordered_map<uint64_t, Stack> cache_;
};

}  // namespace vramscope::analysis
