// What keeps a job's data and a job itself safe from other users of the
// machine (issue 7, "Security"): traces readable by their owner only, and no
// preloading of code that another user could have replaced; and its
// behaviour under load and among forking workers.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// The injector preloaded without `vramscope run`, on simcuda, the job
// started in `dir` with the relative trace name t.vstrace.
ProcessOptions preloaded_by_hand(const ScratchDir& dir) {
  ProcessOptions options;
  options.working_directory = dir.dir();
  options.mark_main_process = true;
  options.set_env["LD_PRELOAD"] =
      (fs::path(VRAMSCOPE_BIN).parent_path().parent_path() / "lib" / "vramscope" / "libvramscope_inject.so")
          .string();
  options.set_env["LD_LIBRARY_PATH"] = VRAMSCOPE_SIMCUDA_DIR;
  options.set_env["VRAMSCOPE_OUTPUT"] = "t.vstrace";
  return options;
}

// The trace beside t.vstrace in `dir`, which must be the only other one,
// named by the pid of a child of the process that wrote `parent`.
std::string child_trace(const ScratchDir& dir, const json& parent) {
  std::vector<std::string> others;
  for (const auto& entry : fs::directory_iterator(dir.dir())) {
    if (entry.path() != dir.path("t.vstrace")) others.push_back(entry.path().string());
  }
  REQUIRE(others.size() == 1);
  json child = report_json(others[0]);
  const uint32_t child_pid = child["trace"]["pid"];
  CHECK(child_pid != parent["trace"]["pid"]);
  CHECK(others[0].ends_with("." + std::to_string(child_pid) + ".vstrace"));
  CHECK(child["trace"]["parent_pid"] == parent["trace"]["pid"]);
  return others[0];
}

}  // namespace

TEST_CASE("traces are readable by their owner only, whatever the umask") {
  ScratchDir dir("owner-only");
  ProcessResult run =
      run_process({"/bin/sh", "-c", "umask 0 && exec \"$0\" run -q --simulate -o \"$1\" -- \"$2\"",
                   VRAMSCOPE_BIN, dir.path("t.vstrace"), sample("leak")});
  REQUIRE(run.exit_status == 0);
  CHECK(mode_of(dir.path("t.vstrace")) == 0600);
  // A trace written from another file (import) likewise.
  ProcessResult imported =
      run_vramscope({"import",
                     std::string(VRAMSCOPE_TEST_DATA_DIR) +
                         "/interop/pytorch-snapshots/cs336_bcrafton_memory_snapshot.pickle",
                     "-o", dir.path("i.vstrace")});
  REQUIRE(imported.exit_status == 0);
  CHECK(mode_of(dir.path("i.vstrace")) == 0600);
}

TEST_CASE("names from a trace reach the terminal with what would act on it escaped") {
  // A program whose file name holds terminal commands: ESC ] 0 ; ... BEL
  // sets the window's title, and U+009B (the C1 form of ESC [) then 2J
  // clears the screen. The text report shows their bytes as \xHH; the JSON
  // keeps the name as it is.
  ScratchDir dir("terminal-names");
  const std::string program =
      "./leak\x1b]0;owned\x07\xc2\x9b"
      "2J";
  fs::copy_file(sample("leak"), dir.path(program));
  const std::string trace = dir.path("t.vstrace");
  ProcessOptions in_dir;
  in_dir.working_directory = dir.dir();
  run_profiled(trace, {program}, {}, in_dir);
  const ProcessResult report = run_vramscope({"report", trace});
  REQUIRE(report.exit_status == 0);
  CHECK(report.out.find("  program   ./leak\\x1b]0;owned\\x07\\xc2\\x9b2J\n") != std::string::npos);
  CHECK(report.out.find('\x1b') == std::string::npos);
  CHECK(report.out.find('\x07') == std::string::npos);
  CHECK(report.out.find("\xc2\x9b") == std::string::npos);
  CHECK(report_json(trace)["trace"]["command_line"] == json::array({program}));
}

TEST_CASE("run's summary passes every line through the same escaping as the reports") {
  // The trace's own path is the one field of the summary a test can fill
  // with terminal commands on simcuda; it goes through the same pass as
  // the device names and sites.
  ScratchDir dir("terminal-summary");
  const std::string trace = dir.path("t\x1b]0;owned\x07.vstrace");
  std::vector<std::string> args = {"run", "-o", trace};
  if (!on_real_gpu()) args.push_back("--simulate");
  args.insert(args.end(), {"--", sample("leak")});
  const ProcessResult run = run_vramscope(args);
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_status == 0);
  const std::string shown = dir.path("t\\x1b]0;owned\\x07.vstrace");
  CHECK(run.err.find("vramscope: trace written to " + shown + " (") != std::string::npos);
  CHECK(run.err.find("  full report: vramscope report " + shown + "\n") != std::string::npos);
  CHECK(run.err.find('\x1b') == std::string::npos);
  CHECK(run.err.find('\x07') == std::string::npos);
}

TEST_CASE("a newline or tab in a name stays on its line in every text output") {
  // A program and a trace whose names hold a newline and a tab, which
  // terminal_text lets through: each text output shows them as \x0a and
  // \x09, so that no name starts a line that reads like the output's own.
  // The JSON keeps the name as it is.
  ScratchDir dir("one-line-names");
  const std::string program = "./leak\nlive at exit: nothing\tok";
  fs::copy_file(sample("leak"), dir.path(program));
  const std::string trace = dir.path("t\nPASS.vstrace");
  const std::string shown = dir.path("t\\x0aPASS.vstrace");
  ProcessOptions in_dir;
  in_dir.working_directory = dir.dir();
  std::vector<std::string> args = {"run", "-o", trace};
  if (!on_real_gpu()) args.push_back("--simulate");
  args.insert(args.end(), {"--", program});
  const ProcessResult run = run_vramscope(args, in_dir);
  INFO("stderr: " << run.err);
  REQUIRE(run.exit_status == 0);
  CHECK(run.err.find("vramscope: trace written to " + shown + " (") != std::string::npos);
  CHECK(run.err.find("  full report: vramscope report " + shown + "\n") != std::string::npos);

  const ProcessResult report = run_vramscope({"report", trace});
  REQUIRE(report.exit_status == 0);
  CHECK(report.out.starts_with("vramscope report: " + shown + "\n"));
  CHECK(report.out.find("  program   ./leak\\x0alive at exit: nothing\\x09ok\n") != std::string::npos);
  CHECK(report.out.find("\nlive at exit: nothing") == std::string::npos);
  CHECK(report.out.find('\t') == std::string::npos);
  CHECK(run_vramscope({"timeline", trace}).out.starts_with("vramscope timeline: " + shown + "\n"));
  CHECK(run_vramscope({"check", trace, "--max-peak", "1GiB"})
            .out.starts_with("vramscope check: " + shown + "\n"));
  CHECK(run_vramscope({"diff", trace, trace})
            .out.starts_with("vramscope diff: " + shown + " -> " + shown + "\n"));
  CHECK(run_vramscope({"replay", trace}).out.starts_with("vramscope replay: " + shown + ", device 0"));
  CHECK(report_json(trace)["trace"]["command_line"] == json::array({program}));
}

TEST_CASE("run refuses to load vramscope from where another user could replace it") {
  ScratchDir dir("preload-from");
  // An installation of our own: bin/vramscope and lib/vramscope beside it.
  const fs::path root = dir.path("install");
  const fs::path lib = root / "lib" / "vramscope";
  fs::create_directories(root / "bin");
  fs::create_directories(lib / "python");
  fs::copy_file(VRAMSCOPE_BIN, root / "bin" / "vramscope");
  const fs::path built = fs::path(VRAMSCOPE_BIN).parent_path().parent_path() / "lib" / "vramscope";
  fs::copy_file(built / "libvramscope_inject.so", lib / "libvramscope_inject.so");
  for (const char* hook : {"sitecustomize.py", "vramscope_frameworks.py"})
    fs::copy_file(built / "python" / hook, lib / "python" / hook);
  fs::copy(built / "simcuda", lib / "simcuda", fs::copy_options::recursive);
  const std::string vramscope = (root / "bin" / "vramscope").string();
  const std::vector<std::string> job = {"run", "-q",       "--simulate", "-o", dir.path("t.vstrace"),
                                        "--",  "/bin/true"};
  auto run_installed = [&] {
    std::vector<std::string> argv = {vramscope};
    argv.insert(argv.end(), job.begin(), job.end());
    return run_process(argv);
  };

  fs::permissions(lib, fs::perms::all);  // 0777: anyone could swap the injector
  ProcessResult open_folder = run_installed();
  CHECK(open_folder.exit_status == 1);
  CHECK(open_folder.err == "vramscope: refusing to load vramscope into the job: " + lib.string() +
                               " is writable by other users\n");
  CHECK_FALSE(fs::exists(dir.path("t.vstrace")));  // the job never started

  fs::permissions(lib, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(lib / "python" / "sitecustomize.py", fs::perms::others_write, fs::perm_options::add);
  ProcessResult open_hook = run_installed();
  CHECK(open_hook.exit_status == 1);
  CHECK(open_hook.err == "vramscope: refusing to load vramscope into the job: " +
                             (lib / "python" / "sitecustomize.py").string() +
                             " is writable by other users\n");

  // Folders open to all but sticky (/tmp) are safe: no one else can replace what is in them.
  fs::permissions(lib / "python" / "sitecustomize.py", fs::perms::others_write, fs::perm_options::remove);
  ProcessResult safe = run_installed();
  CHECK(safe.err.find("refusing") == std::string::npos);
  CHECK(safe.exit_status == 0);
}

namespace {

// A file system of `size` mounted at `path` for one test (tmpfs; needs root).
class SmallDisk {
 public:
  SmallDisk(const std::string& path, const std::string& size) : path_(path) {
    fs::create_directories(path);
    mounted_ = run_process({"mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", path}).exit_status == 0;
  }
  ~SmallDisk() {
    if (mounted_) run_process({"umount", path_});
  }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

}  // namespace

TEST_CASE("a disk that fills up mid-run: the job runs on unharmed, the trace says it lost events") {
  ScratchDir dir("disk-full");
  SmallDisk disk(dir.path("disk"), "1m");
  if (!disk.mounted()) {
    MESSAGE("cannot mount a tmpfs here (needs root): the full-disk check is skipped");
    return;
  }
  const std::string trace = dir.path("disk") + "/t.vstrace";
  std::vector<std::string> command = {sample("alloc_loop"), "--iterations", "300000"};
  std::vector<std::string> args = {"run", "-q", "--simulate", "-o", trace, "--"};
  args.insert(args.end(), command.begin(), command.end());
  ProcessResult run = run_vramscope(args);
  // Before: a page of the trace's mapping with no disk block behind it killed the job with SIGBUS.
  CHECK(run.exit_status == 0);
  CHECK(run.out == "alloc_loop: 300000 iterations\n");
  CHECK(run.err == "vramscope: no space left for the trace " + trace +
                       ": events from now on are not recorded; the job goes on\n");
  json r = report_json(trace);
  CHECK(r["trace"]["cut_short"] == true);
  CHECK(r["trace"]["cut_short_reason"] ==
        "the file holds 15 of its 16 chunks: the disk filled up while it was written, or the file was cut "
        "since");
  CHECK(r["trace"]["end"]["reason"] == "exit");
  CHECK(r["counts"]["allocations"].get<uint64_t>() > 100000);
  CHECK(r["counts"]["allocations"].get<uint64_t>() < 300000);
}

TEST_CASE("a job that closes every descriptor keeps its own files whole, and its trace every event") {
  ScratchDir dir("close-fds");
  std::vector<std::string> args = {
      "run", "-q", "-o", dir.path("t.vstrace"), "--", VRAMSCOPE_EXIT_PATHS, "closefds", dir.path("own.txt")};
  if (!on_real_gpu()) args.insert(args.begin() + 2, "--simulate");
  ProcessResult run = run_vramscope(args);
  INFO("stderr: " << run.err);
  // Before: the trace grew through the job's own file, which took the trace's descriptor number.
  CHECK(run.exit_status == 0);
  CHECK(run.out == "own file intact: yes\n");
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 3 + 20000);
  CHECK(r["counts"]["frees"] == 20000);
  CHECK(r["trace"]["cut_short"] == false);
  CHECK(r["trace"]["end"]["reason"] == "exit");
}

TEST_CASE("a relative VRAMSCOPE_OUTPUT means the directory the job started in, even after it moves") {
  if (on_real_gpu()) return;  // preloaded by hand on simcuda
  ScratchDir dir("chdir");
  const ProcessOptions options = preloaded_by_hand(dir);
  ProcessResult run = run_process({VRAMSCOPE_EXIT_PATHS, "chdir-fork"}, options);
  REQUIRE(run.exit_status == 0);
  // The child opened its trace after the chdir to /: still beside the parent's.
  size_t traces = 0;
  for (const auto& entry : fs::directory_iterator(dir.dir()))
    traces += entry.path().extension() == ".vstrace";
  CHECK(traces == 2);
  json r = report_json(dir.dir());
  REQUIRE(r["ranks"].is_array());
  CHECK(r["ranks"].size() == 2);
}

TEST_CASE("a child forked without fork handlers neither ends nor writes the parent's trace") {
  // The fork system call called directly runs no pthread_atfork handler: the
  // child holds a copy of the parent's trace state when its destructors run.
  // Before the owner check, its exit wrote an end record (exit, 7) into the
  // parent's trace, and a parent killed later read as having exited.
  if (on_real_gpu()) return;  // preloaded by hand on simcuda
  ScratchDir dir("raw-fork");
  const ProcessOptions options = preloaded_by_hand(dir);
  ProcessResult run = run_process({VRAMSCOPE_EXIT_PATHS, "raw-fork"}, options);
  CHECK(run.out == "child exited 7\n");
  CHECK(run.signal == SIGKILL);
  size_t traces = 0;
  for (const auto& entry : fs::directory_iterator(dir.dir()))
    traces += entry.path().extension() == ".vstrace";
  CHECK(traces == 1);  // the child recorded nothing: no trace of its own
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 5);
  CHECK(r["trace"]["cut_short"] == true);
  CHECK(r["trace"]["end"].is_null());
}

TEST_CASE("a child of the fork system call that records writes a trace of its own") {
  // No fork handler runs in such a child, but the page the kernel wipes in
  // every child tells it that it was forked. Before, its allocation went into
  // the chunk its parent's thread was writing, through the shared mapping.
  if (on_real_gpu()) return;  // preloaded by hand on simcuda
  ScratchDir dir("raw-fork-records");
  const ProcessOptions options = preloaded_by_hand(dir);
  ProcessResult run = run_process({VRAMSCOPE_EXIT_PATHS, "raw-fork-records"}, options);
  CHECK(run.out == "child exited 7\n");
  CHECK(run.exit_status == 5);
  json parent = report_json(dir.path("t.vstrace"));
  CHECK(parent["counts"]["allocations"] == 5);
  CHECK(kind(parent, "device")["allocated_bytes"] == 5 * MiB);
  CHECK(parent["trace"]["cut_short"] == false);
  CHECK(parent["trace"]["end"]["code"] == 5);
  json child = report_json(child_trace(dir, parent));
  CHECK(child["counts"]["allocations"] == 1);
  CHECK(kind(child, "device")["allocated_bytes"] == 2 * MiB);
  CHECK(child["trace"]["end"]["reason"] == "exit");
  CHECK(child["trace"]["end"]["code"] == 7);
}

TEST_CASE("a signal handler that records while its thread sets up the trace does not wait for that setup") {
  // In a child of the fork system call, the first allocation starts the
  // child's generation (unmapping the parent's stack table) and opens its
  // trace (sizing the file). exit_paths' own munmap and ftruncate send a
  // signal there, whose handler marks an NVTX tick. Before, that mark waited
  // for the setup its own thread was in (a spin, or the lock the trace opens
  // under): the child hung, every time.
  if (on_real_gpu()) return;  // preloaded by hand on simcuda
  ScratchDir dir("raw-fork-signals");
  ProcessOptions options = preloaded_by_hand(dir);
  options.set_env["NVTX_INJECTION64_PATH"] = options.set_env["LD_PRELOAD"];
  options.timeout_seconds = 30;
  ProcessResult run = run_process({VRAMSCOPE_EXIT_PATHS, "raw-fork-signals"}, options);
  REQUIRE_FALSE(run.timed_out);
  CHECK(run.exit_status == 5);
  int in_munmap = -1;
  int in_ftruncate = -1;
  int ticks = -1;
  REQUIRE(std::sscanf(run.out.c_str(), "child: %d signals in munmap, %d in ftruncate, %d ticks", &in_munmap,
                      &in_ftruncate, &ticks) == 3);
  CHECK(run.out.ends_with(" ticks\nchild exited 7\n"));
  CHECK(in_munmap >= 1);
  CHECK(in_ftruncate >= 1);
  CHECK(ticks == in_munmap + in_ftruncate);  // every handler ran, and returned
  json parent = report_json(dir.path("t.vstrace"));
  CHECK(parent["counts"]["allocations"] == 5);
  CHECK(parent["counts"]["markers"] == 1);
  CHECK(parent["trace"]["end"]["code"] == 5);
  json child = report_json(child_trace(dir, parent));
  CHECK(child["counts"]["allocations"] == 1);
  CHECK(kind(child, "device")["allocated_bytes"] == 2 * MiB);
  // Each tick came while its thread set up or recorded: none is in the trace.
  CHECK(child["counts"]["markers"] == 0);
  CHECK(child["trace"]["end"]["reason"] == "exit");
  CHECK(child["trace"]["end"]["code"] == 7);
}

TEST_CASE("a call on the trace's file that a signal interrupts (EINTR) is made again: no event lost") {
  // exit_paths eintr: every other ftruncate and posix_fallocate fails with
  // EINTR, as when the job catches a signal without SA_RESTART (tmpfs's
  // fallocate stops at any pending signal). Before, the interrupted ftruncate
  // at the trace's opening left the job with no trace, and an interrupted
  // fallocate lost the event that was growing the file.
  if (on_real_gpu()) return;  // the counts below are simcuda's events
  ScratchDir dir("eintr");
  ProcessOptions options;
  options.set_env["EXIT_PATHS_EINTR"] = "1";
  ProcessResult run = run_profiled(dir.path("t.vstrace"), {VRAMSCOPE_EXIT_PATHS, "eintr"}, {}, options);
  REQUIRE(run.exit_status == 0);
  // The trace's opening sizes the file once and allocates its first 1 MiB;
  // 300,000 allocations and frees grow it twice more; the exit trims it.
  CHECK(run.out == "interrupted 1 of 2 calls of ftruncate, 3 of 6 of posix_fallocate\n");
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 300003);
  CHECK(r["counts"]["frees"] == 300000);
  CHECK(r["trace"]["cut_short"] == false);
  CHECK(r["trace"]["end"]["code"] == 0);
}

TEST_CASE("32 threads allocating and freeing at once: every event, exact totals") {
  // The short form; VRAMSCOPE_LONG_TESTS=1 (scripts/reliability.sh) runs 1 M
  // events a thread. Before, a free stamped before the driver's call and
  // written to a chunk claimed after it took the claim's time, and a few in a
  // million came after another thread's reuse of their address.
  const bool long_form = std::getenv("VRAMSCOPE_LONG_TESTS") != nullptr;
  const uint64_t iterations = long_form ? 500000 : 20000;
  ScratchDir dir("load");
  std::vector<std::string> command = {sample("threads"), "--threads", "32", "--iterations",
                                      std::to_string(iterations)};
  ProcessResult run = run_profiled(dir.path("t.vstrace"), command);
  check_output_unchanged(command, run);
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["counts"]["allocations"] == 32 * iterations);
  CHECK(r["counts"]["frees"] == 32 * iterations);
  CHECK(r["counts"]["unmatched_frees"] == 0);
  CHECK(r["counts"]["missing_frees"] == 0);
  CHECK(r["leaks"]["bytes"] == 0);
  // Thread t allocates (t + 1) MiB each time: 528 MiB per iteration in all.
  CHECK(kind(r, "device")["allocated_bytes"] == iterations * 528 * MiB);
  CHECK(r["trace"]["cut_short"] == false);
}

TEST_CASE(
    "workers forked while the parent's threads allocate, some exec'd: no deadlock, each trace its own") {
  // The short form; VRAMSCOPE_LONG_TESTS=1 (scripts/reliability.sh) runs it
  // 100 times. Each run is killed after 60 s: a deadlock fails the test.
  const int runs = std::getenv("VRAMSCOPE_LONG_TESTS") ? 100 : 5;
  const std::vector<std::string> command = {sample("fork_workers")};
  const ProcessResult plain = run_plain(command);
  REQUIRE(plain.exit_status == 0);
  for (int run = 0; run < runs; ++run) {
    CAPTURE(run);
    ScratchDir dir("fork-workers");
    const std::string trace = dir.path("t.vstrace");
    ProcessOptions options;
    options.timeout_seconds = 60;
    ProcessResult profiled = run_profiled(trace, command, {}, options);
    REQUIRE_FALSE(profiled.timed_out);
    CHECK(profiled.out == plain.out);

    // The parent: its 4 threads' 2,000 allocations each, the 8 forks, its own end.
    json parent = report_json(trace);
    CHECK(parent["counts"]["allocations"] == 8000);
    CHECK(parent["counts"]["frees"] == 8000);
    CHECK(parent["counts"]["unmatched_frees"] == 0);
    CHECK(parent["forks"].size() == 8);
    CHECK(parent["trace"]["end"]["reason"] == "exit");
    CHECK(parent["trace"]["end"]["code"] == 0);
    CHECK(parent["trace"]["cut_short"] == false);
    // Threads 0 to 3 allocate 1 to 4 MiB, 2,000 times each.
    CHECK(kind(parent, "device")["allocated_bytes"] == 2000 * 10 * MiB);

    // Workers 2, 4, 6 and 8 exec'd: a trace each, named and headed by its own
    // pid. The host-only workers leave none.
    std::set<uint32_t> forked;
    for (const json& f : parent["forks"]) forked.insert(f["child_pid"].get<uint32_t>());
    std::set<uint32_t> pids;
    for (const auto& entry : fs::directory_iterator(dir.dir())) {
      const std::string path = entry.path().string();
      if (path == trace) continue;
      json worker = report_json(path);
      const uint32_t pid = worker["trace"]["pid"];
      CHECK(path.ends_with("." + std::to_string(pid) + ".vstrace"));
      CHECK(worker["trace"]["parent_pid"] == parent["trace"]["pid"]);
      CHECK(forked.count(pid) == 1);
      CHECK(worker["counts"]["allocations"] == 4);
      CHECK(worker["counts"]["frees"] == 3);
      CHECK(worker["leaks"]["bytes"] == 2 * MiB);
      CHECK(worker["trace"]["end"]["reason"] == "exit");
      pids.insert(pid);
    }
    CHECK(pids.size() == 4);
  }
}

TEST_CASE("every sample prints the same and ends the same with the injector as without it") {
  // The native samples at their defaults, and the Python ones on simtorch
  // (train_torch.py needs the real PyTorch: the GPU suite, tests/gpu/run.sh,
  // runs it). The load test above compares the 32-thread run's output too.
  const std::string source = VRAMSCOPE_SOURCE_DIR;
  struct Job {
    std::vector<std::string> command;
    bool simtorch = false;
  };
  std::vector<Job> jobs;
  // The list CMake builds the samples from.
  std::ifstream list(source + "/samples/native_samples.txt");
  REQUIRE(list.is_open());
  for (std::string name; std::getline(list, name);) {
    if (!name.empty() && name[0] != '#') jobs.push_back({{sample(name)}});
  }
  REQUIRE_FALSE(jobs.empty());
  for (const char* script : {"torch_leak_oom.py", "ctypes_alloc.py"})
    jobs.push_back({{python(), source + "/samples/" + script}, true});

  for (const Job& job : jobs) {
    CAPTURE(job.command.back());
    ScratchDir dir("same-output");
    ProcessOptions options;
    if (job.simtorch) options.set_env["PYTHONPATH"] = source + "/samples/simtorch";
    options.timeout_seconds = 120;  // a job that hangs fails the test, not the whole suite
    ProcessResult plain = run_plain(job.command, options);
    std::vector<std::string> args = {"run", "-q", "--simulate", "-o", dir.path("t.vstrace"), "--"};
    args.insert(args.end(), job.command.begin(), job.command.end());
    ProcessResult profiled = run_vramscope(args, options);
    REQUIRE_FALSE(plain.timed_out);
    REQUIRE_FALSE(profiled.timed_out);
    CHECK_FALSE(plain.out.empty());
    CHECK(profiled.out == plain.out);
    CHECK(profiled.exit_status == plain.exit_status);
    CHECK(fs::exists(dir.path("t.vstrace")));
  }
}

TEST_CASE("a job that has allocated and then execs another program keeps both programs' events") {
  // Before, the new program, as the run's main process, opened the main trace
  // afresh and the first program's events were lost. Now the first program's
  // trace is kept under a name of its own, and the main trace is the program
  // that runs last (the job, after a launcher's exec).
  ScratchDir dir("exec");
  const std::string trace = dir.path("t.vstrace");
  ProcessResult run = run_vramscope({"run", "-q", "--simulate", "-o", trace, "--", VRAMSCOPE_EXIT_PATHS, "exec"});
  CHECK(run.exit_status == 5);  // the new program's
  json second = report_json(trace);
  const uint32_t pid = second["trace"]["pid"];
  CHECK(second["counts"]["allocations"] == 3);
  CHECK(second["trace"]["end"]["reason"] == "exit");
  CHECK(second["trace"]["end"]["code"] == 5);
  std::vector<std::string> others;
  for (const auto& entry : fs::directory_iterator(dir.dir())) {
    if (entry.path() != trace) others.push_back(entry.path().string());
  }
  REQUIRE(others.size() == 1);
  CHECK(others[0].ends_with("." + std::to_string(pid) + ".vstrace"));
  json first = report_json(others[0]);
  CHECK(first["trace"]["pid"] == pid);
  CHECK(first["counts"]["allocations"] == 3);
  // Its end record, written by the new program: it did not end, it was replaced.
  CHECK(first["trace"]["cut_short"] == false);
  CHECK(first["trace"]["end"]["reason"] == "exec");
  CHECK(first["trace"]["end"]["code"] == 0);
}

TEST_CASE("a forked worker that has allocated and then execs: its earlier trace ends with exec") {
  // The worker's traces are named by its pid: the program it was keeps the
  // first name, the program it became takes the next. Before, the first was
  // left without an end and read as cut short, as if the worker had been
  // killed: a trace that names this pid was told from one a recycled pid
  // left only by the process's start time.
  ScratchDir dir("fork-exec");
  const std::string trace = dir.path("t.vstrace");
  ProcessResult run =
      run_vramscope({"run", "-q", "--simulate", "-o", trace, "--", VRAMSCOPE_EXIT_PATHS, "fork-exec"});
  CHECK(run.exit_status == 5);  // the worker's new program's, passed on by the parent
  json parent = report_json(trace);
  CHECK(parent["counts"]["allocations"] == 3);
  REQUIRE(parent["forks"].size() == 1);
  const uint32_t worker = parent["forks"][0]["child_pid"];
  const std::string stem =
      dir.path("t.") + parent["trace"]["host"].get<std::string>() + "." + std::to_string(worker);
  REQUIRE(fs::exists(stem + ".vstrace"));
  REQUIRE(fs::exists(stem + ".1.vstrace"));
  size_t traces = 0;
  for (const auto& entry : fs::directory_iterator(dir.dir()))
    traces += entry.path().extension() == ".vstrace";
  CHECK(traces == 3);

  json before = report_json(stem + ".vstrace");
  CHECK(before["trace"]["pid"] == worker);
  CHECK(before["counts"]["allocations"] == 1);
  CHECK(kind(before, "device")["allocated_bytes"] == 2 * MiB);
  CHECK(before["trace"]["cut_short"] == false);
  CHECK(before["trace"]["end"]["reason"] == "exec");
  json after = report_json(stem + ".1.vstrace");
  CHECK(after["trace"]["pid"] == worker);
  CHECK(after["counts"]["allocations"] == 3);
  CHECK(after["trace"]["end"]["reason"] == "exit");
  CHECK(after["trace"]["end"]["code"] == 5);
}

TEST_CASE("a shell that execs the job, having recorded nothing, leaves the job's trace as the main one") {
  ScratchDir dir("shell-exec");
  const std::string trace = dir.path("t.vstrace");
  ProcessResult run = run_vramscope({"run", "-q", "--simulate", "-o", trace, "--", "sh", "-c",
                                     std::string("exec ") + VRAMSCOPE_EXIT_PATHS + " return"});
  CHECK(run.exit_status == 5);
  size_t traces = 0;
  for (const auto& entry : fs::directory_iterator(dir.dir())) traces += entry.path().extension() == ".vstrace";
  CHECK(traces == 1);
  json r = report_json(trace);
  CHECK(r["counts"]["allocations"] == 3);
  CHECK(r["trace"]["end"]["code"] == 5);
}
