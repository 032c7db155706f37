// `vramscope export` on the samples' traces: the Chrome trace parses as JSON
// with the counts the samples' figures give, the collapsed stacks add up to
// the report's peak and leaks, and every mistake is one line and a non-zero
// exit status.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

std::string export_text(const std::vector<std::string>& args) {
  std::vector<std::string> command = {"export"};
  command.insert(command.end(), args.begin(), args.end());
  command.insert(command.end(), {"-o", "-"});
  ProcessResult result = run_vramscope(command);
  INFO("stderr: " << result.err);
  REQUIRE(result.exit_status == 0);
  return result.out;
}

size_t count_ph(const json& doc, const std::string& ph, const std::string& name = "") {
  return static_cast<size_t>(
      std::count_if(doc["traceEvents"].begin(), doc["traceEvents"].end(),
                    [&](const json& e) { return e["ph"] == ph && (name.empty() || e["name"] == name); }));
}

uint64_t highest(const json& doc, const std::string& counter) {
  uint64_t top = 0;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == "C" && e["name"] == counter) top = std::max(top, e["args"]["bytes"].get<uint64_t>());
  }
  return top;
}

// "STACK BYTES" lines: the bytes of the lines whose stack holds `frame`, and of all.
uint64_t bytes_with(const std::string& folded, const std::string& frame) {
  std::istringstream lines(folded);
  uint64_t total = 0;
  for (std::string line; std::getline(lines, line);) {
    if (frame.empty() || line.find(frame) != std::string::npos)
      total += std::stoull(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

void check_refused(const std::vector<std::string>& args, int status, const std::string& part) {
  std::vector<std::string> command = {"export"};
  command.insert(command.end(), args.begin(), args.end());
  ProcessResult result = run_vramscope(command);
  INFO("args end with " << args.back() << "; stderr: " << result.err);
  CHECK(result.exit_status == status);
  CHECK(result.out.empty());
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(result.err.find(part) != std::string::npos);
}

}  // namespace

TEST_CASE("export of leak: Chrome counters at every change, the leak an instant; collapsed peak and leaks") {
  ScratchDir dir("export-leak");
  std::string trace = dir.path("leak.vstrace");
  run_profiled(trace, {sample("leak")});

  // By default beside the trace, with the format's extension.
  ProcessResult wrote = run_vramscope({"export", trace, "--format", "chrome"});
  INFO("stderr: " << wrote.err);
  REQUIRE(wrote.exit_status == 0);
  CHECK(wrote.out.find("wrote " + dir.path("leak.json") + " (") == 0);
  CHECK(wrote.out.find("60 counter points, 0 ranges, 1 instant;") != std::string::npos);
  std::ifstream file(dir.path("leak.json"));
  json doc = json::parse(file);
  CHECK(doc["displayTimeUnit"] == "ns");
  // 20 allocations and 10 frees, each a point on both tracks (no tensor blocks).
  CHECK(count_ph(doc, "C", "GPU 0 reserved") == 30);
  CHECK(count_ph(doc, "C", "GPU 0 allocated") == 30);
  CHECK(highest(doc, "GPU 0 reserved") == 14680064);  // the report's peak, samples/README.md
  CHECK(count_ph(doc, "M", "process_name") == 1);
  CHECK(count_ph(doc, "M", "thread_name") >= 1);
  REQUIRE(count_ph(doc, "i") == 1);
  json leak = *std::find_if(doc["traceEvents"].begin(), doc["traceEvents"].end(),
                            [](const json& e) { return e["ph"] == "i"; });
  CHECK(leak["args"]["bytes"] == 10485760);
  CHECK(leak["args"]["count"] == 10);
  CHECK(leak["args"]["site"].get<std::string>().starts_with("cache_step_statistics (leak.cpp:"));

  // --points 4: each track at most 4 points, the peak still there.
  json thin = json::parse(export_text({trace, "--format", "chrome", "--points", "4"}));
  CHECK(count_ph(thin, "C", "GPU 0 reserved") <= 4);
  CHECK(highest(thin, "GPU 0 reserved") == 14680064);

  std::string peak = export_text({trace, "--format", "collapsed"});
  CHECK(std::count(peak.begin(), peak.end(), '\n') == 2);
  CHECK(bytes_with(peak, "") == 14680064);
  CHECK(bytes_with(peak, "main (leak.cpp:") == 14680064);  // outermost first, main before the site
  CHECK(bytes_with(peak, ";allocate_workspace (leak.cpp:") == 4194304);
  CHECK(bytes_with(peak, ";cache_step_statistics (leak.cpp:") == 10485760);
  std::string leaks = export_text({trace, "--format", "collapsed", "--what", "leaks"});
  CHECK(std::count(leaks.begin(), leaks.end(), '\n') == 1);
  CHECK(bytes_with(leaks, ";cache_step_statistics (leak.cpp:") == 10485760);

  ProcessResult folded = run_vramscope({"export", trace, "--format", "collapsed", "--device", "0"});
  CHECK(folded.exit_status == 0);
  CHECK(folded.out.find("wrote " + dir.path("leak.folded") + " (") == 0);
  CHECK(folded.out.find("2 stacks, 14.00 MiB live at the peak of GPU 0") != std::string::npos);
}

TEST_CASE("export of caching_allocator and oom: ranges and marks, blocks and segments, the OOM's verdict") {
  ScratchDir dir("export-ranges");
  std::string trace = dir.path("caching.vstrace");
  run_profiled(trace, {sample("caching_allocator")});
  json doc = json::parse(export_text({trace, "--format", "chrome"}));
  CHECK(count_ph(doc, "B", "step") == 3);
  CHECK(count_ph(doc, "E", "step") == 3);
  CHECK(count_ph(doc, "i", "optimizer step") == 3);
  CHECK(highest(doc, "GPU 0 allocated") == 25985024);  // the tensor blocks' peak, samples/README.md
  CHECK(highest(doc, "GPU 0 reserved") == 44040192);   // its 3 segments
  CHECK(highest(doc, "GPU 0 reserved") == report_json(trace)["devices"][0]["peak"]["bytes"]);

  std::string oom_trace = dir.path("oom.vstrace");
  run_profiled(oom_trace, {sample("oom")}, {"--simulate=1124MiB"});
  json oom = json::parse(export_text({oom_trace, "--format", "chrome"}));
  REQUIRE(count_ph(oom, "i") == 1);
  json failed = *std::find_if(oom["traceEvents"].begin(), oom["traceEvents"].end(),
                              [](const json& e) { return e["ph"] == "i"; });
  CHECK(failed["name"] == "OOM: 256.00 MiB (over-subscription)");
  CHECK(failed["args"]["requested"] == 268435456);
  CHECK(failed["args"]["verdict"] == "over-subscription");
  CHECK(failed["args"]["total"] == 1178599424);  // 1124 MiB
}

TEST_CASE("export: --help names the viewers; mistakes are one line and a non-zero status") {
  ProcessResult help = run_vramscope({"export", "--help"});
  CHECK(help.exit_status == 0);
  CHECK(help.out.find("usage: vramscope export TRACE") == 0);
  for (const char* viewer :
       {"ui.perfetto.dev", "chrome://tracing", "flamegraph.pl", "speedscope", "inferno", "memory_viz"}) {
    CHECK(help.out.find(viewer) != std::string::npos);
  }

  ScratchDir dir("export-cli");
  std::string trace = dir.path("leak.vstrace");
  run_profiled(trace, {sample("leak"), "--steps", "2"});
  check_refused({trace, "--format", "svg"}, 2,
                "vramscope: export: --format wants chrome, collapsed or pytorch-snapshot, not 'svg'");
  check_refused({trace}, 2, "export: which format?");
  check_refused({trace, "--format", "chrome", "--what", "leaks"}, 2, "--what is for --format collapsed");
  check_refused({trace, "--format", "collapsed", "--what", "most"}, 2, "--what wants peak or leaks");
  check_refused({trace, "--format", "chrome", "--points", "0"}, 2, "--points wants at least 1");
  check_refused({trace, "--format", "collapsed", "--device", "4"}, 2,
                "export: device 4 never held device memory: devices with a peak: 0");
  check_refused({trace, "--format", "chrome", "--device", "3"}, 2,
                "vramscope: export: no device 3: the trace has device 0\n");
  check_refused({dir.path("missing.vstrace"), "--format", "chrome"}, 1, "missing.vstrace");
  check_refused({trace, "--format", "chrome", "-o", dir.path("no/such/dir/out.json")}, 1,
                "cannot write " + dir.path("no/such/dir/out.json"));
}

TEST_CASE("export of caching_allocator as a PyTorch snapshot: read back the same, and by Python's pickle") {
  ScratchDir dir("export-snapshot");
  std::string trace = dir.path("caching.vstrace");
  run_profiled(trace, {sample("caching_allocator")});
  ProcessResult wrote = run_vramscope({"export", trace, "--format", "pytorch-snapshot"});
  INFO("stderr: " << wrote.err);
  REQUIRE(wrote.exit_status == 0);
  CHECK(wrote.out.find("wrote " + dir.path("caching.pickle") + " (") == 0);
  CHECK(wrote.out.find("memory_viz") != std::string::npos);

  json original = report_json(trace);
  json snapshot = report_json(dir.path("caching.pickle"));
  CHECK(kind(snapshot, "tensor block")["peak_bytes"] == 25985024);  // samples/README.md
  CHECK(kind(snapshot, "device")["peak_bytes"] == 44040192);
  for (const char* k : {"tensor block", "device"}) {
    INFO(k);
    CHECK(kind(snapshot, k)["allocations"] == kind(original, k)["allocations"]);
    CHECK(kind(snapshot, k)["frees"] == kind(original, k)["frees"]);
    CHECK(kind(snapshot, k)["live_at_exit_bytes"] == kind(original, k)["live_at_exit_bytes"]);
  }

  // Python reads it as PyTorch's own: segments that tile with their blocks, entries with frames.
  ProcessResult python = run_process(
      {"python3", "-c",
       "import pickle, sys\n"
       "s = pickle.load(open(sys.argv[1], 'rb'))\n"
       "assert all(sum(b['size'] for b in g['blocks']) == g['total_size'] for g in s['segments'])\n"
       "t = s['device_traces'][0]\n"
       "print(len(s['segments']), sum(e['action'] == 'alloc' for e in t), "
       "sum(e['action'] == 'free_completed' for e in t), all('frames' in e for e in t))\n",
       dir.path("caching.pickle")});
  if (python.exit_status == 127 || python.err.find("No such file") != std::string::npos) {
    MESSAGE("python3 not found: the check that Python reads the snapshot is skipped");
    return;
  }
  INFO("python stderr: " << python.err);
  REQUIRE(python.exit_status == 0);
  std::string expected = std::to_string(kind(original, "device")["live_at_exit_count"].get<uint64_t>()) +
                         " " + std::to_string(kind(original, "tensor block")["allocations"].get<uint64_t>()) +
                         " " + std::to_string(kind(original, "tensor block")["frees"].get<uint64_t>()) +
                         " True\n";
  CHECK(python.out == expected);
}
