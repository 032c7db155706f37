// libFuzzer target: the vramscope trace reader on any bytes, and the analysis
// of whatever it reads. Every input must end in a report or a TraceError:
// never a crash, a hang, a sanitizer report or an allocation out of
// proportion to the input (run with -malloc_limit_mb, see scripts/fuzz.sh).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "formats/trace_reader.h"
#include "fuzz/memfd_file.h"
#include "fuzz/trace_checksums.h"

namespace {

using namespace vramscope;
using fuzz::with_checksums_fixed;

// Read checked, in memory, and analyzed.
void read_and_analyze(std::span<const uint8_t> bytes) {
  try {
    analysis::analyze_trace(trace::read_trace_bytes(bytes, "fuzz.vstrace"));
  } catch (const trace::TraceError&) {
    // Damaged or foreign input: the error is the answer.
  }
}

// As the command line reads a trace: from a file, mapped, its records
// checked by the analysis's walk (and read again, checked, when in doubt).
void analyze_as_file(std::span<const uint8_t> bytes) {
  try {
    analysis::analyze_trace_file(fuzz::as_file(bytes));
  } catch (const trace::TraceError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  read_and_analyze(bytes);
  const std::vector<uint8_t> fixed = with_checksums_fixed(bytes);
  if (!std::equal(fixed.begin(), fixed.end(), bytes.begin(), bytes.end())) read_and_analyze(fixed);
  analyze_as_file(fixed);
  return 0;
}
