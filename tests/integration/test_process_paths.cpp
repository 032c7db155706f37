// The job's life under the injector: forks, every way out, SIGKILL.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

std::vector<std::string> other_traces(const std::string& dir, const std::string& main_trace) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().string() != main_trace && entry.path().extension() == ".vstrace") {
      found.push_back(entry.path().string());
    }
  }
  return found;
}

}  // namespace

TEST_CASE("fork: the child writes its own trace, the parent records the fork") {
  ScratchDir dir("fork");
  std::string trace = dir.path("t.vstrace");
  std::vector<std::string> command = {sample("fork")};
  ProcessResult run = run_profiled(trace, command);
  ProcessResult plain = run_plain(command);
  CHECK(run.out == plain.out);
  json parent = report_json(trace);
  CHECK(parent["counts"]["allocations"] == 2);
  CHECK(parent["counts"]["frees"] == 2);
  CHECK(parent["devices"][0]["peak"]["bytes"] == 32 * MiB);
  REQUIRE(parent["forks"].size() == 1);
  uint32_t child_pid = parent["forks"][0]["child_pid"];

  std::vector<std::string> children = other_traces(dir.dir(), trace);
  REQUIRE(children.size() == 1);
  CHECK(children[0].find("." + std::to_string(child_pid) + ".vstrace") != std::string::npos);
  json child = report_json(children[0]);
  CHECK(child["trace"]["pid"] == child_pid);
  CHECK(child["trace"]["parent_pid"] == parent["trace"]["pid"]);
  CHECK(child["counts"]["allocations"] == 3);
  CHECK(child["counts"]["frees"] == 2);
  CHECK(child["leaks"]["bytes"] == 8 * MiB);
  CHECK(child["trace"]["end"]["reason"] == "exit");
}

TEST_CASE("every way out of the job leaves an end record with its status") {
  ScratchDir dir("exits");
  struct Case {
    std::string how;
    int status;       // as `vramscope run` returns it
    std::string reason;
    int code;
  };
  for (const Case& c :
       {Case{"return", 5, "exit", 5}, Case{"exit", 3, "exit", 3}, Case{"_exit", 4, "exit", 4},
        Case{"abort", 128 + SIGABRT, "abort", SIGABRT}, Case{"segv", 128 + SIGSEGV, "signal", SIGSEGV},
        // A stack overflow: the handler runs on the alternate stack the injector gave the thread.
        Case{"overflow", 128 + SIGSEGV, "signal", SIGSEGV},
        Case{"overflow-thread", 128 + SIGSEGV, "signal", SIGSEGV},
        Case{"term", 128 + SIGTERM, "signal", SIGTERM},
        // An uncaught exception: std::terminate aborts.
        Case{"throw", 128 + SIGABRT, "abort", SIGABRT}}) {
    CAPTURE(c.how);
    std::string trace = dir.path(c.how + ".vstrace");
    std::vector<std::string> args = {"run", "-q", "-o", trace, "--", VRAMSCOPE_EXIT_PATHS, c.how};
    if (!on_real_gpu()) args.insert(args.begin() + 2, "--simulate");
    ProcessResult run = run_vramscope(args);
    CHECK(run.exit_status == c.status);
    json r = report_json(trace);
    CHECK(r["counts"]["allocations"] == 3);
    CHECK(r["leaks"]["bytes"] == 3 * MiB);
    REQUIRE(r["trace"]["end"].is_object());
    CHECK(r["trace"]["end"]["reason"] == c.reason);
    CHECK(r["trace"]["end"]["code"] == c.code);
    CHECK(r["trace"]["cut_short"] == false);
  }
}

namespace {

struct Killed {
  long completed = 0;  // allocations the job said had returned before the kill
  json report;
};

// Runs `exit_paths loop` under the profiler and kills it with SIGKILL once
// `after` allocations have returned.
Killed kill_after(const std::string& trace, long after) {
  Killed k;
  int out_pipe[2];
  REQUIRE(pipe(out_pipe) == 0);
  pid_t runner = fork();
  REQUIRE(runner >= 0);
  if (runner == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    close(out_pipe[0]);
    const char* device = on_real_gpu() ? "-q" : "--simulate";
    execl(VRAMSCOPE_BIN, VRAMSCOPE_BIN, "run", "-q", device, "-o", trace.c_str(), "--", VRAMSCOPE_EXIT_PATHS, "loop",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out_pipe[1]);
  FILE* out = fdopen(out_pipe[0], "r");
  REQUIRE(out != nullptr);
  int job = 0;
  REQUIRE(std::fscanf(out, "pid %d", &job) == 1);
  long value = 0;
  while (k.completed < after && std::fscanf(out, "%ld", &value) == 1) k.completed = value;
  REQUIRE(kill(job, SIGKILL) == 0);
  // Lines already in the pipe are allocations that returned before the kill too.
  while (std::fscanf(out, "%ld", &value) == 1) k.completed = value;
  std::fclose(out);
  int status = 0;
  waitpid(runner, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGKILL);
  k.report = report_json(trace);
  return k;
}

// Every allocation that returned is in the trace, at most the one in flight
// is extra, and the trace says it was cut short.
void check_killed(const Killed& k) {
  CHECK(k.report["trace"]["cut_short"] == true);
  CHECK(k.report["trace"]["end"].is_null());
  CHECK(k.report["counts"]["allocations"].get<long>() >= k.completed);
  CHECK(k.report["counts"]["allocations"].get<long>() <= k.completed + 1);
}

}  // namespace

TEST_CASE("a job killed with SIGKILL leaves a trace with every allocation it had completed") {
  ScratchDir dir("kill");
  check_killed(kill_after(dir.path("t.vstrace"), 20000));
}

TEST_CASE("SIGKILL at 50 points of a run: every completed event reads back, no corrupt record is accepted") {
  ScratchDir dir("kill-50");
  std::mt19937 random(20261205);  // the same 50 points on every run
  std::uniform_int_distribution<long> point(3, 6000);
  for (int i = 0; i < 50; ++i) {
    const long after = point(random);
    CAPTURE(after);
    const std::string trace = dir.path("t" + std::to_string(i) + ".vstrace");
    check_killed(kill_after(trace, after));  // report_json fails the test on a trace it refuses
  }
}

TEST_CASE("--stacks none records the same events without call stacks") {
  ScratchDir dir("nostacks");
  run_profiled(dir.path("t.vstrace"), {sample("leak")}, {"--stacks", "none"});
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 20);
  CHECK(r["leaks"]["bytes"] == 10 * MiB);
  REQUIRE(r["leaks"]["groups"].size() == 1);
  CHECK(r["leaks"]["groups"][0]["function"] == "<no stack>");
}

TEST_CASE("vramscope run passes the job's arguments, output and exit status through") {
  ScratchDir dir("status");
  ProcessResult run =
      run_vramscope({"run", "-q", "--simulate", "-o", dir.path("t.vstrace"), "--", "sh", "-c", "echo hello; exit 7"});
  CHECK(run.exit_status == 7);
  CHECK(run.out == "hello\n");
}

TEST_CASE("the job's own dlsym lookups keep their meaning under the injector") {
  ScratchDir dir("dlsym-next");
  ProcessResult run = run_profiled(dir.path("t.vstrace"), {VRAMSCOPE_EXIT_PATHS, "dlsym"});
  CHECK(run.out == "RTLD_NEXT finds the first exit(): yes\n");
  CHECK(run_plain({VRAMSCOPE_EXIT_PATHS, "dlsym"}).out == run.out);
}

TEST_CASE("processes that only fork, never touching GPU memory, leave no trace") {
  ScratchDir dir("only-forks");
  // The job's own shell is the main process (its trace is made at start); the
  // inner shell it starts forks for `true` and touches no GPU memory. Before,
  // that fork alone made a trace (a pyenv shim left 22 of them).
  ProcessResult run = run_vramscope({"run", "-q", "--simulate", "-o", dir.dir() + "/", "--", "/bin/sh", "-c",
                                     "/bin/sh -c 'true & wait'; true"});
  REQUIRE(run.exit_status == 0);
  size_t traces = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.dir()))
    traces += entry.path().extension() == ".vstrace";
  CHECK(traces == 1);
}
