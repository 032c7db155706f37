// Directory expansion and reading of the traces a command is given.
#include "cli/trace_inputs.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "analyzer/analysis.h"
#include "analyzer/text_layout.h"
#include "formats/any_trace.h"
#include "formats/trace_reader.h"

namespace vramscope::cli {

namespace fs = std::filesystem;

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "a.rank2.x" < "a.rank10.x": runs of digits compare by value.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      size_t i_end = i, j_end = j;
      while (i_end < a.size() && is_digit(a[i_end])) ++i_end;
      while (j_end < b.size() && is_digit(b[j_end])) ++j_end;
      std::string_view x(a.data() + i, i_end - i), y(b.data() + j, j_end - j);
      while (x.size() > 1 && x.front() == '0') x.remove_prefix(1);
      while (y.size() > 1 && y.front() == '0') y.remove_prefix(1);
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = i_end;
      j = j_end;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;  // "rank02" and "rank2": any fixed order
}

std::vector<std::string> traces_in(const std::string& directory) {
  std::vector<std::string> traces;
  std::error_code error;
  fs::directory_iterator entries(directory, error);
  if (error) throw UsageError{"cannot read directory " + directory + ": " + error.message(), 1};
  for (const fs::directory_entry& entry : entries) {
    if (entry.path().extension() == ".vstrace" && entry.is_regular_file(error)) {
      traces.push_back(entry.path().string());
    }
  }
  if (traces.empty()) throw UsageError{"no traces (*.vstrace) in " + directory, 1};
  std::sort(traces.begin(), traces.end(), natural_less);
  return traces;
}

}  // namespace

std::vector<std::string> expand_trace_inputs(const Args& inputs) {
  std::vector<std::string> paths;
  for (const std::string& input : inputs) {
    std::error_code error;
    if (fs::is_directory(input, error)) {
      std::vector<std::string> found = traces_in(input);
      paths.insert(paths.end(), found.begin(), found.end());
    } else {
      paths.push_back(input);
    }
  }
  return paths;
}

std::vector<analysis::Report> analyze_traces(const std::vector<std::string>& paths) {
  std::vector<analysis::Report> reports;
  reports.reserve(paths.size());
  // One trace's events at a time: only the reports are kept.
  bool terminal = isatty(STDERR_FILENO) == 1;
  for (const std::string& path : paths) {
    bool shown = false;
    analysis::Progress progress;
    const std::string shown_path = analysis::text::terminal_text(analysis::text::one_line(path));
    if (terminal) {
      progress = [&](double fraction) {
        std::fprintf(stderr, "\rvramscope: analyzing %s: %d%%", shown_path.c_str(),
                     static_cast<int>(fraction * 100));
        shown = true;
      };
    }
    if (trace::trace_form(path) == trace::TraceForm::Vramscope) {
      reports.push_back(analysis::analyze_trace_file(path, progress));
    } else {
      reports.push_back(analysis::analyze_trace(trace::read_any_trace(path), progress));
    }
    if (shown) std::fprintf(stderr, "\r\033[K");  // the line goes when the report comes
  }
  return reports;
}

}  // namespace vramscope::cli
