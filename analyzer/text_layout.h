// Small helpers to lay out text reports: printf into strings, elapsed times, names
// cut to a column width, sites on one line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "analyzer/report.h"

namespace vramscope::analysis::text {

std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));

// "3.215 s", or "12.500 ms" / "2.000 us" under a second
std::string elapsed(uint64_t ns);

// "1,234,567".
std::string thousands(uint64_t n);

// A name on one line: a newline or tab in it (which terminal_text lets
// through, as the report's own lines hold them) becomes "\x0a" or "\x09",
// so that no name can start a line that reads like the report's own. fit,
// frame_label, short_function and site_text apply it; basename does not
// (a view of its argument): its callers do.
std::string one_line(std::string_view name);

// `text` on one line, cut to `width` characters, ending in "..." when cut.
std::string fit(std::string_view text, size_t width);

// The last path component: tables show file names, the JSON full paths.
std::string_view basename(std::string_view path);

// "train_step(int)  train.cpp:42", or "?? libfoo.so+0x1a2b" when unnamed,
// within `width` characters.
std::string frame_label(const StackFrame& frame, size_t width);

// A function name for a terminal, on one line: no parameter list, no "(anonymous
// namespace)::". "(anonymous namespace)::grow(std::vector<int> const&)" → "grow".
std::string short_function(std::string_view name);

// A site on one line for a summary: "grow (oom.cpp:25)", or "grow" without a file.
std::string site_text(const Site& site);

// Which process of a job a trace is: "rank 2", or "pid 4242" without a rank.
std::string trace_label(const TraceFacts& trace);

// Text for a terminal. A trace names things (the program, its devices,
// functions, files, NVTX ranges) with whatever bytes its writer gave: here
// the characters a terminal would act on rather than show (the controls
// but newline and tab, ESC among them; DEL; the C1 controls; the marks that
// reorder text right to left) and bytes that are not UTF-8 become "\x1b"
// and the like. Everything else, UTF-8 names included, is kept.
std::string terminal_text(std::string_view text);

}  // namespace vramscope::analysis::text
