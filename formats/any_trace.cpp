// Tells a trace's form from its first bytes and reads it.
#include "formats/any_trace.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>

#include "formats/kineto_import.h"
#include "formats/pickle.h"
#include "formats/snapshot_import.h"
#include "formats/trace_layout.h"

namespace vramscope::trace {

namespace fs = std::filesystem;

TraceForm trace_form(const std::string& path) {
  // A pipe cannot be read twice, and telling its form reads it once.
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!error && (fs::is_fifo(status) || fs::is_character_file(status) || fs::is_block_file(status) ||
                 fs::is_socket(status))) {
    throw TraceError("cannot read " + path +
                     ": not a regular file (a pipe or a device); write it to a file first");
  }
  std::array<uint8_t, 8> head{};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const size_t got = static_cast<size_t>(in.gcount());
  if (pickle::looks_like_pickle({head.data(), got})) return TraceForm::PytorchSnapshot;
  if (got >= sizeof layout::kFileMagic &&
      std::equal(head.begin(), head.end(), reinterpret_cast<const uint8_t*>(layout::kFileMagic))) {
    return TraceForm::Vramscope;
  }
  if (sniff_profiler_file(path) != ProfilerFile::Unknown) return TraceForm::ProfilerTrace;
  return TraceForm::Vramscope;  // the reader says what is wrong with anything else
}

TraceContents read_any_trace(const std::string& path) {
  switch (trace_form(path)) {
    case TraceForm::PytorchSnapshot:
      return import_pytorch_snapshot(path);
    case TraceForm::ProfilerTrace:
      return import_profiler_file(path);
    case TraceForm::Vramscope:
      break;
  }
  return read_trace_file(path);
}

}  // namespace vramscope::trace
