// The analyzer against synthetic training-job traces whose figures are known
// in advance (bench/trace_generator.cpp prints them): exact peak, live at
// exit, event counts, the iterations of the NVTX range "step", and the
// parameters, gradients and optimizer states among the categories.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include "bench/generator_figures.h"
#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

ProcessResult generate(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {VRAMSCOPE_TRACE_GENERATOR};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

std::map<std::string, uint64_t> generate_ok(const std::string& trace, const std::string& events,
                                            const std::string& live, const std::string& seed = "1") {
  ProcessResult run = generate({"--events", events, "--live", live, "--seed", seed, "--output", trace});
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_status == 0);
  std::map<std::string, uint64_t> figures = vramscope::bench::generator_figures(run.err);
  REQUIRE(figures.count("peak_bytes") == 1);
  return figures;
}

// Everything the generator promises, checked in the report.
void check_report(const json& r, std::map<std::string, uint64_t> expected) {
  CHECK(r["trace"]["cut_short"] == false);
  CHECK(r["trace"]["event_count"] == expected["events"]);
  CHECK(r["counts"]["events"] == expected["events"]);
  CHECK(r["counts"]["allocations"] == expected["allocations"]);
  CHECK(r["counts"]["frees"] == expected["frees"]);
  CHECK(r["counts"]["unmatched_frees"] == 0);
  CHECK(r["counts"]["failed_allocations"] == 0);
  REQUIRE(r["devices"].size() == 1);
  const json& device = r["devices"][0];
  CHECK(device["name"] == "Synthetic GPU");
  CHECK(device["total_bytes"] == 80ull << 30);
  CHECK(device["peak"]["bytes"] == expected["peak_bytes"]);
  CHECK(device["peak"]["live_allocations"] == expected["peak_allocations"]);
  CHECK(device["live_at_exit_bytes"] == expected["live_at_exit_bytes"]);
  json k = kind(r, "device");
  CHECK(k["allocations"] == expected["allocations"]);
  CHECK(k["peak_bytes"] == expected["peak_bytes"]);
  CHECK(k["live_at_exit_bytes"] == expected["live_at_exit_bytes"]);
  CHECK(k["live_at_exit_count"] == expected["live_at_exit_allocations"]);
  CHECK(r["iterations"]["method"] == "nvtx range 'step'");
  CHECK(r["iterations"]["count"] == expected["iterations"]);
  // The long-lived memory's categories: every allocation in the right one.
  std::map<std::string, uint64_t> allocations;
  for (const json& total : r["categories"]["totals"]) allocations[total["category"]] = total["allocations"];
  CHECK(allocations["parameters"] == expected["parameters"]);
  CHECK(allocations["gradients"] == expected["gradients"]);
  CHECK(allocations["optimizer state"] == expected["optimizer_states"]);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("generator: the report of a 200k-event synthetic job has its exact figures") {
  ScratchDir dir("generator");
  std::string trace = dir.path("job.vstrace");
  std::map<std::string, uint64_t> figures = generate_ok(trace, "200k", "2000");
  // 2000 long-lived allocations, a first step of 522 events plus 1500
  // long-lived ones, 378 whole steps, and a short last step of 162 events.
  CHECK(figures["events"] == 200000);
  CHECK(figures["iterations"] == 380);
  CHECK(figures["live_at_exit_allocations"] == 2000);
  CHECK(figures["allocations"] + figures["frees"] + 2 * figures["iterations"] == 200000);
  check_report(report_json(trace), figures);
}

TEST_CASE("generator: a count that ends mid-step gets a short last step and a teardown free") {
  ScratchDir dir("generator-odd");
  std::string trace = dir.path("job.vstrace");
  // 10001 = 100 + 522 + 17 × 522 + 505: the last step has 61 layers and 3
  // more optimizer updates, and one optimizer state is freed after it.
  std::map<std::string, uint64_t> figures = generate_ok(trace, "10001", "100", "7");
  CHECK(figures["events"] == 10001);
  CHECK(figures["iterations"] == 19);
  CHECK(figures["live_at_exit_allocations"] == 99);
  check_report(report_json(trace), figures);
}

TEST_CASE("generator: the same seed writes the same bytes, another seed other sizes") {
  ScratchDir dir("generator-seed");
  generate_ok(dir.path("a.vstrace"), "20k", "500", "3");
  generate_ok(dir.path("b.vstrace"), "20k", "500", "3");
  std::map<std::string, uint64_t> other = generate_ok(dir.path("c.vstrace"), "20k", "500", "4");
  CHECK(slurp(dir.path("a.vstrace")) == slurp(dir.path("b.vstrace")));
  CHECK(slurp(dir.path("a.vstrace")) != slurp(dir.path("c.vstrace")));
  CHECK(other["events"] == 20000);
}

TEST_CASE("generator: bad flags get one line and exit status 2") {
  ScratchDir dir("generator-flags");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--events", "20x", "--output", dir.path("t.vstrace")},
        std::vector<std::string>{"--events", "10M"},
        std::vector<std::string>{"--output", dir.path("t.vstrace")},
        std::vector<std::string>{"--events", "1k", "--output", dir.path("t.vstrace")},
        std::vector<std::string>{"--frobnicate"}}) {
    ProcessResult run = generate(args);
    INFO("args: " << args[0] << " stderr: " << run.err);
    CHECK(run.exit_status == 2);
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
  }
  ProcessResult help = generate({"--help"});
  CHECK(help.exit_status == 0);
  CHECK(help.out.find("--events N") != std::string::npos);
}
