// Unit tests of the report's JSON keys and values and of the text report.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/report_json.h"
#include "analyzer/report_text.h"
#include "analyzer/text_layout.h"
#include "trace_builder.h"

using namespace vramscope;
using vramscope::testing::TraceBuilder;
using Json = nlohmann::ordered_json;

namespace {

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

// A small job on a simulated device that was killed: one leak, one failure.
TraceBuilder killed_job() {
  TraceBuilder b;
  b.trace.source = "/tmp/job.vstrace";
  b.trace.header.pid = 4242;
  b.trace.header.parent_pid = 1;
  b.trace.header.host = "node7";
  b.trace.header.rank = 3;
  b.trace.header.command_line = {"python", "train.py"};
  b.trace.cut_short = true;
  b.trace.cut_short_reason = "no End record (the process was killed?)";
  b.trace.record_bytes = 400;
  b.trace.file_bytes = 4096;
  b.device(0, "vramscope simcuda", 8ull << 30, true);
  b.trace.threads = {{trace::ThreadIndex{1}, 4242, "python"}};
  auto s = b.stack({{"main", "train.py", 3}, {"step", "train.py", 30}});
  trace::Event& a = b.alloc(1000, 0x1000, 3 << 20, s);
  a.thread = trace::ThreadIndex{1};
  a.via = trace::Api::cudaMalloc;
  b.alloc(2000, 0x2000, 1 << 20, s).thread = trace::ThreadIndex{1};
  b.free(3000, 0x2000).thread = trace::ThreadIndex{1};
  trace::Event& f = b.add(trace::EventType::FailedAlloc, 4000);
  f.size = 16ull << 30;
  f.error = 2;
  f.free_bytes = 5ull << 30;
  f.total_bytes = 8ull << 30;
  f.api = trace::Api::cuMemAlloc;
  f.stack = s;
  f.thread = trace::ThreadIndex{1};
  b.add(trace::EventType::Fork, 5000).child_pid = 4300;
  return b;
}

}  // namespace

TEST_CASE("JSON report: top-level and nested keys") {
  Json json = analysis::report_to_json(analysis::analyze_trace(killed_job().trace));
  CHECK(keys_of(json) == std::vector<std::string>{"schema_version", "trace", "devices", "counts", "kinds",
                                                  "leaks", "failed_allocations", "threads", "apis", "forks",
                                                  "iterations", "categories", "growth_leaks", "advice"});
  CHECK(keys_of(json["trace"]) == std::vector<std::string>{"path", "pid", "parent_pid", "host", "rank",
                                                           "command_line", "start_unix_ns", "cut_short", "cut_short_reason",
                                                           "end", "duration_ns", "event_count",
                                                           "record_bytes", "file_bytes", "bytes_per_event"});
  CHECK(keys_of(json["devices"][0]) == std::vector<std::string>{"ordinal", "name", "simulated", "total_bytes",
                                                                "peak", "live_at_exit_bytes", "fragmentation"});
  CHECK(keys_of(json["devices"][0]["fragmentation"]) ==
        std::vector<std::string>{"has_block_data", "at_peak", "worst", "at_end"});
  CHECK(keys_of(json["devices"][0]["peak"]) ==
        std::vector<std::string>{"bytes", "time_ns", "time_s", "live_allocations", "sites", "categories"});
  CHECK(keys_of(json["devices"][0]["peak"]["sites"][0]) ==
        std::vector<std::string>{"function", "file", "line", "module", "bytes", "count", "stack", "category",
                                 "confidence"});
  CHECK(keys_of(json["devices"][0]["peak"]["sites"][0]["stack"][0]) ==
        std::vector<std::string>{"function", "file", "line", "module", "address", "module_offset"});
  CHECK(keys_of(json["counts"]) == std::vector<std::string>{"events", "allocations", "frees",
                                                            "failed_allocations", "unmatched_frees",
                                                            "missing_frees", "markers", "forks"});
  CHECK(keys_of(json["kinds"][0]) == std::vector<std::string>{"kind", "allocations", "frees",
                                                              "allocated_bytes", "peak_bytes",
                                                              "live_at_exit_bytes", "live_at_exit_count"});
  CHECK(keys_of(json["leaks"]) == std::vector<std::string>{"bytes", "count", "groups"});
  CHECK(keys_of(json["leaks"]["groups"][0]) ==
        std::vector<std::string>{"kind", "device", "bytes", "count", "function", "file", "line", "module",
                                 "stack", "counted", "allocator_cache"});
  CHECK(keys_of(json["failed_allocations"][0]) ==
        std::vector<std::string>{
            "time_ns",         "device",        "kind",       "api",        "via",
            "requested_bytes", "error",         "error_name", "free_bytes", "total_bytes",
            "live_bytes",      "function",      "file",       "line",       "module",
            "stack",           "fragmentation", "diagnosis",  "attempt_of", "driver_attempts"});
  CHECK(keys_of(json["failed_allocations"][0]["diagnosis"]) ==
        std::vector<std::string>{"verdict", "explanation", "evidence", "grew", "sites"});
  CHECK(keys_of(json["failed_allocations"][0]["diagnosis"]["evidence"]) ==
        std::vector<std::string>{"allocated_bytes", "reserved_bytes", "outside_process_bytes",
                                 "largest_free_bytes", "total_free_bytes", "shortfall_bytes"});
  CHECK(keys_of(json["failed_allocations"][0]["fragmentation"]) ==
        std::vector<std::string>{"time_ns", "segments", "segment_bytes", "block_bytes", "total_free_bytes",
                                 "largest_free_bytes", "reserved_but_unallocated_bytes", "metric"});
  CHECK(keys_of(json["threads"][0]) == std::vector<std::string>{"index", "os_tid", "name", "allocations",
                                                                "frees", "allocated_bytes",
                                                                "failed_allocations"});
  CHECK(keys_of(json["apis"][0]) == std::vector<std::string>{"api", "via", "count"});
  CHECK(keys_of(json["forks"][0]) == std::vector<std::string>{"time_ns", "child_pid"});
}

TEST_CASE("JSON report: exact values") {
  Json json = analysis::report_to_json(analysis::analyze_trace(killed_job().trace));
  CHECK(json["schema_version"] == 1);
  const Json& t = json["trace"];
  CHECK(t["path"] == "/tmp/job.vstrace");
  CHECK(t["pid"] == 4242);
  CHECK(t["parent_pid"] == 1);
  CHECK(t["host"] == "node7");
  CHECK(t["rank"] == 3);
  CHECK(t["command_line"] == Json::array({"python", "train.py"}));
  CHECK(t["cut_short"] == true);
  CHECK(t["cut_short_reason"] == "no End record (the process was killed?)");
  CHECK(t["end"].is_null());
  CHECK(t["duration_ns"] == 5000);
  CHECK(t["event_count"] == 5);
  CHECK(t["record_bytes"] == 400);
  CHECK(t["file_bytes"] == 4096);
  CHECK(t["bytes_per_event"] == 80.0);

  const Json& d = json["devices"][0];
  CHECK(d["ordinal"] == 0);
  CHECK(d["name"] == "vramscope simcuda");
  CHECK(d["simulated"] == true);
  CHECK(d["total_bytes"] == 8ull << 30);
  CHECK(d["peak"]["bytes"] == 4 << 20);
  CHECK(d["peak"]["time_ns"] == 2000);
  CHECK(d["peak"]["live_allocations"] == 2);
  CHECK(d["peak"]["sites"][0]["function"] == "step");
  CHECK(d["peak"]["sites"][0]["file"] == "train.py");
  CHECK(d["peak"]["sites"][0]["line"] == 30);
  CHECK(d["peak"]["sites"][0]["bytes"] == 4 << 20);
  CHECK(d["peak"]["sites"][0]["count"] == 2);
  CHECK(d["peak"]["sites"][0]["stack"].size() == 2);
  CHECK(d["live_at_exit_bytes"] == 3 << 20);

  CHECK(json["counts"]["allocations"] == 2);
  CHECK(json["counts"]["frees"] == 1);
  CHECK(json["counts"]["failed_allocations"] == 1);
  CHECK(json["counts"]["unmatched_frees"] == 0);
  CHECK(json["counts"]["forks"] == 1);

  CHECK(json["kinds"][0]["kind"] == "device");
  CHECK(json["kinds"][0]["allocated_bytes"] == 4 << 20);
  CHECK(json["kinds"][0]["peak_bytes"] == 4 << 20);
  CHECK(json["kinds"][0]["live_at_exit_count"] == 1);

  CHECK(json["leaks"]["bytes"] == 3 << 20);
  CHECK(json["leaks"]["count"] == 1);
  CHECK(json["leaks"]["groups"][0]["kind"] == "device");
  CHECK(json["leaks"]["groups"][0]["function"] == "step");

  const Json& f = json["failed_allocations"][0];
  CHECK(f["time_ns"] == 4000);
  CHECK(f["api"] == "cuMemAlloc");
  CHECK(f["via"] == "None");
  CHECK(f["requested_bytes"] == 16ull << 30);
  CHECK(f["error"] == 2);
  CHECK(f["error_name"] == "CUDA_ERROR_OUT_OF_MEMORY");
  CHECK(f["free_bytes"] == 5ull << 30);
  CHECK(f["total_bytes"] == 8ull << 30);
  CHECK(f["live_bytes"] == 3 << 20);

  CHECK(json["threads"][0]["os_tid"] == 4242);
  CHECK(json["threads"][0]["failed_allocations"] == 1);
  // The failure and the second allocation; the first came through cudaMalloc.
  CHECK(json["apis"][0] == Json{{"api", "cuMemAlloc"}, {"via", "None"}, {"count", 2}});
  CHECK(json["apis"][1] == Json{{"api", "cuMemAlloc"}, {"via", "cudaMalloc"}, {"count", 1}});
  CHECK(json["forks"][0]["child_pid"] == 4300);
}

TEST_CASE("JSON report: an end record gives its reason and code") {
  TraceBuilder b;
  b.trace.end = trace::End{10, trace::EndReason::Signal, 9};
  Json json = analysis::report_to_json(analysis::analyze_trace(b.trace));
  CHECK(json["trace"]["end"]["reason"] == "signal");
  CHECK(json["trace"]["end"]["code"] == 9);
  CHECK(json["trace"]["cut_short"] == false);
}

TEST_CASE("text report: simulated device, cut short, sizes in human units") {
  std::string text = analysis::report_to_text(analysis::analyze_trace(killed_job().trace));
  CHECK(text.find("device 0: vramscope simcuda (simulated)") != std::string::npos);
  CHECK(text.find("WARNING: device 0: vramscope simcuda (simulated)") != std::string::npos);
  CHECK(text.find("cut short: no End record (the process was killed?)") != std::string::npos);
  CHECK(text.find("python train.py") != std::string::npos);
  CHECK(text.find("peak 4.00 MiB at 2.000 us, 2 live allocations") != std::string::npos);
  CHECK(text.find("Live at exit: 3.00 MiB in 1 allocation") != std::string::npos);
  CHECK(text.find("16.00 GiB requested, CUDA_ERROR_OUT_OF_MEMORY (2)") != std::string::npos);
  CHECK(text.find("step  train.py:30") != std::string::npos);
  CHECK(text.find("child pid 4300") != std::string::npos);
  // Readable in 100 columns, no trailing spaces.
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    CHECK_MESSAGE(line.size() <= 100, line);
    CHECK_MESSAGE((line.empty() || line.back() != ' '), "trailing space: " << line);
    start = end + 1;
  }
}

TEST_CASE("text report: a device that names itself simulated is not marked twice") {
  TraceBuilder b;
  b.device(0, "vramscope simcuda (simulated)", 1 << 30, true);
  std::string text = analysis::report_to_text(analysis::analyze_trace(b.trace));
  CHECK(text.find("device 0: vramscope simcuda (simulated), 1.00 GiB") != std::string::npos);
  CHECK(text.find("(simulated) (simulated)") == std::string::npos);
  CHECK(text.find("WARNING: device 0: vramscope simcuda (simulated)") != std::string::npos);
}

TEST_CASE("text report: a complete trace on a real device has no warnings") {
  TraceBuilder b;
  b.device(0, "NVIDIA H100", 80ull << 30);
  b.trace.end = trace::End{10, trace::EndReason::Exit, 0};
  b.alloc(1, 0x10, 100);
  std::string text = analysis::report_to_text(analysis::analyze_trace(b.trace));
  CHECK(text.find("simulated") == std::string::npos);
  CHECK(text.find("cut short") == std::string::npos);
  CHECK(text.find("WARNING") == std::string::npos);
  CHECK(text.find("ended by exit status 0") != std::string::npos);
}

TEST_CASE("text report: --top limits the sites shown") {
  TraceBuilder b;
  for (uint32_t i = 0; i < 5; ++i) {
    auto s = b.stack({{"site" + std::to_string(i), "f.py", i + 1}});
    b.alloc(i + 1, 0x1000 * (i + 1), 1000 * (i + 1), s);
  }
  std::string text = analysis::report_to_text(analysis::analyze_trace(b.trace), analysis::TextOptions{2});
  CHECK(text.find("site4") != std::string::npos);
  CHECK(text.find("site3") != std::string::npos);
  CHECK(text.find("site2") == std::string::npos);
  CHECK(text.find("(3 more sites: 5.86 KiB)") != std::string::npos);
  CHECK(text.find("(3 more groups)") != std::string::npos);
}

TEST_CASE("text layout: frame labels and elapsed times") {
  analysis::StackFrame named{"step(int)", "/src/train/step.cpp", 12, "/bin/train", 0x401000, 0x1000};
  CHECK(analysis::text::frame_label(named, 60) == "step  step.cpp:12");
  analysis::StackFrame unnamed{"??", "", 0, "/usr/lib/libgone.so", 0x7f0000002345, 0x2344};
  CHECK(analysis::text::frame_label(unnamed, 60) == "??  libgone.so+0x2344");
  analysis::StackFrame long_name{std::string(200, 'f'), "a.cpp", 1, "", 0, 0};
  std::string label = analysis::text::frame_label(long_name, 40);
  CHECK(label.size() == 40);
  CHECK(label.ends_with("...  a.cpp:1"));
  CHECK(analysis::text::elapsed(2'500'000'000) == "2.500 s");
  CHECK(analysis::text::elapsed(12'500'000) == "12.500 ms");
  CHECK(analysis::text::elapsed(2'000) == "2.000 us");
}

TEST_CASE("text layout: a newline or tab in a name stays on the name's line") {
  using namespace analysis::text;
  CHECK(one_line("grow\nlive at exit: nothing\tok") == "grow\\x0alive at exit: nothing\\x09ok");
  CHECK(one_line("caf\xc3\xa9 \\n") == "caf\xc3\xa9 \\n");  // the rest as it is
  // Cut after the escaping: the width is what the terminal shows.
  CHECK(fit("a\nb", 10) == "a\\x0ab");
  CHECK(fit("a\nbcdefgh", 8) == "a\\x0a...");
  CHECK(short_function("grow\n(int)") == "grow\\x0a");
  analysis::StackFrame frame{"step\tinner(int)", "/src/a\nb.cpp", 7, "/lib/x\ny.so", 0, 0x10};
  CHECK(frame_label(frame, 60) == "step\\x09inner  a\\x0ab.cpp:7");
  frame.function = "??";
  CHECK(frame_label(frame, 60) == "??  x\\x0ay.so+0x10");
  CHECK(site_text(analysis::StackFrame{"grow(int)", "/src/o\nom.cpp", 25, "", 0, 0}) ==
        "grow (o\\x0aom.cpp:25)");
}

TEST_CASE("text layout: what a terminal would act on is escaped; UTF-8 names are kept") {
  using analysis::text::terminal_text;
  CHECK(terminal_text("grow (oom.cpp:31)\n\tnext") == "grow (oom.cpp:31)\n\tnext");
  CHECK(terminal_text("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x94\xa5") ==
        "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x94\xa5");
  // C0 controls (ESC, BEL, NUL, carriage return), DEL.
  CHECK(terminal_text("H100\x1b]0;owned\x07!") == "H100\\x1b]0;owned\\x07!");
  CHECK(terminal_text(std::string("a\0b\r", 4)) == "a\\x00b\\x0d");
  CHECK(terminal_text("\x7f") == "\\x7f");
  // C1 controls: U+009B is ESC [ in one character; U+0085, a newline.
  CHECK(terminal_text("\xc2\x9b"
                      "2J \xc2\x85") == "\\xc2\\x9b2J \\xc2\\x85");
  CHECK(terminal_text("\xc2\xa0") == "\xc2\xa0");  // U+00A0, a space, is shown
  // Marks that turn the text right to left (U+202E, U+2067); U+2010 is a hyphen.
  CHECK(terminal_text("\xe2\x80\xae"
                      "fdp.exe \xe2\x81\xa7 \xe2\x80\x90") ==
        "\\xe2\\x80\\xaefdp.exe \\xe2\\x81\\xa7 \xe2\x80\x90");
  // Not UTF-8: stray bytes, a sequence cut short, overlong forms, a
  // surrogate, past U+10FFFF. Each byte is escaped, and what follows is read anew.
  CHECK(terminal_text("\xff\xfe"
                      "a\x80") == "\\xff\\xfea\\x80");
  CHECK(terminal_text("\xe4\xb8"
                      "x\xc3") == "\\xe4\\xb8x\\xc3");
  CHECK(terminal_text("\xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf") ==
        "\\xc0\\xaf \\xe0\\x80\\xaf \\xf0\\x80\\x80\\xaf");
  CHECK(terminal_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(terminal_text("\xf4\x90\x80\x80 \xf4\x8f\xbf\xbf") == "\\xf4\\x90\\x80\\x80 \xf4\x8f\xbf\xbf");
}

TEST_CASE("text report: function names lose parameter lists and anonymous namespaces") {
  using analysis::text::short_function;
  CHECK(short_function("(anonymous namespace)::allocate_optimizer_state(std::vector<(anonymous namespace)::Tensor, "
                       "std::allocator<(anonymous namespace)::Tensor> > const&, int)") == "allocate_optimizer_state");
  CHECK(short_function("vramscope::Trainer::step(int) const") == "vramscope::Trainer::step");
  CHECK(short_function("main") == "main");
  CHECK(short_function("??") == "??");
  CHECK(short_function("std::function<void (int)>::operator()(int) const") == "std::function<void (int)>::operator()");
  CHECK(short_function("<no stack>") == "<no stack>");
}
