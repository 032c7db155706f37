// Bad input gets one clear line and a non-zero status, never a crash; a trace
// cut short still reports what it holds.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

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
