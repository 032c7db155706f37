// Report → terminal text: header and warnings, then peak per device, live at
// exit, failed allocations, iterations, categories and growth leaks, advice, totals
// by kind, threads, API calls and forks.
#include "analyzer/report_text.h"

#include <algorithm>
#include <cinttypes>
#include <map>

#include "analyzer/text_layout.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

namespace {

using text::printf_string;

constexpr size_t kWidth = 100;
constexpr size_t kStackLines = 6;  // frames shown under a leak or failure

std::string size(uint64_t bytes) { return format_size(bytes); }

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string device_label(const DeviceReport& d) {
  std::string label = printf_string("device %u", d.ordinal);
  if (!d.name.empty()) label += ": " + text::one_line(d.name);
  // simcuda already names itself "... (simulated)": say it once.
  if (d.simulated && d.name.find("simulated") == std::string::npos) label += " (simulated)";
  return label;
}

std::string end_text(const trace::End& end) {
  switch (end.reason) {
    case trace::EndReason::Exit:
      return printf_string("exit status %d", end.code);
    case trace::EndReason::Signal:
      return printf_string("killed by signal %d", end.code);
    case trace::EndReason::Abort:
      return "abort";
    case trace::EndReason::Exec:
      return "exec into another program";
  }
  return "unknown";
}

void header(std::string& out, const Report& r) {
  const TraceFacts& t = r.trace;
  out += "vramscope report: " + text::one_line(t.path) + "\n";
  std::string program;
  for (const std::string& arg : t.command_line) program += (program.empty() ? "" : " ") + arg;
  out += "  program   " + text::fit(program.empty() ? "(unknown)" : program, kWidth - 12) + "\n";
  out += printf_string("  process   pid %u, parent %u, host ", t.pid, t.parent_pid) +
         (t.host.empty() ? "(unknown)" : text::one_line(t.host));
  out += t.rank >= 0 ? printf_string(", rank %d\n", t.rank) : "\n";
  for (const DeviceReport& d : r.devices) {
    out += "  " + text::fit(device_label(d), 60);
    out += d.total_bytes ? ", " + size(d.total_bytes) + "\n" : "\n";
  }
  out += "  duration  " + text::elapsed(t.duration_ns);
  out += t.end ? ", ended by " + end_text(*t.end) + "\n" : ", no end recorded\n";
  out += printf_string("  events    %" PRIu64 " (%s of records, %.1f bytes per event)\n", t.event_count,
                       size(t.record_bytes).c_str(), t.bytes_per_event);
  if (t.event_count == 0) {
    out +=
        "No GPU memory events were recorded: the job made no CUDA allocation, or ran without the injector.\n";
  }
  for (const DeviceReport& d : r.devices) {
    if (d.simulated) out += "WARNING: " + device_label(d) + ": these figures come from a simulated GPU\n";
  }
  if (t.cut_short) {
    std::string reason = t.cut_short_reason.empty() ? "no end record" : t.cut_short_reason;
    out += "WARNING: trace cut short: " + text::fit(reason, kWidth - 26) + "\n";
    out += "         this report covers the events before the cut; live at exit means live then\n";
  }
  const EventCounts& c = r.counts;
  if (c.unmatched_frees) {
    out += "note: " + plural(c.unmatched_frees, "free", "frees") + " of unknown addresses ignored\n";
  }
  if (c.missing_frees) {
    out += "note: " + plural(c.missing_frees, "allocation", "allocations") +
           " at a still-live address: the earlier allocation was taken as freed\n";
  }
}

void stack_lines(std::string& out, const Stack& stack, const Site& site, const char* indent) {
  auto is_site = [&](const StackFrame& f) {
    return f.address == site.address && f.function == site.function && f.file == site.file &&
           f.line == site.line && f.module == site.module;
  };
  size_t start = 0;  // show from the site outward: frames inside it are the runtime's
  while (start < stack.size() && !is_site(stack[start])) ++start;
  if (start == stack.size()) start = 0;
  size_t shown = 0;
  for (size_t i = start; i < stack.size() && shown < kStackLines; ++i, ++shown) {
    out += indent + text::frame_label(stack[i], kWidth - 12) + "\n";
  }
  if (start + shown < stack.size()) {
    out += indent + printf_string("... %zu more frames", stack.size() - start - shown) + "\n";
  }
}

// Fragmentation and OOM verdicts.
// `text` in lines of at most kWidth columns, broken between words.
void wrapped(std::string& out, const std::string& paragraph, const char* indent) {
  const std::string words = text::one_line(paragraph);  // its names may hold newlines
  std::string line = indent;
  size_t start = line.size();
  for (size_t at = 0; at < words.size();) {
    size_t space = words.find(' ', at);
    std::string word = words.substr(at, space == std::string::npos ? std::string::npos : space - at);
    at = space == std::string::npos ? words.size() : space + 1;
    if (line.size() > start && line.size() + 1 + word.size() > kWidth) {
      out += line + "\n";
      line = indent;
    }
    line += (line.size() > start ? " " : "") + word;
  }
  out += line + "\n";
}

void fragmentation_line(std::string& out, const DeviceReport& d) {
  const DeviceFragmentation& f = d.fragmentation;
  if (!f.has_block_data || !f.at_peak) return;
  out += printf_string("  fragmentation at the peak %.2f: %s free in segments, largest hole %s",
                       f.at_peak->metric, size(f.at_peak->total_free_bytes).c_str(),
                       size(f.at_peak->largest_free_bytes).c_str());
  if (f.worst) out += printf_string("; worst %.2f at %s", f.worst->metric, text::elapsed(f.worst->time_ns).c_str());
  if (f.at_end) {
    out +=
        printf_string("; at the end %.2f, %s free, largest hole %s", f.at_end->metric,
                      size(f.at_end->total_free_bytes).c_str(), size(f.at_end->largest_free_bytes).c_str());
  }
  out += "\n";
}

void peaks(std::string& out, const Report& r, size_t top) {
  for (const DeviceReport& d : r.devices) {
    out += "\n" + text::fit(device_label(d), 60) + ": peak " + size(d.peak.bytes);
    if (d.peak.bytes == 0) {
      out += "\n";
      continue;
    }
    out += " at " + text::elapsed(d.peak.time_ns) + ", " +
           plural(d.peak.live_allocations, "live allocation", "live allocations") + "\n";
    out += printf_string("  %12s %7s  %s\n", "bytes", "count", "site");
    uint64_t rest_bytes = 0;
    for (size_t i = 0; i < d.peak.sites.size(); ++i) {
      const SiteBytes& s = d.peak.sites[i];
      if (i >= top) {
        rest_bytes += s.bytes;
        continue;
      }
      out += printf_string("  %12s %7" PRIu64 "  %s\n", size(s.bytes).c_str(), s.count,
                           text::frame_label(s.site, kWidth - 24).c_str());
    }
    if (d.peak.sites.size() > top) {
      out += "  (" + plural(d.peak.sites.size() - top, "more site", "more sites") + ": " + size(rest_bytes) +
             ")\n";
    }
    fragmentation_line(out, d);
  }
}

void leaks(std::string& out, const Report& r, size_t top) {
  const Leaks& l = r.leaks;
  const bool any_cached =
      std::any_of(l.groups.begin(), l.groups.end(), [](const LeakGroup& g) { return g.cached; });
  out +=
      "\nLive at exit: " + size(l.bytes) + " in " + plural(l.count, "allocation", "allocations") +
      (any_cached
           ? " (tensor blocks, device memory outside an allocator's cache, managed and pinned host memory)\n"
           : " (device, managed and pinned host memory)\n");
  if (l.groups.empty()) out += "  nothing\n";
  for (size_t i = 0; i < l.groups.size() && i < top; ++i) {
    const LeakGroup& g = l.groups[i];
    bool host = g.kind == trace::MemoryKind::PinnedHost || g.kind == trace::MemoryKind::HostRegistered;
    std::string kind(trace::to_string(g.kind));
    if (g.cached) kind += ", the allocator's cache: not counted";
    out += printf_string("  %s in %s (%s)", size(g.bytes).c_str(),
                         plural(g.count, "allocation", "allocations").c_str(), kind.c_str());
    out += host ? "\n" : printf_string(" on device %u\n", g.device);
    if (g.stack.empty()) out += "      " + text::one_line(g.site.function) + "\n";
    stack_lines(out, g.stack, g.site, "      ");
  }
  if (l.groups.size() > top) {
    out += "  (" + plural(l.groups.size() - top, "more group", "more groups") + ")\n";
  }
}

// Iterations, memory by category, growth leaks: only when there is something to say.
void iterations_and_categories(std::string& out, const Report& r, size_t top) {
  const Iterations& it = r.iterations;
  if (!it.list.empty()) {
    uint64_t total_ns = 0;
    for (const IterationTimes& t : it.list) total_ns += t.end_ns - t.start_ns;
    out += "\nIterations: " + std::to_string(it.list.size()) + ", found by " + it.method + " (mean " +
           text::elapsed(total_ns / it.list.size()) + ")\n";
  }
  bool any_category = false;
  for (const CategoryTotals& c : r.categories.totals) any_category |= c.allocations > 0 && c.category != "unknown";
  if (any_category) {
    out += "\nMemory by category (" + r.categories.source + ")\n";
    out += printf_string("  %-16s %11s %7s  %-10s  %s\n", "category", "peak", "allocs", "confidence", "why");
    for (const CategoryTotals& c : r.categories.totals) {
      if (c.allocations == 0) continue;
      out += printf_string("  %-16s %11s %7" PRIu64 "  %-10s  %s\n", text::one_line(c.category).c_str(),
                           size(c.peak_bytes).c_str(), c.allocations, c.confidence.c_str(),
                           text::fit(c.reason, kWidth - 52).c_str());
    }
    for (const DeviceReport& d : r.devices) {
      if (d.peak.categories.empty()) continue;
      std::string line = printf_string("  at device %u's peak:", d.ordinal);
      for (size_t i = 0; i < d.peak.categories.size(); ++i) {
        line += (i ? ", " : " ") + d.peak.categories[i].category + " " + size(d.peak.categories[i].bytes);
      }
      out += text::fit(line, kWidth) + "\n";
    }
  }
  if (r.growth_leaks.empty()) return;
  out += "\nGrowth leaks: " + std::to_string(r.growth_leaks.size()) + " (live bytes climb every iteration)\n";
  for (size_t i = 0; i < r.growth_leaks.size() && i < top; ++i) {
    const GrowthLeak& g = r.growth_leaks[i];
    out += printf_string("  %s per iteration over %" PRIu64 " iterations, %s live at the last (%s) on device %u\n",
                         size(g.bytes_per_iteration).c_str(), g.iterations,
                         size(g.live_bytes_at_last_iteration).c_str(), std::string(trace::to_string(g.kind)).c_str(),
                         g.device);
    if (g.stack.empty()) out += "      " + text::one_line(g.site.function) + "\n";
    stack_lines(out, g.stack, g.site, "      ");
  }
  if (r.growth_leaks.size() > top) {
    out += "  (" + plural(r.growth_leaks.size() - top, "more growth leak", "more growth leaks") + ")\n";
  }
}

// Remedies with their savings, largest first.
void advice(std::string& out, const Report& r, size_t top) {
  if (r.advice.empty()) return;
  out += "\nAdvice (saving per GPU at the peak)\n";
  for (size_t i = 0; i < r.advice.size() && i < top; ++i) {
    const Advice& a = r.advice[i];
    out += printf_string("  %11s  ", size(a.saving_bytes).c_str()) + text::one_line(a.title) + "\n";
    wrapped(out, a.detail, "               ");
  }
  if (r.advice.size() > top) out += "  (" + plural(r.advice.size() - top, "more remedy", "more remedies") + ")\n";
}

// An allocator's tries at the driver are listed under its own notice of the
// request, not as failures of their own.
void failures(std::string& out, const Report& r, size_t top) {
  if (r.failed_allocations.empty()) return;
  const size_t requests = failed_request_count(r.failed_allocations);
  const size_t tries = r.failed_allocations.size() - requests;
  out += "\nFailed allocations: " + std::to_string(requests);
  if (tries > 0)
    out += " (with " + plural(tries, "failed try", "failed tries") + " of the allocator at the driver)";
  out += "\n";
  std::map<size_t, std::vector<const FailedAllocation*>> tries_of;  // by the notice's index
  for (const FailedAllocation& f : r.failed_allocations) {
    if (f.attempt_of) tries_of[*f.attempt_of].push_back(&f);
  }
  size_t shown = 0;
  for (size_t i = 0; i < r.failed_allocations.size() && shown < top; ++i) {
    const FailedAllocation& f = r.failed_allocations[i];
    if (f.attempt_of) continue;
    ++shown;
    std::string api(trace::to_string(f.api));
    if (f.via != trace::Api::None) api += " via " + std::string(trace::to_string(f.via));
    out +=
        printf_string("  %s  device %u  %s: %s requested, %s (%d)\n", text::elapsed(f.time_ns).c_str(),
                      f.device, api.c_str(), size(f.requested_bytes).c_str(), f.error_name.c_str(), f.error);
    out += printf_string("      free %s of %s; this process held %s on the device\n",
                         size(f.free_bytes).c_str(), size(f.total_bytes).c_str(), size(f.live_bytes).c_str());
    if (const auto tries = tries_of.find(i); tries != tries_of.end()) {
      std::string attempts = "its tries at the driver failed first:";
      for (const FailedAllocation* a : tries->second) {
        attempts += printf_string(" %s %s at %s,", std::string(trace::to_string(a->api)).c_str(),
                                  size(a->requested_bytes).c_str(), text::elapsed(a->time_ns).c_str());
      }
      attempts.back() = '.';
      wrapped(out, attempts, "      ");
    }
    wrapped(out, "verdict: " + std::string(to_string(f.diagnosis.verdict)) + ". " + f.diagnosis.explanation,
            "      ");
    if (f.stack.empty()) out += "      " + text::one_line(f.site.function) + "\n";
    stack_lines(out, f.stack, f.site, "      ");
  }
  if (requests > shown) out += "  (" + plural(requests - shown, "more failure", "more failures") + ")\n";
}

void kinds(std::string& out, const Report& r) {
  if (r.kinds.empty()) return;
  out += "\nTotals by kind\n";
  out += printf_string("  %-26s %8s %8s %11s %11s  %s\n", "kind", "allocs", "frees", "allocated", "peak",
                       "live at exit");
  for (const KindTotals& k : r.kinds) {
    std::string live = size(k.live_at_exit_bytes) + " (" + std::to_string(k.live_at_exit_count) + ")";
    out += printf_string("  %-26s %8" PRIu64 " %8" PRIu64 " %11s %11s  %s\n",
                         std::string(trace::to_string(k.kind)).c_str(), k.allocations, k.frees,
                         size(k.allocated_bytes).c_str(), size(k.peak_bytes).c_str(), live.c_str());
  }
}

void threads(std::string& out, const Report& r) {
  if (r.threads.size() <= 1) return;
  out += "\nThreads\n";
  out += printf_string("  %6s %10s  %-24s %9s %9s %12s %7s\n", "thread", "tid", "name", "allocs", "frees",
                       "allocated", "failed");
  for (const ThreadTotals& t : r.threads) {
    out += printf_string("  %6u %10" PRIu64 "  %-24s %9" PRIu64 " %9" PRIu64 " %12s %7" PRIu64 "\n", t.index,
                         t.os_tid, text::fit(t.name, 24).c_str(), t.allocations, t.frees,
                         size(t.allocated_bytes).c_str(), t.failed_allocations);
  }
}

void apis_and_forks(std::string& out, const Report& r) {
  if (!r.apis.empty()) {
    out += "\nAPI calls\n";
    for (const ApiCount& a : r.apis) {
      std::string api(trace::to_string(a.api));
      if (a.via != trace::Api::None) api += " via " + std::string(trace::to_string(a.via));
      out += printf_string("  %-60s %10" PRIu64 "\n", api.c_str(), a.count);
    }
  }
  if (!r.forks.empty()) {
    out += "\nForks: " + std::to_string(r.forks.size()) + "\n";
    for (const ForkEvent& f : r.forks) {
      out += printf_string("  %s  child pid %u\n", text::elapsed(f.time_ns).c_str(), f.child_pid);
    }
  }
}

}  // namespace

std::string report_to_text(const Report& report, const TextOptions& options) {
  std::string out;
  header(out, report);
  peaks(out, report, options.top);
  leaks(out, report, options.top);
  failures(out, report, options.top);
  iterations_and_categories(out, report, options.top);
  advice(out, report, options.top);
  kinds(out, report);
  threads(out, report);
  apis_and_forks(out, report);
  return out;
}

}  // namespace vramscope::analysis
