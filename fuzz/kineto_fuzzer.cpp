// libFuzzer target: the torch.profiler importers (Chrome traces and raw
// memory timelines, plain JSON or gzip) on any bytes, and the analysis of
// whatever they import. Every input must end in a report or a TraceError:
// never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <span>

#include "analyzer/analysis.h"
#include "formats/kineto_import.h"

namespace {

template <typename Import>
void import_and_analyze(Import import) {
  try {
    vramscope::analysis::analyze_trace(import());
  } catch (const vramscope::trace::TraceError&) {
    // Damaged or foreign input: the error is the answer.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  import_and_analyze([&] { return vramscope::trace::import_kineto_bytes(bytes, "fuzz.json"); });
  import_and_analyze([&] { return vramscope::trace::import_memory_timeline_bytes(bytes, "fuzz.raw.json"); });
  return 0;
}
