// Report → JSON. Byte counts and times are integers; names of enums are the
// strings the text report prints.
#include "analyzer/report_json.h"

#include <cassert>
#include <string>

namespace vramscope::analysis {

namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kReportMembers = 14;  // of the report's object

std::string kind_name(trace::MemoryKind kind) { return std::string(trace::to_string(kind)); }
std::string api_name(trace::Api api) { return std::string(trace::to_string(api)); }

const char* end_reason_name(trace::EndReason reason) {
  switch (reason) {
    case trace::EndReason::Exit:
      return "exit";
    case trace::EndReason::Signal:
      return "signal";
    case trace::EndReason::Abort:
      return "abort";
    case trace::EndReason::Exec:
      return "exec";
  }
  return "unknown";
}

// An object built member by member, in its final order. nlohmann's ordered
// object is a vector of pairs with a const key, which it copies, values and
// all, each time it grows: a report of thousands of stacks spent most of its
// JSON time in those copies. Here the room is reserved once and each value
// moved in.
class Members {
 public:
  explicit Members(size_t count) { members_.reserve(count); }
  Members& add(const char* key, Json value) {
    members_.emplace_back(key, std::move(value));
    return *this;
  }
  // The site's fields, flattened into the object that has a site.
  Members& add_site(const Site& site) {
    return add("function", site.function)
        .add("file", site.file)
        .add("line", site.line)
        .add("module", site.module);
  }
  Json object() {
    Json object = Json::object();
    object.get_ref<Json::object_t&>() = std::move(members_);
    return object;
  }

 private:
  Json::object_t members_;
};

Json stack_json(const Stack& stack) {
  Json frames = Json::array();
  frames.get_ref<Json::array_t&>().reserve(stack.size());
  for (const StackFrame& f : stack) {
    frames.push_back(Members(6)
                         .add("function", f.function)
                         .add("file", f.file)
                         .add("line", f.line)
                         .add("module", f.module)
                         .add("address", f.address)
                         .add("module_offset", f.module_offset)
                         .object());
  }
  return frames;
}

Json trace_json(const TraceFacts& t) {
  Json end = nullptr;
  if (t.end) {
    end =
        Json{{"reason", end_reason_name(t.end->reason)}, {"code", t.end->code}, {"time_ns", t.end->time_ns}};
  }
  return Json{{"path", t.path},
              {"pid", t.pid},
              {"parent_pid", t.parent_pid},
              {"host", t.host},
              {"rank", t.rank},
              {"command_line", t.command_line},
              {"start_unix_ns", t.start_unix_ns},
              {"cut_short", t.cut_short},
              {"cut_short_reason", t.cut_short_reason},
              {"end", end},
              {"duration_ns", t.duration_ns},
              {"event_count", t.event_count},
              {"record_bytes", t.record_bytes},
              {"file_bytes", t.file_bytes},
              {"bytes_per_event", t.bytes_per_event}};
}

Json categories_at_peak_json(const DevicePeak& peak) {
  Json categories = Json::array();
  for (const CategoryBytes& c : peak.categories) {
    categories.push_back(Json{{"category", c.category}, {"bytes", c.bytes}, {"count", c.count}});
  }
  return categories;
}

// Fragmentation and OOM diagnosis.
Json fragmentation_json(const FragmentationReport& f) {
  return Json{{"time_ns", f.time_ns},
              {"segments", f.segments},
              {"segment_bytes", f.segment_bytes},
              {"block_bytes", f.block_bytes},
              {"total_free_bytes", f.total_free_bytes},
              {"largest_free_bytes", f.largest_free_bytes},
              {"reserved_but_unallocated_bytes", f.reserved_but_unallocated_bytes},
              {"metric", f.metric}};
}

Json device_fragmentation_json(const DeviceFragmentation& f) {
  Json at_peak = f.at_peak ? fragmentation_json(*f.at_peak) : Json(nullptr);
  Json worst = f.worst ? fragmentation_json(*f.worst) : Json(nullptr);
  Json at_end = f.at_end ? fragmentation_json(*f.at_end) : Json(nullptr);
  return Json{{"has_block_data", f.has_block_data},
              {"at_peak", std::move(at_peak)},
              {"worst", std::move(worst)},
              {"at_end", std::move(at_end)}};
}

Json diagnosis_json(const OomDiagnosis& d) {
  const OomEvidence& e = d.evidence;
  Json evidence{{"allocated_bytes", e.allocated_bytes},       {"reserved_bytes", e.reserved_bytes},
                {"outside_process_bytes", e.outside_process_bytes}, {"largest_free_bytes", e.largest_free_bytes},
                {"total_free_bytes", e.total_free_bytes},     {"shortfall_bytes", e.shortfall_bytes}};
  Json grew = nullptr;
  if (d.grew) {
    grew = Members(6)
               .add_site(d.grew->site)
               .add("growth_bytes", d.grew->growth_bytes)
               .add("bytes", d.grew->bytes)
               .object();
  }
  Json sites = Json::array();
  for (const SiteBytes& s : d.sites) {
    sites.push_back(Members(7)
                        .add_site(s.site)
                        .add("bytes", s.bytes)
                        .add("count", s.count)
                        .add("stack", stack_json(s.stack))
                        .object());
  }
  return Json{{"verdict", std::string(to_string(d.verdict))},
              {"explanation", d.explanation},
              {"evidence", std::move(evidence)},
              {"grew", std::move(grew)},
              {"sites", std::move(sites)}};
}

Json device_json(const DeviceReport& d) {
  Json sites = Json::array();
  for (const SiteBytes& s : d.peak.sites) {
    Members site(9);
    site.add_site(s.site).add("bytes", s.bytes).add("count", s.count).add("stack", stack_json(s.stack));
    if (!s.category.empty()) site.add("category", s.category).add("confidence", s.confidence);
    sites.push_back(site.object());
  }
  Json peak{{"bytes", d.peak.bytes},
            {"time_ns", d.peak.time_ns},
            {"time_s", static_cast<double>(d.peak.time_ns) / 1e9},
            {"live_allocations", d.peak.live_allocations},
            {"sites", std::move(sites)},
            {"categories", categories_at_peak_json(d.peak)}};
  return Json{{"ordinal", d.ordinal},     {"name", d.name},
              {"simulated", d.simulated}, {"total_bytes", d.total_bytes},
              {"peak", std::move(peak)},  {"live_at_exit_bytes", d.live_at_exit_bytes},
              {"fragmentation", device_fragmentation_json(d.fragmentation)}};
}

Json counts_json(const EventCounts& c) {
  return Json{{"events", c.events},
              {"allocations", c.allocations},
              {"frees", c.frees},
              {"failed_allocations", c.failed_allocations},
              {"unmatched_frees", c.unmatched_frees},
              {"missing_frees", c.missing_frees},
              {"markers", c.markers},
              {"forks", c.forks}};
}

Json leaks_json(const Leaks& leaks) {
  Json groups = Json::array();
  groups.get_ref<Json::array_t&>().reserve(leaks.groups.size());
  for (const LeakGroup& g : leaks.groups) {
    groups.push_back(Members(11)
                         .add("kind", kind_name(g.kind))
                         .add("device", g.device)
                         .add("bytes", g.bytes)
                         .add("count", g.count)
                         .add_site(g.site)
                         .add("stack", stack_json(g.stack))
                         .add("counted", g.counted)
                         .add("allocator_cache", g.cached)
                         .object());
  }
  return Json{{"bytes", leaks.bytes}, {"count", leaks.count}, {"groups", std::move(groups)}};
}

Json failure_json(const FailedAllocation& f) {
  return Members(20)
      .add("time_ns", f.time_ns)
      .add("device", f.device)
      .add("kind", kind_name(f.kind))
      .add("api", api_name(f.api))
      .add("via", api_name(f.via))
      .add("requested_bytes", f.requested_bytes)
      .add("error", f.error)
      .add("error_name", f.error_name)
      .add("free_bytes", f.free_bytes)
      .add("total_bytes", f.total_bytes)
      .add("live_bytes", f.live_bytes)
      .add_site(f.site)
      .add("stack", stack_json(f.stack))
      .add("fragmentation", fragmentation_json(f.fragmentation))
      .add("diagnosis", diagnosis_json(f.diagnosis))
      .add("attempt_of", f.attempt_of ? Json(*f.attempt_of) : Json(nullptr))
      .add("driver_attempts", f.driver_attempts)
      .object();
}

// Iterations, categories and growth leaks.
Json iterations_json(const Iterations& iterations) {
  Json list = Json::array();
  for (const IterationTimes& t : iterations.list) list.push_back(Json{{"start_ns", t.start_ns}, {"end_ns", t.end_ns}});
  return Json{{"method", iterations.method}, {"count", iterations.list.size()}, {"list", std::move(list)}};
}

Json categories_json(const Categories& categories) {
  Json totals = Json::array();
  for (const CategoryTotals& t : categories.totals) {
    totals.push_back(Json{{"category", t.category},
                          {"peak_bytes", t.peak_bytes},
                          {"allocations", t.allocations},
                          {"allocated_bytes", t.allocated_bytes},
                          {"confidence", t.confidence},
                          {"reason", t.reason}});
  }
  return Json{{"source", categories.source}, {"totals", std::move(totals)}};
}

Json growth_leaks_json(const std::vector<GrowthLeak>& leaks) {
  Json result = Json::array();
  for (const GrowthLeak& g : leaks) {
    result.push_back(Members(10)
                         .add("kind", kind_name(g.kind))
                         .add("device", g.device)
                         .add("bytes_per_iteration", g.bytes_per_iteration)
                         .add("iterations", g.iterations)
                         .add("live_bytes_at_last_iteration", g.live_bytes_at_last_iteration)
                         .add_site(g.site)
                         .add("stack", stack_json(g.stack))
                         .object());
  }
  return result;
}

Json advice_json(const std::vector<Advice>& advice) {
  Json result = Json::array();
  for (const Advice& a : advice) {
    Json figures = Json::object();
    for (const AdviceFigure& f : a.figures) figures[f.name] = f.bytes;
    result.push_back(Json{{"kind", a.kind},
                          {"title", a.title},
                          {"saving_bytes", a.saving_bytes},
                          {"device", a.device},
                          {"detail", a.detail},
                          {"figures", std::move(figures)}});
  }
  return result;
}

}  // namespace

nlohmann::ordered_json report_to_json(const Report& report) {
  // Room for every member at once: growing would copy those already in (see Members).
  Json json = Json::object();
  json.get_ref<Json::object_t&>().reserve(kReportMembers);
  json["schema_version"] = kReportSchemaVersion;
  json["trace"] = trace_json(report.trace);
  json["devices"] = Json::array();
  for (const DeviceReport& d : report.devices) json["devices"].push_back(device_json(d));
  json["counts"] = counts_json(report.counts);
  json["kinds"] = Json::array();
  for (const KindTotals& k : report.kinds) {
    json["kinds"].push_back(Json{{"kind", kind_name(k.kind)},
                                 {"allocations", k.allocations},
                                 {"frees", k.frees},
                                 {"allocated_bytes", k.allocated_bytes},
                                 {"peak_bytes", k.peak_bytes},
                                 {"live_at_exit_bytes", k.live_at_exit_bytes},
                                 {"live_at_exit_count", k.live_at_exit_count}});
  }
  json["leaks"] = leaks_json(report.leaks);
  json["failed_allocations"] = Json::array();
  for (const FailedAllocation& f : report.failed_allocations)
    json["failed_allocations"].push_back(failure_json(f));
  json["threads"] = Json::array();
  for (const ThreadTotals& t : report.threads) {
    json["threads"].push_back(Json{{"index", t.index},
                                   {"os_tid", t.os_tid},
                                   {"name", t.name},
                                   {"allocations", t.allocations},
                                   {"frees", t.frees},
                                   {"allocated_bytes", t.allocated_bytes},
                                   {"failed_allocations", t.failed_allocations}});
  }
  json["apis"] = Json::array();
  for (const ApiCount& a : report.apis) {
    json["apis"].push_back(Json{{"api", api_name(a.api)}, {"via", api_name(a.via)}, {"count", a.count}});
  }
  json["forks"] = Json::array();
  for (const ForkEvent& f : report.forks) {
    json["forks"].push_back(Json{{"time_ns", f.time_ns}, {"child_pid", f.child_pid}});
  }
  json["iterations"] = iterations_json(report.iterations);
  json["categories"] = categories_json(report.categories);
  json["growth_leaks"] = growth_leaks_json(report.growth_leaks);
  json["advice"] = advice_json(report.advice);
  assert(json.size() == kReportMembers);
  return json;
}

}  // namespace vramscope::analysis
