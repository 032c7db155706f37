// `vramscope report`, `check`, `timeline` and `import` on PyTorch memory
// snapshots: the same figures read directly and through an imported trace,
// and one clear line for a pickle that is not plain data.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

std::string snapshot(const std::string& name) {
  return std::string(VRAMSCOPE_TEST_DATA_DIR) + "/interop/pytorch-snapshots/" + name;
}

}  // namespace

TEST_CASE("report reads a PyTorch snapshot directly, and import keeps every figure") {
  ScratchDir dir("import");
  json direct = report_json(snapshot("decomfl_memory.pickle"));
  CHECK(kind(direct, "device")["live_at_exit_bytes"] == 1'897'922'560);
  CHECK(kind(direct, "device")["live_at_exit_count"] == 61);
  CHECK(kind(direct, "tensor block")["live_at_exit_bytes"] == 1'014'430'208);
  CHECK(kind(direct, "tensor block")["peak_bytes"] == 1'786'608'896);
  CHECK(direct["trace"]["cut_short"] == true);

  std::string converted = dir.path("decomfl.vstrace");
  ProcessResult imported = run_vramscope({"import", snapshot("decomfl_memory.pickle"), "-o", converted});
  INFO("stderr: " << imported.err);
  REQUIRE(imported.exit_status == 0);
  CHECK(imported.out.find("decomfl.vstrace") != std::string::npos);
  json again = report_json(converted);
  CHECK(again["kinds"] == direct["kinds"]);
  CHECK(again["counts"] == direct["counts"]);
  CHECK(again["devices"][0]["peak"] == direct["devices"][0]["peak"]);
  CHECK(again["leaks"] == direct["leaks"]);
}

TEST_CASE("export of a snapshot as a snapshot: -o names the output, the default would overwrite it") {
  ScratchDir dir("import-export");
  ProcessResult refused =
      run_vramscope({"export", snapshot("decomfl_memory.pickle"), "--format", "pytorch-snapshot"});
  CHECK(refused.exit_status == 2);
  CHECK(refused.err.find("would overwrite the trace: name the output with -o") != std::string::npos);
  std::string out = dir.path("again.pickle");
  ProcessResult wrote =
      run_vramscope({"export", snapshot("decomfl_memory.pickle"), "--format", "pytorch-snapshot", "-o", out});
  INFO("stderr: " << wrote.err);
  REQUIRE(wrote.exit_status == 0);
  CHECK(kind(report_json(out), "tensor block")["peak_bytes"] == 1'786'608'896);
}

TEST_CASE("check holds a snapshot to a budget") {
  ProcessResult over =
      run_vramscope({"check", snapshot("flexgen_oom_snapshot.pickle"), "--max-peak", "10GiB"});
  CHECK(over.exit_status == 1);
  ProcessResult under =
      run_vramscope({"check", snapshot("flexgen_oom_snapshot.pickle"), "--max-peak", "12GiB"});
  CHECK(under.exit_status == 0);
}

TEST_CASE("a pickle that would run code is refused in one line") {
  ScratchDir dir("import-hostile");
  // pickle.dumps(os.system) at protocol 2: PROTO 2, GLOBAL 'posix system', STOP.
  std::string path = dir.path("evil.pickle");
  std::ofstream(path, std::ios::binary) << std::string(
      "\x80\x02"
      "cposix\nsystem\nq\x00.",
      19);
  for (std::vector<std::string> args : {std::vector<std::string>{"report", path},
                                        {"import", path},
                                        {"check", path, "--max-peak", "1GiB"},
                                        {"timeline", path}}) {
    ProcessResult r = run_vramscope(args);
    const std::string& command = args.front();
    INFO(command << " stderr: " << r.err);
    CHECK(r.exit_status != 0);
    CHECK(r.err.find("GLOBAL") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("an error that quotes a hostile input shows its control bytes escaped, on one line") {
  ScratchDir dir("import-escapes");
  // PROTO 2, then INT whose text is an escape sequence that would set the
  // terminal's title: the reader's error quotes it.
  std::string path = dir.path("title.pickle");
  std::ofstream(path, std::ios::binary) << "\x80\x02I\x1b]0;owned\x07x\n.";
  ProcessResult r = run_vramscope({"report", path});
  CHECK(r.exit_status == 1);
  CHECK(r.err == "vramscope: " + path + ": opcode INT at byte 2: '\\x1b]0;owned\\x07x' is not an integer\n");

  ProcessResult command = run_vramscope({"rep\nort"});
  CHECK(command.exit_status == 2);
  CHECK(command.err == "vramscope: unknown command 'rep\\x0aort' (try 'vramscope --help')\n");
}

TEST_CASE("import and export name the file they wrote on one line, a newline in its name escaped") {
  ScratchDir dir("import-wrote");
  std::string converted = dir.path("a\nb.vstrace");
  ProcessResult imported = run_vramscope({"import", snapshot("decomfl_memory.pickle"), "-o", converted});
  REQUIRE(imported.exit_status == 0);
  CHECK(imported.out == "vramscope: wrote " + dir.path("a\\x0ab.vstrace") + " (15626 events, 260.00 KiB)\n");
  ProcessResult exported = run_vramscope({"export", converted, "--format", "collapsed", "--what", "leaks"});
  REQUIRE(exported.exit_status == 0);
  CHECK(std::count(exported.out.begin(), exported.out.end(), '\n') == 1);
  CHECK(exported.out.rfind("wrote " + dir.path("a\\x0ab.folded") + " (", 0) == 0);
}

TEST_CASE("report and import read torch.profiler traces and memory timelines") {
  ScratchDir dir("import-kineto");
  const std::string hta =
      std::string(VRAMSCOPE_TEST_DATA_DIR) + "/interop/kineto/hta_df_index_resolver.pt.trace.json.gz";
  json direct = report_json(hta);
  json device1 = find_by(direct["devices"], "ordinal", 1);
  REQUIRE_FALSE(device1.is_null());
  CHECK(device1["name"] == "Tesla V100-SXM2-32GB");
  CHECK(device1["peak"]["bytes"] == 12'782'141'440);                   // Total Reserved at its highest
  CHECK(kind(direct, "tensor block")["peak_bytes"] == 6'629'508'096);  // Total Allocated at its highest
  CHECK(direct["iterations"]["list"].size() == 5);                     // ProfilerStep#N ranges

  // Its threads' ranges go through a .vstrace of one chunk run per thread and come back the same.
  std::string converted = dir.path("hta.vstrace");
  ProcessResult imported = run_vramscope({"import", hta, "-o", converted});
  INFO("stderr: " << imported.err);
  REQUIRE(imported.exit_status == 0);
  json again = report_json(converted);
  CHECK(again["kinds"] == direct["kinds"]);
  CHECK(again["iterations"] == direct["iterations"]);
  CHECK(again["devices"] == direct["devices"]);

  json timeline =
      report_json(std::string(VRAMSCOPE_TEST_DATA_DIR) + "/interop/kineto/hta_memory_timeline.raw.json.gz");
  json parameters = find_by(timeline["categories"]["totals"], "category", "parameters");
  CHECK(parameters["peak_bytes"] == 102'440'608);  // the file's own figure
  CHECK(parameters["confidence"] == "high");
}
