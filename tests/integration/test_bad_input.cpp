// Bad input gets one clear line and a non-zero status, never a crash; a trace
// cut short still reports what it holds.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "formats/trace_file_writer.h"
#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

int line_count(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::vector<char> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

namespace trace = vramscope::trace;

trace::Header job_header() {
  trace::Header h;
  h.start_ns = 1'000'000;
  h.pid = 4242;
  h.parent_pid = 1;
  h.host = "node07";
  h.command_line = {"python", "train.py"};
  return h;
}

// A job that exited without touching GPU memory: a header and an End record.
void write_no_events_trace(const std::string& path) {
  trace::SimpleTraceWriter w(path, job_header());
  REQUIRE(w.encoder().end(1'005'000, trace::EndReason::Exit, 0, 1));
}

// A job killed right after one 256 MiB cudaMalloc: no End record, its chunk
// unsealed, as SIGKILL leaves it.
void write_crashed_trace(const std::string& path) {
  trace::TraceFileWriter file;
  REQUIRE(file.open(path, job_header(), false) == 0);
  trace::ChunkSlot slot;
  REQUIRE(file.claim(slot, trace::ThreadIndex{1}, 1'000'000, 1'000'000));
  REQUIRE(slot.encoder.device({0, "GPU zero", 80ull << 30, false}));
  REQUIRE(slot.encoder.alloc({.ticks = 1'001'000,
                              .kind = trace::MemoryKind::Device,
                              .api = trace::Api::cuMemAlloc,
                              .via = trace::Api::cudaMalloc,
                              .address = 0x7f0000000000,
                              .size = 256 * MiB}));
  trace::TraceFileWriter::abandon(slot);
  file.close();
}

}  // namespace

TEST_CASE("report on a missing, empty or foreign file fails with one line") {
  ScratchDir dir("bad-report");
  ProcessResult missing = run_vramscope({"report", dir.path("nope.vstrace")});
  CHECK(missing.exit_status == 1);
  CHECK(missing.err == "vramscope: cannot open " + dir.path("nope.vstrace") + ": No such file or directory\n");

  spit(dir.path("empty.vstrace"), {});
  ProcessResult empty = run_vramscope({"report", dir.path("empty.vstrace")});
  CHECK(empty.exit_status == 1);
  CHECK(line_count(empty.err) == 1);
  CHECK(empty.err.find("not a vramscope trace") != std::string::npos);

  std::string text = "definitely not a trace\n";
  spit(dir.path("text.vstrace"), std::vector<char>(text.begin(), text.end()));
  ProcessResult foreign = run_vramscope({"report", dir.path("text.vstrace")});
  CHECK(foreign.exit_status == 1);
  CHECK(line_count(foreign.err) == 1);
  CHECK(foreign.out.empty());
}

TEST_CASE("a corrupt trace is refused, a truncated one reports what it holds") {
  ScratchDir dir("corrupt");
  std::string trace = dir.path("t.vstrace");
  run_profiled(trace, {sample("leak")});
  std::vector<char> bytes = slurp(trace);
  // The header's page, the chunk kept for the end record, then the main
  // thread's chunk with the events.
  const long events_chunk = 4096 + 65536;
  REQUIRE(bytes.size() > events_chunk + 64);

  std::vector<char> corrupt = bytes;
  corrupt[events_chunk + 32 + 20] ^= 0x7f;
  spit(dir.path("corrupt.vstrace"), corrupt);
  ProcessResult refused = run_vramscope({"report", dir.path("corrupt.vstrace")});
  CHECK(refused.exit_status == 1);
  CHECK(line_count(refused.err) == 1);
  CHECK(refused.err.find("corrupt chunk") != std::string::npos);
  CHECK(refused.out.empty());

  // Cut inside the records of the events chunk: the trace is cut short, not refused.
  json whole = report_json(trace);
  uint64_t record_bytes = whole["trace"]["record_bytes"];
  std::vector<char> cut(bytes.begin(), bytes.begin() + events_chunk + 32 + static_cast<long>(record_bytes / 2));
  spit(dir.path("cut.vstrace"), cut);
  json partial = report_json(dir.path("cut.vstrace"));
  CHECK(partial["trace"]["cut_short"] == true);
  CHECK(partial["counts"]["allocations"].get<int>() <= whole["counts"]["allocations"].get<int>());
  ProcessResult text = run_vramscope({"report", dir.path("cut.vstrace")});
  CHECK(text.exit_status == 0);
  CHECK(text.out.find("cut short") != std::string::npos);

  // Cut at a chunk boundary: the end record says how many chunks there were.
  std::vector<char> whole_chunks_lost(bytes.begin(), bytes.begin() + events_chunk);
  spit(dir.path("lost.vstrace"), whole_chunks_lost);
  json lost = report_json(dir.path("lost.vstrace"));
  CHECK(lost["trace"]["cut_short"] == true);
  CHECK(lost["counts"]["allocations"] == 0);
}

TEST_CASE("report and check on a trace with no events, and on one killed after one allocation") {
  ScratchDir dir("odd-traces");
  std::string empty = dir.path("empty.vstrace");
  std::string crashed = dir.path("crashed.vstrace");
  write_no_events_trace(empty);
  write_crashed_trace(crashed);

  ProcessResult quiet = run_vramscope({"report", empty});
  CHECK(quiet.exit_status == 0);
  CHECK(quiet.err.empty());
  CHECK(quiet.out.find("vramscope report: " + empty + "\n") == 0);
  CHECK(quiet.out.find("  events    0 (") != std::string::npos);
  CHECK(quiet.out.find("Live at exit: 0 B in 0 allocations") != std::string::npos);
  CHECK(quiet.out.find("WARNING") == std::string::npos);
  json quiet_json = report_json(empty);
  CHECK(quiet_json["trace"]["event_count"] == 0);
  CHECK(quiet_json["trace"]["cut_short"] == false);
  CHECK(quiet_json["devices"] == json::array());
  CHECK(quiet_json["leaks"]["bytes"] == 0);
  CHECK(run_vramscope({"check", "--max-leak", "1", empty}).exit_status == 0);

  ProcessResult killed = run_vramscope({"report", crashed});
  CHECK(killed.exit_status == 0);
  CHECK(killed.err.empty());
  std::string warning =
      "WARNING: trace cut short: no end record: the process was killed, or is still running\n";
  CHECK(killed.out.find(warning) != std::string::npos);
  CHECK(killed.out.find("device 0: GPU zero: peak 256.00 MiB at 1.000 us, 1 live allocation\n") !=
        std::string::npos);
  CHECK(killed.out.find("Live at exit: 256.00 MiB in 1 allocation") != std::string::npos);
  json killed_json = report_json(crashed);
  CHECK(killed_json["trace"]["cut_short"] == true);
  CHECK(killed_json["trace"]["end"].is_null());
  CHECK(killed_json["devices"][0]["peak"]["bytes"] == 256 * MiB);
  CHECK(killed_json["leaks"]["bytes"] == 256 * MiB);
  CHECK(killed_json["leaks"]["count"] == 1);

  ProcessResult gate = run_vramscope({"check", "--max-leak", "1", crashed});
  CHECK(gate.exit_status == 1);
  CHECK(gate.out.find("leaked 256.00 MiB (limit 1 B)") != std::string::npos);
}

TEST_CASE("report refuses a pipe with one line, before reading it") {
  ScratchDir dir("pipe-report");
  std::string fifo = dir.path("trace.pipe");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  // Were the pipe opened after all, this writer would end the read, so that
  // the test fails rather than waits forever.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int tries = 0; tries < 3000 && !done; ++tries) {
      int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) {
        close(fd);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  ProcessResult piped = run_vramscope({"report", fifo});
  done = true;
  writer.join();
  CHECK(piped.exit_status == 1);
  CHECK(line_count(piped.err) == 1);
  CHECK(piped.err.find("cannot read " + fifo + ": not a regular file (a pipe or a device)") !=
        std::string::npos);
}

TEST_CASE("run refuses bad flags, missing commands and unwritable output with one line") {
  ScratchDir dir("bad-run");
  ProcessResult no_command = run_vramscope({"run"});
  CHECK(no_command.exit_status == 2);
  CHECK(line_count(no_command.err) == 1);

  ProcessResult bad_flag = run_vramscope({"run", "--frobnicate", "--", "true"});
  CHECK(bad_flag.exit_status == 2);
  CHECK(bad_flag.err.find("unknown option '--frobnicate'") != std::string::npos);

  ProcessResult bad_size = run_vramscope({"run", "--simulate=lots", "--", "true"});
  CHECK(bad_size.exit_status == 2);
  CHECK(bad_size.err.find("bad size 'lots'") != std::string::npos);

  ProcessResult bad_stacks = run_vramscope({"run", "--stacks", "python", "--", "true"});
  CHECK(bad_stacks.exit_status == 2);

  ProcessResult missing = run_vramscope({"run", "-q", "--simulate", "-o", dir.path("t.vstrace"), "--",
                                     dir.path("no-such-program")});
  CHECK(missing.exit_status == 127);
  CHECK(missing.err.find("cannot run") != std::string::npos);
  CHECK(missing.err.find("No such file or directory") != std::string::npos);

  ProcessResult unwritable = run_vramscope({"run", "-q", "--simulate", "-o", "/nonexistent-dir/t.vstrace", "--", "true"});
  CHECK(unwritable.exit_status == 1);
  CHECK(line_count(unwritable.err) == 1);
  CHECK(unwritable.err.find("cannot write trace") != std::string::npos);

  ProcessResult report_unwritable = run_vramscope({"report", "/nonexistent/t.vstrace", "--json", "/nonexistent/r.json"});
  CHECK(report_unwritable.exit_status != 0);
  CHECK(line_count(report_unwritable.err) == 1);
}

TEST_CASE("every command answers --help") {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"}, {"run", "--help"}, {"report", "--help"}}) {
    ProcessResult help = run_vramscope(args);
    CHECK(help.exit_status == 0);
    CHECK(help.out.find("usage: vramscope") != std::string::npos);
  }
  ProcessResult unknown = run_vramscope({"frobnicate"});
  CHECK(unknown.exit_status == 2);
  CHECK(line_count(unknown.err) == 1);
}
