// Timeline → text and JSON. The JSON keeps per bucket the highest value and
// the value at its end, series by series; the text shows the highest values.
#include "analyzer/timeline_output.h"

#include <algorithm>
#include <vector>

#include "analyzer/text_layout.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

namespace {

using Json = nlohmann::ordered_json;

constexpr int kTimeWidth = 10;  // "999.999 ms"
constexpr int kSizeWidth = 11;  // "1023.99 MiB"
constexpr size_t kNameWidth = 60;

Json series_json(const TimelineSeries& series) {
  Json max = Json::array();
  Json end = Json::array();
  for (const BucketValue& v : series.buckets) {
    max.push_back(v.max);
    end.push_back(v.end);
  }
  return Json{{"peak_bytes", series.peak_bytes}, {"max", std::move(max)}, {"end", std::move(end)}};
}

std::string device_line(const Timeline& t) {
  std::string line = "device " + std::to_string(t.device);
  if (!t.device_name.empty()) line += ": " + text::one_line(t.device_name);
  if (t.total_bytes != 0) line += ", " + format_size(t.total_bytes);
  return line;
}

std::string width_text(const Timeline& t) {
  uint64_t span = t.end_ns - t.start_ns;
  std::string width = text::elapsed(span / t.bucket_count);
  return span % t.bucket_count == 0 ? width : "about " + width;
}

}  // namespace

Json timeline_to_json(const Timeline& t) {
  Json json;
  json["schema_version"] = 1;
  json["trace"] = Json{{"path", t.trace_path}, {"end_ns", t.trace_end_ns}};
  json["device"] = Json{{"ordinal", t.device},
                        {"name", t.device_name},
                        {"simulated", t.simulated},
                        {"total_bytes", t.total_bytes},
                        {"has_block_data", t.has_block_data}};
  json["by"] = std::string(to_string(t.by));
  if (t.by == TimelineGrouping::Site) {
    json["top"] = t.top;
    json["folded_sites"] = t.folded_sites;
  }
  json["start_ns"] = t.start_ns;
  json["end_ns"] = t.end_ns;
  json["buckets"] = t.bucket_count;
  Json starts = Json::array();
  for (size_t i = 0; i < t.bucket_count; ++i) starts.push_back(t.bucket_start(i));
  json["starts_ns"] = std::move(starts);
  json["allocated"] = series_json(t.allocated);
  json["reserved"] = series_json(t.reserved);
  Json groups = Json::array();
  for (const TimelineSeries& g : t.groups) {
    Json group = Json{{"name", g.name}};
    if (t.by == TimelineGrouping::Site) {
      group["site"] = g.site ? Json{{"function", g.site->function},
                                    {"file", g.site->file},
                                    {"line", g.site->line},
                                    {"module", g.site->module}}
                             : Json(nullptr);
    }
    group.update(series_json(g));
    groups.push_back(std::move(group));
  }
  json["groups"] = std::move(groups);
  return json;
}

std::string timeline_to_text(const Timeline& t) {
  using text::printf_string;
  std::string out = "vramscope timeline: " + text::one_line(t.trace_path) + "\n  " + device_line(t) + "\n";
  if (t.bucket_count == 0) {
    return out + "  no device memory on this device in the trace: nothing to show\n";
  }
  out += "  window " + text::elapsed(t.start_ns) + " to " + text::elapsed(t.end_ns) + ": " +
         std::to_string(t.bucket_count) + (t.bucket_count == 1 ? " bucket of " : " buckets of ") +
         width_text(t) + ", by " + std::string(to_string(t.by)) + "\n";
  out += t.has_block_data ? "  allocated: tensor blocks (NVTX); reserved: the segments around them\n"
                          : "  allocated = reserved: device memory (no tensor blocks)\n";
  out += "  peak in the window: allocated " + format_size(t.allocated.peak_bytes) + ", reserved " +
         format_size(t.reserved.peak_bytes) + "\n";
  if (t.trace_end_ns < t.end_ns) {
    out += "  the trace ends at " + text::elapsed(t.trace_end_ns) + ": nothing is held after\n";
  }
  if (!t.groups.empty()) out += "\n";
  std::vector<std::string> names;
  size_t width = 0;
  for (const TimelineSeries& series : t.groups) {
    std::string name = series.name;
    if (t.by == TimelineGrouping::Site && !series.site) {
      name += " (" + std::to_string(t.folded_sites) + (t.folded_sites == 1 ? " site)" : " sites)");
    }
    names.push_back(text::fit(name, kNameWidth));
    width = std::max(width, names.back().size());
  }
  for (size_t g = 0; g < t.groups.size(); ++g) {
    out +=
        printf_string("  %-5s %-*s  peak %s\n", ("[" + std::to_string(g + 1) + "]").c_str(),
                      static_cast<int>(width), names[g].c_str(), format_size(t.groups[g].peak_bytes).c_str());
  }
  out += "\n  " +
         printf_string("%*s  %*s  %*s", kTimeWidth, "start", kSizeWidth, "allocated", kSizeWidth, "reserved");
  for (size_t g = 0; g < t.groups.size(); ++g) {
    out += printf_string("  %*s", kSizeWidth, ("[" + std::to_string(g + 1) + "]").c_str());
  }
  out += "\n";
  for (size_t i = 0; i < t.bucket_count; ++i) {
    out += "  " + printf_string("%*s  %*s  %*s", kTimeWidth, text::elapsed(t.bucket_start(i)).c_str(),
                                kSizeWidth, format_size(t.allocated.buckets[i].max).c_str(), kSizeWidth,
                                format_size(t.reserved.buckets[i].max).c_str());
    for (const TimelineSeries& series : t.groups) {
      out += printf_string("  %*s", kSizeWidth, format_size(series.buckets[i].max).c_str());
    }
    out += "\n";
  }
  return out;
}

}  // namespace vramscope::analysis
