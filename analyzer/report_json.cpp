// Report → JSON. Byte counts and times are integers; names of enums are the
// strings the text report prints.
#include "analyzer/report_json.h"

#include <string>

namespace vramscope::analysis {

namespace {

using Json = nlohmann::ordered_json;

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

Json stack_json(const Stack& stack) {
  Json frames = Json::array();
  for (const StackFrame& f : stack) {
    frames.push_back(Json{{"function", f.function},
                          {"file", f.file},
                          {"line", f.line},
                          {"module", f.module},
                          {"address", f.address},
                          {"module_offset", f.module_offset}});
  }
  return frames;
}

// The site's fields, flattened into the object that has a site.
void put_site(Json& object, const Site& site) {
  object["function"] = site.function;
  object["file"] = site.file;
  object["line"] = site.line;
  object["module"] = site.module;
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

Json device_json(const DeviceReport& d) {
  Json sites = Json::array();
  for (const SiteBytes& s : d.peak.sites) {
    Json site;
    put_site(site, s.site);
    site["bytes"] = s.bytes;
    site["count"] = s.count;
    site["stack"] = stack_json(s.stack);
    sites.push_back(std::move(site));
  }
  Json peak{{"bytes", d.peak.bytes},
            {"time_ns", d.peak.time_ns},
            {"time_s", static_cast<double>(d.peak.time_ns) / 1e9},
            {"live_allocations", d.peak.live_allocations},
            {"sites", std::move(sites)}};
  return Json{{"ordinal", d.ordinal},     {"name", d.name},
              {"simulated", d.simulated}, {"total_bytes", d.total_bytes},
              {"peak", std::move(peak)},  {"live_at_exit_bytes", d.live_at_exit_bytes}};
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
  for (const LeakGroup& g : leaks.groups) {
    Json group{{"kind", kind_name(g.kind)}, {"device", g.device}, {"bytes", g.bytes}, {"count", g.count}};
    put_site(group, g.site);
    group["stack"] = stack_json(g.stack);
    groups.push_back(std::move(group));
  }
  return Json{{"bytes", leaks.bytes}, {"count", leaks.count}, {"groups", std::move(groups)}};
}

Json failure_json(const FailedAllocation& f) {
  Json failure{{"time_ns", f.time_ns},       {"device", f.device},
               {"kind", kind_name(f.kind)},  {"api", api_name(f.api)},
               {"via", api_name(f.via)},     {"requested_bytes", f.requested_bytes},
               {"error", f.error},           {"error_name", f.error_name},
               {"free_bytes", f.free_bytes}, {"total_bytes", f.total_bytes},
               {"live_bytes", f.live_bytes}};
  put_site(failure, f.site);
  failure["stack"] = stack_json(f.stack);
  return failure;
}

}  // namespace

nlohmann::ordered_json report_to_json(const Report& report) {
  Json json;
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
  return json;
}

}  // namespace vramscope::analysis
