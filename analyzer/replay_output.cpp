#include "analyzer/replay_output.h"

#include <charconv>
#include <cinttypes>
#include <cstdio>

#include "analyzer/text_layout.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

namespace {

std::string seconds(uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f s", static_cast<double>(ns) / 1e9);
  return text;
}

std::string count(uint64_t n) { return text::thousands(n); }

std::string capacity_text(uint64_t capacity) {
  return capacity == UINT64_MAX ? "no limit" : format_size(capacity);
}

// As PYTORCH_CUDA_ALLOC_CONF takes it, which reads a list's first entry for
// every interval up to its own, ">" for every interval after the last one
// named, and any other entry for its own interval alone: the first run of
// equal values is one entry, the last is ">", each interval between is named.
std::string divisions_text(const std::array<uint32_t, 16>& divisions) {
  const size_t n = divisions.size();
  size_t lead = 1;  // the first run: [0, lead)
  while (lead < n && divisions[lead] == divisions[0]) ++lead;
  if (lead == n) return std::to_string(divisions[0]);
  size_t tail = n - 1;  // the last run: [tail, n), after the first
  while (divisions[tail - 1] == divisions[n - 1]) --tail;
  auto entry = [&](size_t i) {
    return std::to_string(uint64_t{1} << i) + ":" + std::to_string(divisions[i]);
  };
  std::string text = "[" + entry(lead - 1);
  for (size_t i = lead; i < tail; ++i) text += "," + entry(i);
  return text + ",>:" + std::to_string(divisions[n - 1]) + "]";
}

}  // namespace

std::string settings_text(const TorchSettings& s) {
  std::string text;
  auto add = [&](const std::string& item) { text += (text.empty() ? "" : ",") + item; };
  if (s.max_split_size != UINT64_MAX) add("max_split_size_mb:" + std::to_string(s.max_split_size >> 20));
  bool divisions = false;
  for (uint32_t d : s.roundup_power2_divisions) divisions |= d > 1;
  if (divisions) add("roundup_power2_divisions:" + divisions_text(s.roundup_power2_divisions));
  if (s.garbage_collection_threshold > 0) {
    // The shortest text that reads back as the same double: what was modelled.
    char threshold[32];
    const auto written =
        std::to_chars(threshold, threshold + sizeof threshold, s.garbage_collection_threshold);
    add("garbage_collection_threshold:" + std::string(threshold, written.ptr));
  }
  return text;
}

size_t same_segments(const ReplayInput& input, const ReplayResult& result) {
  size_t same = 0;
  while (same < input.recorded_segments.size() && same < result.segments.size() &&
         input.recorded_segments[same].size == result.segments[same])
    ++same;
  return same;
}

std::string replay_text(const ReplayReport& report) {
  const ReplayInput& in = *report.input;
  const ReplayResult& r = report.result;
  std::string out =
      "vramscope replay: " + text::one_line(report.trace) + ", device " + std::to_string(in.device);
  if (!report.device_name.empty()) out += " (" + text::one_line(report.device_name) + ")";
  out += "\n";
  out += "  requests   " + count(in.allocations) + " allocations and " + count(in.frees()) + " frees of " +
         (in.tensor_level ? "tensor blocks" : "device memory (the job's own driver allocations)");
  if (in.recorded_failures > 0)
    out += ", " + count(in.recorded_failures) + " of them the allocator's out-of-memory";
  out += "\n";
  if (report.batch_scale > 0) {
    char factor[32];
    std::snprintf(factor, sizeof factor, "%g", report.batch_scale);
    out += std::string("  batch      x") + factor + ": " + count(report.scaled_allocations) +
           " activations scaled, " + format_size(report.scaled_bytes_before) + " asked for in all becoming " +
           format_size(report.scaled_bytes_after) + "\n";
  }
  std::string model = model_name(r.model);
  if (takes_torch_settings(r.model)) {
    const std::string settings = settings_text(report.settings);
    model += settings.empty() ? " (PyTorch's defaults)" : " (" + settings + ")";
  } else if (r.model == AllocatorModel::CudaAsync) {
    model += " (backend:cudaMallocAsync, the driver's pool)";
  }
  out += "  model      " + model + ", capacity " + capacity_text(r.capacity) + "\n";
  if (r.oom) {
    out += "  result     OUT OF MEMORY at request " + count(r.oom->request + 1) + " of " +
           count(in.requests.size()) + " (" + seconds(r.oom->time_ns) + "): " + format_size(r.oom->size) +
           " asked for with " + format_size(r.oom->reserved) + " reserved and " +
           format_size(r.oom->allocated) + " allocated of " + capacity_text(r.oom->capacity) + "\n";
  } else {
    out += "  result     fits: every request served\n";
  }
  out += "  peak       reserved " + format_size(r.peak_reserved) + " at " + seconds(r.peak_reserved_time_ns) +
         ", allocated " + format_size(r.peak_allocated) + " (asked for " + format_size(r.peak_requested) +
         ")\n";
  out += "  unused     at most " + format_size(r.peak_unused) + " reserved in no block, at " +
         seconds(r.peak_unused_time_ns) + "\n";
  if (r.model == AllocatorModel::TorchExpandable || r.model == AllocatorModel::CudaAsync) {
    out += "  mappings   " + count(r.segments.size()) + " made (pages of " +
           (r.model == AllocatorModel::CudaAsync ? "2 MiB" : "2 MiB or 20 MiB") + "), " +
           count(r.segments_released) + " unmapped";
  } else {
    out += "  segments   " + count(r.segments.size()) + " made, " + count(r.segments_released) + " given back";
  }
  if (r.retries > 0) {
    out +=
        std::string(r.model == AllocatorModel::CudaAsync ? "; free pages unmapped" : "; the cache emptied") +
        " to retry a request " + (r.retries == 1 ? std::string("once") : count(r.retries) + " times");
  }
  out += "\n";
  if (in.tensor_level) {
    out += "  recorded   reserved " + format_size(in.recorded_peak_reserved) + ", allocated " +
           format_size(in.recorded_peak_allocated) + " at their peaks; " +
           count(in.recorded_segments.size()) + " segments";
    const size_t same = same_segments(in, r);
    if (r.model != AllocatorModel::Torch) {
      out += "\n";
    } else if (same == in.recorded_segments.size() && same == r.segments.size()) {
      out += ", the same as the replay's, in order\n";
    } else {
      out += "; the replay made the first " + count(same) + " the same\n";
    }
  }
  for (const ReplayFit& fit : report.fits) {
    out += "  fits in    " + format_size(fit.smallest_capacity) + " with " + fit.setting + "\n";
  }
  return out;
}

nlohmann::ordered_json replay_json(const ReplayReport& report) {
  const ReplayInput& in = *report.input;
  const ReplayResult& r = report.result;
  nlohmann::ordered_json j;
  j["schema_version"] = 1;
  j["trace"] = report.trace;
  j["device"] = in.device;
  j["requests"] = {{"level", in.tensor_level ? "tensor blocks" : "device allocations"},
                   {"allocations", in.allocations},
                   {"frees", in.frees()},
                   {"out_of_memory", in.recorded_failures}};
  j["allocator"] = {{"model", model_name(r.model)}, {"settings", settings_text(report.settings)}};
  if (report.batch_scale > 0) {
    j["scale_batch"] = {{"factor", report.batch_scale},
                        {"activations", report.scaled_allocations},
                        {"bytes_before", report.scaled_bytes_before},
                        {"bytes_after", report.scaled_bytes_after}};
  }
  j["capacity"] =
      r.capacity == UINT64_MAX ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.capacity);
  j["fits"] = !r.oom.has_value();
  j["requests_served"] = r.requests_done;
  j["peak_reserved"] = {{"bytes", r.peak_reserved}, {"time_ns", r.peak_reserved_time_ns}};
  j["peak_allocated_bytes"] = r.peak_allocated;
  j["peak_requested_bytes"] = r.peak_requested;
  j["peak_unused"] = {{"bytes", r.peak_unused}, {"time_ns", r.peak_unused_time_ns}};
  j["segments"] = {{"made", r.segments.size()}, {"given_back", r.segments_released}, {"retries", r.retries}};
  if (r.oom) {
    j["out_of_memory"] = {{"request", r.oom->request},
                          {"time_ns", r.oom->time_ns},
                          {"size", r.oom->size},
                          {"reserved_bytes", r.oom->reserved},
                          {"allocated_bytes", r.oom->allocated}};
  } else {
    j["out_of_memory"] = nullptr;
  }
  if (in.tensor_level) {
    j["recorded"] = {{"peak_reserved_bytes", in.recorded_peak_reserved},
                     {"peak_allocated_bytes", in.recorded_peak_allocated},
                     {"segments", in.recorded_segments.size()},
                     {"same_segments", same_segments(in, r)}};
  }
  nlohmann::ordered_json fits = nlohmann::ordered_json::array();
  for (const ReplayFit& fit : report.fits)
    fits.push_back({{"setting", fit.setting}, {"smallest_capacity", fit.smallest_capacity}});
  j["fit"] = fits;
  nlohmann::ordered_json timeline = nlohmann::ordered_json::array();
  for (const ReplayPoint& p : r.timeline) timeline.push_back({p.time_ns, p.reserved, p.allocated});
  j["timeline"] = {{"columns", {"time_ns", "reserved_bytes", "allocated_bytes"}}, {"points", timeline}};
  return j;
}

}  // namespace vramscope::analysis
