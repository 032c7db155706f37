// `vramscope check`, `vramscope diff` and reports over many ranks, on traces
// of the samples: exit statuses, budgets, changes and ranks checked exactly.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

int line_count(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// train_mlp with Adam (peak 68747264) and with SGD (peak 35160064).
struct TrainRuns {
  ScratchDir dir{"ci-train"};
  std::string adam = dir.path("adam.vstrace");
  std::string sgd = dir.path("sgd.vstrace");
  TrainRuns() {
    run_profiled(adam, {sample("train_mlp"), "--optimizer", "adam"});
    run_profiled(sgd, {sample("train_mlp"), "--optimizer", "sgd"});
  }
};

}  // namespace

TEST_CASE("check --max-leak on the leak sample: 10 MiB leaked at cache_step_statistics") {
  ScratchDir dir("ci-leak");
  std::string trace = dir.path("leak.vstrace");
  run_profiled(trace, {sample("leak"), "--steps", "10", "--leak-bytes", "1MiB"});

  ProcessResult broken = run_vramscope({"check", trace, "--max-leak", "5MiB"});
  CHECK(broken.exit_status == 1);
  CHECK(broken.err.empty());
  CHECK(contains(broken.out,
                 "max_leak    BROKEN  leaked 10.00 MiB (limit 5.00 MiB): cache_step_statistics (leak.cpp:"));
  CHECK(contains(broken.out, "check failed: 1 of 1 budget broken"));

  ProcessResult held = run_vramscope({"check", trace, "--max-leak", "10MiB"});
  CHECK(held.exit_status == 0);
  CHECK(contains(held.out, "max_leak    ok      leaked 10.00 MiB (limit 10.00 MiB)"));

  ProcessResult verdict =
      run_vramscope({"check", trace, "--max-leak=5MiB", "--max-failed", "0", "--json", "-"});
  CHECK(verdict.exit_status == 1);
  json v = json::parse(verdict.out);
  CHECK(v["schema_version"] == 1);
  CHECK(v["passed"] == false);
  REQUIRE(v["budgets"].size() == 2);
  CHECK(v["budgets"][0]["name"] == "max_leak");
  CHECK(v["budgets"][0]["limit"] == 5 * MiB);
  CHECK(v["budgets"][0]["value"] == 10 * MiB);
  CHECK(v["budgets"][0]["passed"] == false);
  CHECK(contains(v["budgets"][0]["site"]["function"], "cache_step_statistics"));
  CHECK(v["budgets"][1]["name"] == "max_failed");
  CHECK(v["budgets"][1]["value"] == 0);
  CHECK(v["budgets"][1]["passed"] == true);
  CHECK(v["budgets"][1]["site"].is_null());
  CHECK(v["traces"].size() == 1);
}

TEST_CASE("check --max-peak on train_mlp: peak 68747264 at allocate_optimizer_state") {
  TrainRuns runs;
  ProcessResult broken = run_vramscope({"check", runs.adam, "--max-peak", "65MiB"});
  CHECK(broken.exit_status == 1);
  CHECK(
      contains(broken.out, "max_peak    BROKEN  peak 65.56 MiB (limit 65.00 MiB): allocate_optimizer_state"));
  ProcessResult held = run_vramscope({"check", runs.adam, "--max-peak", "68747264", "--max-leak", "0"});
  CHECK(held.exit_status == 0);
  CHECK(contains(held.out, "check passed: 2 budgets held"));

  ScratchDir out("ci-verdict");
  ProcessResult to_file =
      run_vramscope({"check", runs.adam, "--max-peak", "65MiB", "--json", out.path("v.json")});
  CHECK(to_file.exit_status == 1);
  CHECK(contains(to_file.out, "BROKEN"));  // the text still goes to the terminal
  ProcessResult read = run_process({"cat", out.path("v.json")});
  json v = json::parse(read.out);
  CHECK(v["budgets"][0]["value"] == 68747264);
  CHECK(v["budgets"][0]["limit"] == 65 * MiB);
}

TEST_CASE("check: usage mistakes are one line and exit 2") {
  TrainRuns runs;
  ProcessResult no_budget = run_vramscope({"check", runs.adam});
  CHECK(no_budget.exit_status == 2);
  CHECK(no_budget.err ==
        "vramscope: check: no budget given (use --max-peak, --max-reserved, --max-leak, --max-growth, "
        "--max-failed or --max-fragmentation)\n");
  ProcessResult bad_size = run_vramscope({"check", runs.adam, "--max-peak", "lots"});
  CHECK(bad_size.exit_status == 2);
  CHECK(bad_size.err == "vramscope: check: bad size 'lots' for --max-peak (examples: 20GiB, 512MiB, 0)\n");
  ProcessResult bad_count = run_vramscope({"check", runs.adam, "--max-failed", "-1"});
  CHECK(bad_count.exit_status == 2);
  CHECK(line_count(bad_count.err) == 1);
  ProcessResult no_trace = run_vramscope({"check", "--max-leak", "0"});
  CHECK(no_trace.exit_status == 2);
  CHECK(line_count(no_trace.err) == 1);
}

TEST_CASE("diff train_mlp SGD against Adam: the optimizer state is the change") {
  TrainRuns runs;
  ProcessResult grew = run_vramscope({"diff", runs.sgd, runs.adam, "--fail-above", "10", "--json", "-"});
  CHECK(grew.exit_status == 1);
  json d = json::parse(grew.out);
  REQUIRE(d["devices"].size() == 1);
  const json& peak = d["devices"][0]["peak_bytes"];
  CHECK(peak["before"] == 35160064);
  CHECK(peak["after"] == 68747264);
  CHECK(peak["change"] == 33587200);
  CHECK(peak["change_percent"].get<double>() == doctest::Approx(95.5266).epsilon(1e-5));
  CHECK(d["leaked_bytes"]["change"] == 0);
  CHECK(d["failed_allocations"]["change"] == 0);
  REQUIRE_FALSE(d["sites"].empty());
  CHECK(contains(d["sites"][0]["function"], "allocate_optimizer_state"));
  CHECK(d["sites"][0]["bytes"]["before"] == 0);
  CHECK(d["sites"][0]["bytes"]["after"] == 33587200);
  CHECK(d["fail_above"]["devices_above"] == json::array({0}));
  const json& device_kind = find_by(d["kinds"], "kind", "device");
  CHECK(device_kind["allocations"]["before"] == 43);
  CHECK(device_kind["allocations"]["after"] == 59);

  ProcessResult shrank = run_vramscope({"diff", runs.adam, runs.sgd, "--fail-above", "10"});
  CHECK(shrank.exit_status == 0);
  CHECK(contains(shrank.out, "device 0 peak    65.56 MiB -> 33.53 MiB (-32.03 MiB, -48.86%)"));
  CHECK(contains(shrank.out, "allocate_optimizer_state"));

  ProcessResult text = run_vramscope({"diff", runs.sgd, runs.adam, "--fail-above", "10"});
  CHECK(text.exit_status == 1);
  CHECK(contains(text.out, "peak of device 0 grew by more than 10%"));
  CHECK(run_vramscope({"diff", runs.sgd, runs.adam, "--fail-above", "96"}).exit_status == 0);
  CHECK(run_vramscope({"diff", runs.sgd, runs.adam}).exit_status == 0);
  ProcessResult one = run_vramscope({"diff", runs.sgd});
  CHECK(one.exit_status == 2);
  CHECK(line_count(one.err) == 1);
}

TEST_CASE("run's summary of a job with ranks gives the command that reports them all") {
  ScratchDir dir("ci-ranks-summary");
  std::string traces = dir.path("job") + "/";
  std::filesystem::create_directories(traces);
  ProcessOptions options;
  options.set_env["S"] = sample("");
  std::vector<std::string> args = {"run", "-o", traces};
  if (!on_real_gpu()) args.push_back("--simulate");
  for (const char* a :
       {"--", "sh", "-c", "RANK=0 \"$S/train_mlp\" & RANK=1 \"$S/train_mlp\" --optimizer sgd & wait"}) {
    args.push_back(a);
  }
  ProcessResult run = run_vramscope(args, options);
  REQUIRE(run.exit_status == 0);
  const std::string lead = "  report of all 3: vramscope report ";
  size_t at = run.err.find(lead);
  REQUIRE(at != std::string::npos);
  std::string suggested = run.err.substr(at + lead.size(), run.err.find('\n', at) - at - lead.size());
  CHECK(contains(suggested, ".*.vstrace"));
  // The suggestion, run by a shell, reports the launcher's trace and both ranks.
  ProcessResult report =
      run_process({"sh", "-c", std::string("\"") + VRAMSCOPE_BIN + "\" report " + suggested});
  INFO("stderr: " << report.err);
  CHECK(report.exit_status == 0);
  CHECK(contains(report.out, "vramscope report: 3 traces"));
  CHECK(contains(report.out, "peak spread: 32.03 MiB (min 33.53 MiB, max 65.56 MiB, max/min 1.96)"));
}

TEST_CASE("run's summary counts the trace of a shell that forked and then exec'd the job, and lists none") {
  // As pyenv's shims: bash runs a command (a fork, which it records) and
  // execs the next program. Its trace is kept, and holds no GPU memory.
  ScratchDir dir("ci-exec-chain");
  ProcessOptions options;
  options.set_env["S"] = sample("");
  std::vector<std::string> args = {"run", "-o", dir.path("job.vstrace")};
  if (!on_real_gpu()) args.push_back("--simulate");
  for (const char* a : {"--", "bash", "-c", "/bin/true; exec \"$S/alloc_loop\" --iterations 10"})
    args.push_back(a);
  ProcessResult run = run_vramscope(args, options);
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_status == 0);
  size_t kept = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.dir()))
    kept += entry.path().extension() == ".vstrace";
  CHECK(kept == 2);
  CHECK(contains(
      run.err,
      "\n  1 more trace, of a process that recorded no GPU memory (a shell, a launcher), not listed\n"
      "  full report: vramscope report " +
          dir.path("job.vstrace") + "\n"));
  CHECK_FALSE(contains(run.err, "from processes the job started"));
}

TEST_CASE("four ranks under one launcher: rank 2 fails first, rank 3 after it") {
  if (on_real_gpu()) return;  // needs simcuda's capacity setting
  ScratchDir dir("ci-ranks");
  std::string traces = dir.path("job") + "/";
  std::filesystem::create_directories(traces);
  // Ranks 0 and 1 train; ranks 2 and 3 run oom one after the other, on 1124 MiB
  // (4 chunks of 256 MiB fit) and 1636 MiB (6 fit).
  ProcessOptions options;
  options.set_env["S"] = sample("");
  std::string launcher =
      "export WORLD_SIZE=4; "
      "RANK=0 \"$S/train_mlp\" & "
      "RANK=1 \"$S/train_mlp\" --optimizer sgd & "
      "(RANK=2 VRAMSCOPE_SIM_CAPACITY=1124MiB \"$S/oom\"; RANK=3 VRAMSCOPE_SIM_CAPACITY=1636MiB \"$S/oom\") "
      "& "
      "wait";
  run_profiled(traces, {"sh", "-c", launcher}, {}, options);

  ProcessResult report = run_vramscope({"report", traces, "--json", "-"});
  INFO("stderr: " << report.err);
  REQUIRE(report.exit_status == 0);
  json r = json::parse(report.out);
  const json& s = r["summary"];
  // The launcher (sh) may leave a trace of its own: no rank, no device memory.
  std::map<int, size_t> index_of_rank;
  for (size_t i = 0; i < s["rows"].size(); ++i) {
    const json& row = s["rows"][i];
    if (row["rank"] == -1) {
      CHECK(row["peak_bytes"] == 0);
      continue;
    }
    index_of_rank[row["rank"].get<int>()] = i;
    CHECK(contains(row["path"], ".rank" + std::to_string(row["rank"].get<int>()) + "."));
    CHECK(r["ranks"][i]["trace"]["rank"] == row["rank"]);
  }
  REQUIRE(index_of_rank.size() == 4);
  CHECK(s["traces"] == r["ranks"].size());
  const std::vector<uint64_t> peaks = {68747264, 35160064, 1024 * MiB, 1536 * MiB};
  const std::vector<uint64_t> failed = {0, 0, 1, 1};
  for (int rank = 0; rank < 4; ++rank) {
    INFO("rank " << rank);
    const json& row = s["rows"][index_of_rank[rank]];
    CHECK(row["peak_bytes"] == peaks[rank]);
    CHECK(row["failed_allocations"] == failed[rank]);
    CHECK(row["leaked_bytes"] == 0);
    CHECK(row["cut_short"] == false);
  }
  // Traces come in name order.
  CHECK(index_of_rank[0] < index_of_rank[1]);
  CHECK(index_of_rank[2] < index_of_rank[3]);
  CHECK(s["peak_min_bytes"] == 35160064);
  CHECK(s["peak_max_bytes"] == 1536 * MiB);
  CHECK(s["peak_spread_bytes"] == 1536 * MiB - 35160064);
  CHECK(s["first_failure"]["rank"] == 2);
  CHECK(s["first_failure"]["trace"] == index_of_rank[2]);
  CHECK(s["first_failure"]["requested_bytes"] == 256 * MiB);
  CHECK(contains(s["first_failure"]["function"], "grow_until_full"));

  ProcessResult text = run_vramscope({"report", traces});
  CHECK(text.exit_status == 0);
  CHECK(contains(text.out, "vramscope report: " + std::to_string(r["ranks"].size()) + " traces"));
  CHECK(contains(text.out, "first out of memory: rank 2 on "));
  CHECK(contains(text.out, "peak spread: 1.47 GiB (min 33.53 MiB, max 1.50 GiB, max/min 45.81)"));

  ProcessResult peak = run_vramscope({"check", traces, "--max-peak", "1GiB", "--max-failed", "0"});
  CHECK(peak.exit_status == 1);
  CHECK(contains(
      peak.out,
      "max_peak    BROKEN  peak 1.50 GiB (limit 1.00 GiB) in rank 3; worst rank 3: grow_until_full"));
  CHECK(contains(peak.out,
                 "max_failed  BROKEN  out-of-memory failures 1 (limit 0) in rank 2, rank 3; worst rank 2: "
                 "grow_until_full"));
  ProcessResult verdict = run_vramscope({"check", traces, "--max-peak", "1GiB", "--json", "-"});
  json v = json::parse(verdict.out);
  CHECK(v["budgets"][0]["broken_by"] == json::array({index_of_rank[3]}));
  CHECK(v["budgets"][0]["worst_trace"] == index_of_rank[3]);
  CHECK(v["traces"][index_of_rank[2]]["passed"] == true);  // 1 GiB exactly holds
  CHECK(run_vramscope({"check", traces, "--max-peak", "2GiB", "--max-leak", "0"}).exit_status == 0);
}

TEST_CASE("several traces: a directory without traces or a missing trace is one line, exit 1") {
  ScratchDir dir("ci-bad");
  std::filesystem::create_directories(dir.path("empty"));
  ProcessResult empty = run_vramscope({"report", dir.path("empty")});
  CHECK(empty.exit_status == 1);
  CHECK(empty.err == "vramscope: no traces (*.vstrace) in " + dir.path("empty") + "\n");
  CHECK(empty.out.empty());

  std::string trace = dir.path("leak.vstrace");
  run_profiled(trace, {sample("leak")});
  ProcessResult missing = run_vramscope({"report", trace, dir.path("gone.vstrace")});
  CHECK(missing.exit_status == 1);
  CHECK(missing.err ==
        "vramscope: cannot open " + dir.path("gone.vstrace") + ": No such file or directory\n");
  CHECK(missing.out.empty());
  ProcessResult check = run_vramscope({"check", trace, dir.path("gone.vstrace"), "--max-leak", "0"});
  CHECK(check.exit_status == 1);
  CHECK(line_count(check.err) == 1);
  CHECK(check.out.empty());
}

TEST_CASE("check --max-growth on the leak sample: 1 MiB per iteration at cache_step_statistics") {
  ScratchDir dir("ci-growth");
  std::string trace = dir.path("leak.vstrace");
  run_profiled(trace, {sample("leak"), "--steps", "10", "--leak-bytes", "1MiB"});

  ProcessResult broken = run_vramscope({"check", trace, "--max-growth", "512KiB"});
  CHECK(broken.exit_status == 1);
  CHECK(contains(broken.out,
                 "max_growth  BROKEN  growth 1.00 MiB per iteration (limit 512.00 KiB): "
                 "cache_step_statistics (leak.cpp:"));
  ProcessResult held = run_vramscope({"check", trace, "--max-growth", "1MiB", "--json", "-"});
  CHECK(held.exit_status == 0);
  json v = json::parse(held.out);
  CHECK(v["budgets"][0]["name"] == "max_growth");
  CHECK(v["budgets"][0]["value"] == MiB);
  CHECK(v["budgets"][0]["passed"] == true);
  CHECK(contains(v["budgets"][0]["site"]["function"], "cache_step_statistics"));
}

TEST_CASE("check on train_mlp in a caching allocator: blocks peak 68747264, segments 85983232") {
  ScratchDir dir("ci-caching");
  std::string trace = dir.path("caching.vstrace");
  run_profiled(trace, {sample("train_mlp"), "--allocator", "caching"});

  ProcessResult held = run_vramscope({"check", trace, "--max-peak", "68747264"});
  CHECK(held.exit_status == 0);
  ProcessResult both =
      run_vramscope({"check", trace, "--max-peak", "68747264", "--max-reserved", "80MiB", "--json", "-"});
  CHECK(both.exit_status == 1);
  json v = json::parse(both.out);
  REQUIRE(v["budgets"].size() == 2);
  CHECK(v["budgets"][0]["name"] == "max_peak");
  CHECK(v["budgets"][0]["value"] == 68747264);
  CHECK(v["budgets"][0]["passed"] == true);
  CHECK(v["budgets"][0]["site"].is_null());  // the sites at the device peak are segments
  CHECK(v["budgets"][1]["name"] == "max_reserved");
  CHECK(contains(v["budgets"][1]["site"]["function"], "new_segment"));
  CHECK(v["budgets"][1]["value"] == 85983232);
  CHECK(v["budgets"][1]["limit"] == 80 * MiB);
  CHECK(v["budgets"][1]["passed"] == false);
  CHECK(v["budgets"][1]["broken_by"] == json::array({0}));
  ProcessResult text = run_vramscope({"check", trace, "--max-reserved", "80MiB"});
  CHECK(text.exit_status == 1);
  CHECK(contains(text.out, "max_reserved BROKEN  reserved 82.00 MiB (limit 80.00 MiB)"));
}

TEST_CASE("check --max-fragmentation on caching_allocator fragment: worst 0.8") {
  if (on_real_gpu()) return;  // needs simcuda's capacity setting
  ScratchDir dir("ci-fragment");
  std::string trace = dir.path("fragment.vstrace");
  run_profiled(trace, {sample("caching_allocator"), "--workload", "fragment"}, {"--simulate=40MiB"});
  json report = report_json(trace);
  uint64_t worst_ns = report["devices"][0]["fragmentation"]["worst"]["time_ns"];

  ProcessResult broken = run_vramscope({"check", trace, "--max-fragmentation", "0.5", "--json", "-"});
  CHECK(broken.exit_status == 1);
  json v = json::parse(broken.out);
  CHECK(v["budgets"][0]["name"] == "max_fragmentation");
  CHECK(v["budgets"][0]["limit"] == 0.5);
  CHECK(v["budgets"][0]["value"].get<double>() == doctest::Approx(0.8));  // 1 - 4 MiB / 20 MiB
  CHECK(v["budgets"][0]["at"]["device"] == 0);
  CHECK(v["budgets"][0]["at"]["time_ns"] == worst_ns);
  CHECK(v["budgets"][0]["site"].is_null());
  ProcessResult text = run_vramscope({"check", trace, "--max-fragmentation", "0.5"});
  CHECK(contains(text.out, "max_fragmentation BROKEN  fragmentation 0.80 (limit 0.50): device 0 at "));

  CHECK(run_vramscope({"check", trace, "--max-fragmentation", "0.8"}).exit_status == 0);
  ProcessResult bad = run_vramscope({"check", trace, "--max-fragmentation", "80%"});
  CHECK(bad.exit_status == 2);
  CHECK(bad.err ==
        "vramscope: check: --max-fragmentation wants a number from 0 to 1 such as 0.5, not '80%'\n");
}

TEST_CASE("diff train_mlp SGD against Adam: optimizer state 0 -> 33587200 among the categories") {
  TrainRuns runs;
  ProcessResult grew = run_vramscope({"diff", runs.sgd, runs.adam, "--json", "-"});
  CHECK(grew.exit_status == 0);
  json d = json::parse(grew.out);
  const json& state = find_by(d["categories"], "category", "optimizer state");
  CHECK(state["peak_bytes"]["before"] == 0);
  CHECK(state["peak_bytes"]["after"] == 33587200);
  CHECK(state["peak_bytes"]["change_percent"].is_null());
  ProcessResult text = run_vramscope({"diff", runs.sgd, runs.adam});
  CHECK(contains(text.out, "Categories, peak (A -> B)\n"));
  CHECK(contains(text.out, "  optimizer state            0 B -> 32.03 MiB (+32.03 MiB, new)\n"));
}
