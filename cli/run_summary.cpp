// What `vramscope run` says at the end: where the traces are, and the peak,
// leaks and failures of the main one in a few lines.
#include "cli/run_summary.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <span>

#include "analyzer/analysis.h"
#include "analyzer/text_layout.h"
#include "cli/output_file.h"
#include "formats/human_size.h"
#include "formats/trace_reader.h"

namespace vramscope::cli {

namespace fs = std::filesystem;

namespace {

// The main trace's file name without ".vstrace": its children's names start with it.
std::string trace_stem(const std::string& main_trace) {
  std::string stem = fs::path(main_trace).filename().string();
  const std::string suffix = ".vstrace";
  if (stem.size() > suffix.size() && stem.ends_with(suffix)) stem.resize(stem.size() - suffix.size());
  return stem;
}

// Whether a trace of the run records GPU memory: an allocation or a failed
// one. A shell of an exec chain (pyenv's shims run `bash` twice before
// python) records its forks and nothing else, and the summary does not list
// it. A trace on more than 4 MiB of disk is taken to, unread: reading every
// rank's trace again would double the summary's time.
bool records_gpu_memory(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return true;  // listed: its report will say what is wrong
  if (static_cast<uint64_t>(st.st_blocks) * 512 > (uint64_t{4} << 20)) return true;
  try {
    const trace::TraceContents contents = trace::read_trace_file(path);
    trace::EventCursor walk = contents.events.cursor(trace::FreeFields::AsRecorded);
    for (std::span<const trace::Event> batch = walk.next(); !batch.empty(); batch = walk.next()) {
      for (const trace::Event& e : batch) {
        if (e.type == trace::EventType::Alloc || e.type == trace::EventType::FailedAlloc) return true;
      }
    }
    return false;
  } catch (const trace::TraceError&) {
    return true;
  }
}

}  // namespace

std::vector<std::string> traces_of_run(const std::string& main_trace) {
  std::vector<std::string> traces;
  std::error_code error;
  if (fs::exists(main_trace, error)) traces.push_back(main_trace);
  fs::path main(main_trace);
  const std::string stem = trace_stem(main_trace);
  const std::string suffix = ".vstrace";
  std::vector<std::string> others;
  for (const auto& entry : fs::directory_iterator(main.parent_path(), error)) {
    std::string name = entry.path().filename().string();
    if (name.size() > stem.size() + 1 && name.starts_with(stem + ".") && name.ends_with(suffix) &&
        entry.path() != main) {
      others.push_back(entry.path().string());
    }
  }
  std::sort(others.begin(), others.end());
  traces.insert(traces.end(), others.begin(), others.end());
  return traces;
}

namespace {

// The summary's text; names from the trace each on one line (text::one_line).
std::string run_summary_text(const std::string& main_trace) {
  using analysis::text::one_line;
  using analysis::text::printf_string;
  std::string text;
  std::vector<std::string> traces = traces_of_run(main_trace);
  if (traces.empty() || traces.front() != main_trace) {
    text +=
        "vramscope: the job wrote no trace (a statically linked program cannot be preloaded; "
        "LD_PRELOAD may have been cleared)\n";
  } else {
    try {
      trace::TraceContents contents = trace::read_trace_file(main_trace);
      analysis::Report report = analysis::analyze_trace(contents);
      text += "vramscope: trace written to " + one_line(main_trace) +
              printf_string(" (%llu events, %s)\n", static_cast<unsigned long long>(report.counts.events),
                            format_size(contents.file_bytes).c_str());
      if (report.trace.cut_short) text += "  cut short: " + one_line(report.trace.cut_short_reason) + "\n";
      for (const auto& device : report.devices) {
        // Names by concatenation, not %s: a name may hold a NUL byte, which the escaping shows.
        text += printf_string("  device %u, ", device.ordinal) + one_line(device.name) +
                printf_string(": peak %s at %s", format_size(device.peak.bytes).c_str(),
                              analysis::text::elapsed(device.peak.time_ns).c_str());
        if (!device.peak.sites.empty()) {
          text += ", largest at peak: " + analysis::text::site_text(device.peak.sites.front().site) + ", " +
                  format_size(device.peak.sites.front().bytes);
        }
        text += '\n';
      }
      if (report.leaks.count > 0) {
        text += printf_string(
            "  live at exit: %s in %llu allocation%s", format_size(report.leaks.bytes).c_str(),
            static_cast<unsigned long long>(report.leaks.count), report.leaks.count == 1 ? "" : "s");
        if (!report.leaks.groups.empty()) {
          text += ", most from " + analysis::text::site_text(report.leaks.groups.front().site);
        }
        text += '\n';
      } else {
        text += "  live at exit: nothing\n";
      }
      // The first request that failed; an allocator's tries at the driver are part of its notice.
      const auto first_at = std::find_if(report.failed_allocations.begin(), report.failed_allocations.end(),
                                         [](const analysis::FailedAllocation& f) { return !f.attempt_of; });
      if (first_at != report.failed_allocations.end()) {
        const auto& first = *first_at;
        text += printf_string("  failed allocations: %zu; first: %s (%s) with %s free of %s\n",
                              analysis::failed_request_count(report.failed_allocations),
                              format_size(first.requested_bytes).c_str(), first.error_name.c_str(),
                              format_size(first.free_bytes).c_str(), format_size(first.total_bytes).c_str());
      }
    } catch (const trace::TraceError& e) {
      text += std::string("vramscope: ") + e.what() + "\n";
    }
  }
  size_t others = traces.size() - (!traces.empty() && traces.front() == main_trace ? 1 : 0);
  std::vector<std::string> listed;
  for (size_t i = traces.size() - others; i < traces.size(); ++i) {
    if (records_gpu_memory(traces[i])) listed.push_back(traces[i]);
  }
  if (!listed.empty()) {
    text += printf_string("  %zu more trace%s from processes the job started:\n", listed.size(),
                          listed.size() == 1 ? "" : "s");
    for (const std::string& path : listed) text += "    " + one_line(path) + "\n";
  }
  if (listed.size() < others) {
    const size_t quiet = others - listed.size();
    if (quiet == 1) {
      text += "  1 more trace, of a process that recorded no GPU memory (a shell, a launcher), not listed\n";
    } else {
      text += printf_string(
          "  %zu more traces, of processes that recorded no GPU memory (shells, launchers), not listed\n",
          quiet);
    }
  }
  if (traces.size() == 1 || (listed.empty() && traces.front() == main_trace)) {
    text += "  full report: vramscope report " + one_line(traces.front()) + "\n";
  } else if (traces.size() > 1) {
    // The per-rank report over every trace of the run: the main one and a shell pattern for the others.
    std::string others_pattern =
        (fs::path(main_trace).parent_path() / (trace_stem(main_trace) + ".*.vstrace")).string();
    std::string main_part = traces.front() == main_trace ? main_trace + " " : "";
    text += printf_string("  report of all %zu: vramscope report ", traces.size()) + one_line(main_part) +
            one_line(others_pattern) + "\n";
  }
  return text;
}

}  // namespace

void print_run_summary(const std::string& main_trace, FILE* out) {
  // One pass over the whole text: a trace names devices and functions with any bytes.
  print_text(run_summary_text(main_trace), out);
}

}  // namespace vramscope::cli
