// `vramscope timeline` on train_mlp's traces: the highest reserved bytes of
// the timeline are the report's peak, its categories the report's, and every
// mistake on the command line is one line and exit status 2.
#include <doctest/doctest.h>

#include <algorithm>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

json timeline_json(const std::vector<std::string>& args) {
  std::vector<std::string> command = {"timeline"};
  command.insert(command.end(), args.begin(), args.end());
  command.insert(command.end(), {"--json", "-"});
  ProcessResult result = run_vramscope(command);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_status == 0);
  return json::parse(result.out);
}

uint64_t highest(const json& values) {
  uint64_t top = 0;
  for (const json& v : values) top = std::max(top, v.get<uint64_t>());
  return top;
}

// A usage mistake: exit 2, one line on standard error that says `part`.
void check_refused(const std::vector<std::string>& args, const std::string& part) {
  std::vector<std::string> command = {"timeline"};
  command.insert(command.end(), args.begin(), args.end());
  ProcessResult result = run_vramscope(command);
  INFO("args end with " << args.back() << "; stderr: " << result.err);
  CHECK(result.exit_status == 2);
  CHECK(result.out.empty());
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(result.err.find(part) != std::string::npos);
}

}  // namespace

TEST_CASE(
    "timeline of train_mlp (Adam): its reserved maximum is the report's peak; categories as the report") {
  ScratchDir dir("timeline-adam");
  std::string trace = dir.path("adam.vstrace");
  run_profiled(trace, {sample("train_mlp"), "--optimizer", "adam"});
  json report = report_json(trace);
  const uint64_t peak = report["devices"][0]["peak"]["bytes"];
  CHECK(peak == 68747264);  // (2 + 2)P + (L + 2)A, samples/README.md

  json t = timeline_json({trace});
  CHECK(t["device"]["ordinal"] == 0);
  CHECK(t["device"]["simulated"] == !on_real_gpu());
  CHECK(t["device"]["has_block_data"] == false);
  CHECK(t["by"] == "none");
  CHECK(t["buckets"] == 1000);
  CHECK(t["start_ns"] == 0);
  CHECK(t["end_ns"] == report["trace"]["duration_ns"]);
  CHECK(t["reserved"]["peak_bytes"] == peak);
  CHECK(highest(t["reserved"]["max"]) == peak);
  CHECK(t["allocated"]["max"] == t["reserved"]["max"]);
  CHECK(t["reserved"]["end"].back() == 0);  // everything freed at the end
  CHECK(t["groups"].empty());

  // Zoomed out to 3 buckets the peak is still there.
  json coarse = timeline_json({trace, "--buckets", "3"});
  CHECK(highest(coarse["reserved"]["max"]) == peak);

  json c = timeline_json({trace, "--by", "category", "--buckets", "100"});
  auto category_peak = [&](const std::string& name) -> uint64_t {
    json g = find_by(c["groups"], "name", name);
    INFO("category " << name);
    REQUIRE_FALSE(g.is_null());
    return g["peak_bytes"];
  };
  CHECK(category_peak("parameters") == P);
  CHECK(category_peak("gradients") == P);
  CHECK(category_peak("optimizer state") == 2 * P);
  CHECK(category_peak("activations") == L * A);
  CHECK(category_peak("inputs") == A);
  CHECK(category_peak("temporaries") == A);
  CHECK(find_by(c["groups"], "name", "unknown").is_null());
  CHECK(c["reserved"]["peak_bytes"] == peak);

  json s = timeline_json({trace, "--by", "site", "--top", "1"});
  REQUIRE(s["groups"].size() == 2);
  CHECK(s["groups"][0]["name"].get<std::string>().starts_with("allocate_optimizer_state (train_mlp.cpp:"));
  CHECK(s["groups"][0]["site"]["function"].get<std::string>().find("allocate_optimizer_state(") !=
        std::string::npos);
  CHECK(s["groups"][0]["peak_bytes"] == 2 * P);
  CHECK(s["groups"][1]["name"] == "other");
  CHECK(s["groups"][1]["peak_bytes"] == 2 * P + L * A + A + A);  // parameters, gradients, the step's tensors
  CHECK(s["top"] == 1);
}

TEST_CASE("timeline of train_mlp in a caching allocator: allocated is tensor blocks, reserved the segments") {
  ScratchDir dir("timeline-caching");
  std::string trace = dir.path("caching.vstrace");
  run_profiled(trace, {sample("train_mlp"), "--allocator", "caching"});
  json t = timeline_json({trace, "--by", "kind", "--buckets", "20"});
  CHECK(t["device"]["has_block_data"] == true);
  CHECK(t["allocated"]["peak_bytes"] == 68747264);
  CHECK(t["reserved"]["peak_bytes"] == 85983232);  // its 5 segments
  CHECK(t["reserved"]["peak_bytes"] == report_json(trace)["devices"][0]["peak"]["bytes"]);
  REQUIRE(t["groups"].size() == 2);
  CHECK(t["groups"][0]["name"] == "device");
  CHECK(t["groups"][0]["max"] == t["reserved"]["max"]);
  CHECK(t["groups"][1]["name"] == "tensor block");
  CHECK(t["groups"][1]["max"] == t["allocated"]["max"]);
}

TEST_CASE("timeline: text a line per bucket; mistakes are one line and exit status 2") {
  ScratchDir dir("timeline-cli");
  std::string trace = dir.path("adam.vstrace");
  run_profiled(trace, {sample("train_mlp")});

  ProcessResult text = run_vramscope({"timeline", trace, "--buckets", "10", "--by", "category"});
  CHECK(text.exit_status == 0);
  CHECK(text.err.empty());
  CHECK(text.out.find("peak in the window: allocated 65.56 MiB, reserved 65.56 MiB") != std::string::npos);
  CHECK(text.out.find("[3]   optimizer state  peak 32.03 MiB") != std::string::npos);
  size_t titles = text.out.find("start    allocated     reserved");
  REQUIRE(titles != std::string::npos);
  CHECK(std::count(text.out.begin() + static_cast<ptrdiff_t>(titles), text.out.end(), '\n') == 1 + 10);

  // The window from 1 ms to 2 ms in buckets of 250 us.
  json zoom = timeline_json({trace, "--from", "1ms", "--to=2ms", "--resolution", "250us"});
  CHECK(zoom["starts_ns"] == json::array({1000000, 1250000, 1500000, 1750000}));
  CHECK(zoom["end_ns"] == 2000000);

  ProcessResult help = run_vramscope({"timeline", "--help"});
  CHECK(help.exit_status == 0);
  CHECK(help.out.find("usage: vramscope timeline TRACE") == 0);

  check_refused({trace, "--device", "5"}, "vramscope: timeline: no device 5: the trace has device 0");
  check_refused({trace, "--buckets", "0"}, "--buckets wants at least 1");
  check_refused({trace, "--buckets", "ten"}, "--buckets wants a whole number");
  check_refused({trace, "--by", "thread"}, "--by wants none, kind, site or category, not 'thread'");
  check_refused({trace, "--from", "2ms", "--to", "1ms"}, "the window is empty");
  check_refused({trace, "--from", "100s"},
                "the window is empty: it starts at 100.000 s, not before the trace's end");
  check_refused({trace, "--from", "5"}, "bad time '5' for --from (examples: 500us, 10ms, 2.5s)");
  check_refused({trace, "--resolution", "0"}, "--resolution wants at least 1ns");
  check_refused({trace, "--resolution", "1ns"}, "take wider buckets or a shorter window");
  check_refused({trace, "--buckets", "5", "--resolution", "1ms"}, "give one");
  check_refused({trace, "--bucket", "5"}, "unknown option '--bucket'");
  check_refused({"--by", "site"}, "which trace?");

  ProcessResult missing = run_vramscope({"timeline", dir.path("missing.vstrace")});
  CHECK(missing.exit_status == 1);
  CHECK(std::count(missing.err.begin(), missing.err.end(), '\n') == 1);
}
