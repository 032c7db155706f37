// Odd and broken traces, end to end: each is written as a real file, read back,
// analyzed and rendered, and must be reported truthfully, with exact figures,
// never a crash. (No events, host memory only, a crash after one allocation,
// events out of time order, unknown and double frees, cuts at every byte.)
#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/report_json.h"
#include "analyzer/report_text.h"
#include "formats/trace_file_writer.h"
#include "formats/trace_reader.h"
#include "temp_dir.h"
#include "ui/viewer_model.h"

using namespace vramscope;
using namespace vramscope::trace;
using Json = nlohmann::ordered_json;
using vramscope::testing::TempDir;

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * 1024;
constexpr uint64_t kStart = 1'000'000;  // header start_ns: an event at ticks kStart + t is at t ns
constexpr uint64_t kBase = 0x7f0000000000;
constexpr const char* kNoEndReason = "no end record: the process was killed, or is still running";

// As the injector opens a trace: before CUDA is up, so no device is listed yet.
Header job_header() {
  Header h;
  h.start_ns = kStart;
  h.start_unix_ns = 1'700'000'000'000'000'000ull;
  h.pid = 4242;
  h.parent_pid = 1;
  h.host = "node07";
  h.command_line = {"python", "train.py"};
  return h;
}

const DeviceInfo kGpu{0, "GPU zero", 80ull << 30, false};

AllocFields device_alloc(uint64_t t, uint64_t address, uint64_t size) {
  return {.ticks = kStart + t,
          .kind = MemoryKind::Device,
          .api = Api::cuMemAlloc,
          .via = Api::cudaMalloc,
          .address = address,
          .size = size};
}

AllocFields device_free(uint64_t t, uint64_t address) {
  return {.ticks = kStart + t,
          .kind = MemoryKind::Device,
          .api = Api::cuMemFree,
          .via = Api::cudaFree,
          .address = address};
}

// The report of a trace file, with both renderings; rendering must not throw.
struct Analyzed {
  analysis::Report report;
  Json json;
  std::string text;
};

Analyzed analyze_file(const std::string& path) {
  Analyzed a;
  a.report = analysis::analyze_trace(read_trace_file(path));
  REQUIRE_NOTHROW(a.json = analysis::report_to_json(a.report));
  // `vramscope report` decodes the records once, in the analysis's walk: the same report.
  CHECK(analysis::report_to_json(analysis::analyze_trace_file(path)) == a.json);
  REQUIRE_NOTHROW(a.text = analysis::report_to_text(a.report));
  // The JSON is valid JSON that reads back the same.
  CHECK(Json::parse(a.json.dump(2)) == a.json);
  return a;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<char> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const std::string& path, const std::vector<char>& bytes, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(size));
}

const analysis::KindTotals* kind_totals(const analysis::Report& r, MemoryKind kind) {
  for (const auto& k : r.kinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("odd trace: a header and an End record, no events at all") {
  TempDir dir("vramscope-odd");
  std::string path = dir.path("empty.vstrace");
  uint64_t record_bytes = 0;
  {
    SimpleTraceWriter w(path, job_header());
    REQUIRE(w.encoder().end(kStart + 5000, EndReason::Exit, 0, 1));
    record_bytes = w.encoder().used();
  }
  Analyzed a = analyze_file(path);
  const analysis::Report& r = a.report;
  CHECK_FALSE(r.trace.cut_short);
  CHECK(r.trace.cut_short_reason == "");
  REQUIRE(r.trace.end.has_value());
  CHECK(r.trace.end->reason == EndReason::Exit);
  CHECK(r.trace.end->code == 0);
  CHECK(r.trace.end->time_ns == 5000);
  CHECK(r.trace.duration_ns == 5000);
  CHECK(r.trace.event_count == 0);
  CHECK(r.trace.record_bytes == record_bytes);
  CHECK(r.trace.bytes_per_event == 0.0);
  CHECK(r.counts.events == 0);
  CHECK(r.counts.allocations == 0);
  CHECK(r.counts.frees == 0);
  CHECK(r.counts.unmatched_frees == 0);
  CHECK(r.counts.missing_frees == 0);
  CHECK(r.devices.empty());  // no device listed, none used: no peak to report
  CHECK(r.kinds.empty());
  CHECK(r.leaks.bytes == 0);
  CHECK(r.leaks.count == 0);
  CHECK(r.leaks.groups.empty());
  CHECK(r.failed_allocations.empty());
  CHECK(r.apis.empty());
  CHECK(r.iterations.method == "none");
  CHECK(r.categories.source == "none");
  CHECK(r.growth_leaks.empty());
  CHECK(r.advice.empty());

  CHECK(a.json["trace"]["event_count"] == 0);
  CHECK(a.json["trace"]["bytes_per_event"] == 0);
  CHECK(a.json["trace"]["cut_short"] == false);
  CHECK(a.json["trace"]["end"]["reason"] == "exit");
  CHECK(a.json["devices"] == Json::array());
  CHECK(a.json["kinds"] == Json::array());
  CHECK(a.json["leaks"]["bytes"] == 0);
  CHECK(a.json["leaks"]["groups"] == Json::array());

  CHECK(contains(a.text, "  events    0 (" + std::to_string(record_bytes) +
                             " B of records, 0.0 bytes per event)\n"
                             "No GPU memory events were recorded: the job made no CUDA allocation, or ran "
                             "without the injector.\n"));
  CHECK(contains(a.text, "  duration  5.000 us, ended by exit status 0\n"));
  CHECK(contains(
      a.text, "\nLive at exit: 0 B in 0 allocations (device, managed and pinned host memory)\n  nothing\n"));
  CHECK_FALSE(contains(a.text, "WARNING"));
  CHECK_FALSE(contains(a.text, "note:"));
  CHECK_FALSE(contains(a.text, "peak"));
  CHECK_FALSE(contains(a.text, "Totals by kind"));
  CHECK_FALSE(contains(a.text, "API calls"));
}

TEST_CASE("odd trace: a device listed in the header but never used has peak 0") {
  TempDir dir("vramscope-odd");
  std::string path = dir.path("idle-device.vstrace");
  {
    Header h = job_header();
    h.devices.push_back(kGpu);
    SimpleTraceWriter w(path, h);
    REQUIRE(w.encoder().end(kStart + 5000, EndReason::Exit, 0, 1));
  }
  Analyzed a = analyze_file(path);
  REQUIRE(a.report.devices.size() == 1);
  const analysis::DeviceReport& d = a.report.devices[0];
  CHECK(d.ordinal == 0);
  CHECK(d.name == "GPU zero");
  CHECK(d.total_bytes == (80ull << 30));
  CHECK(d.peak.bytes == 0);
  CHECK(d.peak.time_ns == 0);
  CHECK(d.peak.live_allocations == 0);
  CHECK(d.peak.sites.empty());
  CHECK(d.live_at_exit_bytes == 0);
  CHECK(a.report.counts.events == 0);
  CHECK(a.json["devices"][0]["peak"]["bytes"] == 0);
  CHECK(a.json["devices"][0]["peak"]["sites"] == Json::array());
  CHECK(contains(a.text, "\ndevice 0: GPU zero: peak 0 B\n"));
}

TEST_CASE("odd trace: host memory only, no device memory") {
  TempDir dir("vramscope-odd");
  std::string path = dir.path("host.vstrace");
  {
    SimpleTraceWriter w(path, job_header());
    auto& e = w.encoder();
    // Pinned host: 4 MiB allocated and freed, then 64 KiB left live.
    REQUIRE(e.alloc({.ticks = kStart + 100,
                     .kind = MemoryKind::PinnedHost,
                     .api = Api::cuMemHostAlloc,
                     .via = Api::cudaHostAlloc,
                     .address = kBase,
                     .size = 4 * MiB}));
    // Registered host memory: 1 MiB, registered and unregistered.
    REQUIRE(e.alloc({.ticks = kStart + 200,
                     .kind = MemoryKind::HostRegistered,
                     .api = Api::cuMemHostRegister,
                     .via = Api::cudaHostRegister,
                     .address = 0x5500'0000'0000,
                     .size = 1 * MiB}));
    REQUIRE(e.free({.ticks = kStart + 300,
                    .kind = MemoryKind::PinnedHost,
                    .api = Api::cuMemFreeHost,
                    .via = Api::cudaFreeHost,
                    .address = kBase}));
    REQUIRE(e.free({.ticks = kStart + 400,
                    .kind = MemoryKind::HostRegistered,
                    .api = Api::cuMemHostUnregister,
                    .via = Api::cudaHostUnregister,
                    .address = 0x5500'0000'0000}));
    REQUIRE(e.alloc({.ticks = kStart + 500,
                     .kind = MemoryKind::PinnedHost,
                     .api = Api::cuMemHostAlloc,
                     .via = Api::cudaHostAlloc,
                     .address = kBase + 8 * MiB,
                     .size = 64 * KiB}));
    REQUIRE(e.end(kStart + 600, EndReason::Exit, 0, 1));
  }
  Analyzed a = analyze_file(path);
  const analysis::Report& r = a.report;
  CHECK_FALSE(r.trace.cut_short);
  CHECK(r.counts.events == 5);
  CHECK(r.counts.allocations == 3);
  CHECK(r.counts.frees == 2);
  CHECK(r.counts.unmatched_frees == 0);
  // Host memory is no device's memory: no device, so no device peak.
  CHECK(r.devices.empty());

  REQUIRE(r.kinds.size() == 2);  // in the format's enum order
  CHECK(r.kinds[0].kind == MemoryKind::PinnedHost);
  CHECK(r.kinds[0].allocations == 2);
  CHECK(r.kinds[0].frees == 1);
  CHECK(r.kinds[0].allocated_bytes == 4 * MiB + 64 * KiB);
  CHECK(r.kinds[0].peak_bytes == 4 * MiB);
  CHECK(r.kinds[0].live_at_exit_bytes == 64 * KiB);
  CHECK(r.kinds[0].live_at_exit_count == 1);
  CHECK(r.kinds[1].kind == MemoryKind::HostRegistered);
  CHECK(r.kinds[1].allocations == 1);
  CHECK(r.kinds[1].frees == 1);
  CHECK(r.kinds[1].allocated_bytes == 1 * MiB);
  CHECK(r.kinds[1].peak_bytes == 1 * MiB);
  CHECK(r.kinds[1].live_at_exit_bytes == 0);
  CHECK(r.kinds[1].live_at_exit_count == 0);

  // Pinned host memory counts in the headline of live-at-exit memory.
  CHECK(r.leaks.bytes == 64 * KiB);
  CHECK(r.leaks.count == 1);
  REQUIRE(r.leaks.groups.size() == 1);
  CHECK(r.leaks.groups[0].kind == MemoryKind::PinnedHost);
  CHECK(r.leaks.groups[0].bytes == 64 * KiB);
  CHECK(r.leaks.groups[0].count == 1);
  CHECK(r.leaks.groups[0].site.function == "<no stack>");

  CHECK(a.json["devices"] == Json::array());
  REQUIRE(a.json["kinds"].size() == 2);
  CHECK(a.json["kinds"][0]["kind"] == "pinned host");
  CHECK(a.json["kinds"][0]["peak_bytes"] == 4 * MiB);
  CHECK(a.json["kinds"][1]["kind"] == "host registered");
  CHECK(a.json["leaks"]["bytes"] == 64 * KiB);

  CHECK_FALSE(contains(a.text, "peak 0 B"));
  CHECK(contains(a.text,
                 "\nLive at exit: 64.00 KiB in 1 allocation (device, managed and pinned host memory)\n"));
  CHECK(contains(a.text, "  64.00 KiB in 1 allocation (pinned host)\n"));  // host memory: no device
  CHECK(contains(a.text, "\nTotals by kind\n"));
  CHECK(contains(a.text,
                 "  pinned host                       2        1    4.06 MiB    4.00 MiB  64.00 KiB (1)\n"));
  CHECK(
      contains(a.text, "  host registered                   1        1    1.00 MiB    1.00 MiB  0 B (0)\n"));
}

namespace {

// One 256 MiB allocation, then the process dies: no End record. `sealed`: the
// chunk was sealed anyway (a trace copied while its writer was between
// records); otherwise it is left as SIGKILL leaves it, unsealed.
void write_crashed_trace(const std::string& path, bool sealed) {
  TraceFileWriter file;
  REQUIRE(file.open(path, job_header(), false) == 0);
  ChunkSlot slot;
  REQUIRE(file.claim(slot, ThreadIndex{1}, kStart, kStart));
  REQUIRE(slot.encoder.device(kGpu));
  REQUIRE(slot.encoder.alloc(device_alloc(1000, kBase, 256 * MiB)));
  if (sealed) {
    file.seal(slot);
  } else {
    TraceFileWriter::abandon(slot);
  }
  file.close();
}

}  // namespace

TEST_CASE("odd trace: one allocation and no End record (the process crashed)") {
  TempDir dir("vramscope-odd");
  std::string path = dir.path("crashed.vstrace");
  bool sealed = false;
  SUBCASE("chunk left unsealed, as SIGKILL leaves it") { sealed = false; }
  SUBCASE("chunk sealed, no End record") { sealed = true; }
  write_crashed_trace(path, sealed);
  Analyzed a = analyze_file(path);
  const analysis::Report& r = a.report;
  CHECK(r.trace.cut_short);
  CHECK(r.trace.cut_short_reason == kNoEndReason);
  CHECK_FALSE(r.trace.end.has_value());
  CHECK(r.trace.duration_ns == 1000);  // the last event's time
  CHECK(r.trace.event_count == 1);
  CHECK(r.counts.events == 1);
  CHECK(r.counts.allocations == 1);
  CHECK(r.counts.frees == 0);
  CHECK(r.counts.unmatched_frees == 0);
  CHECK(r.counts.missing_frees == 0);

  REQUIRE(r.devices.size() == 1);
  const analysis::DeviceReport& d = r.devices[0];
  CHECK(d.name == "GPU zero");
  CHECK(d.peak.bytes == 256 * MiB);
  CHECK(d.peak.time_ns == 1000);
  CHECK(d.peak.live_allocations == 1);
  REQUIRE(d.peak.sites.size() == 1);
  CHECK(d.peak.sites[0].site.function == "<no stack>");
  CHECK(d.peak.sites[0].bytes == 256 * MiB);
  CHECK(d.peak.sites[0].count == 1);
  CHECK(d.live_at_exit_bytes == 256 * MiB);

  CHECK(r.leaks.bytes == 256 * MiB);
  CHECK(r.leaks.count == 1);
  REQUIRE(r.leaks.groups.size() == 1);
  CHECK(r.leaks.groups[0].kind == MemoryKind::Device);
  CHECK(r.leaks.groups[0].device == 0);
  CHECK(r.leaks.groups[0].bytes == 256 * MiB);
  CHECK(r.leaks.groups[0].count == 1);

  REQUIRE(r.kinds.size() == 1);
  CHECK(r.kinds[0].kind == MemoryKind::Device);
  CHECK(r.kinds[0].allocations == 1);
  CHECK(r.kinds[0].frees == 0);
  CHECK(r.kinds[0].allocated_bytes == 256 * MiB);
  CHECK(r.kinds[0].peak_bytes == 256 * MiB);
  CHECK(r.kinds[0].live_at_exit_bytes == 256 * MiB);
  CHECK(r.kinds[0].live_at_exit_count == 1);
  REQUIRE(r.apis.size() == 1);
  CHECK(r.apis[0].api == Api::cuMemAlloc);
  CHECK(r.apis[0].via == Api::cudaMalloc);
  CHECK(r.apis[0].count == 1);

  CHECK(a.json["trace"]["cut_short"] == true);
  CHECK(a.json["trace"]["cut_short_reason"] == kNoEndReason);
  CHECK(a.json["trace"]["end"].is_null());
  CHECK(a.json["trace"]["duration_ns"] == 1000);
  CHECK(a.json["devices"][0]["peak"]["bytes"] == 256 * MiB);
  CHECK(a.json["devices"][0]["peak"]["time_ns"] == 1000);
  CHECK(a.json["devices"][0]["live_at_exit_bytes"] == 256 * MiB);
  CHECK(a.json["leaks"]["bytes"] == 256 * MiB);
  CHECK(a.json["leaks"]["groups"][0]["kind"] == "device");

  CHECK(contains(a.text, "  duration  1.000 us, no end recorded\n"));
  CHECK(contains(a.text, std::string("WARNING: trace cut short: ") + kNoEndReason + "\n"));
  CHECK(contains(a.text,
                 "         this report covers the events before the cut; live at exit means live then\n"));
  CHECK(contains(a.text, "\ndevice 0: GPU zero: peak 256.00 MiB at 1.000 us, 1 live allocation\n"));
  CHECK(contains(a.text,
                 "\nLive at exit: 256.00 MiB in 1 allocation (device, managed and pinned host memory)\n"));
  CHECK(contains(a.text, "  256.00 MiB in 1 allocation (device) on device 0\n      <no stack>\n"));
}

namespace {

// A trace as the injector leaves it at an exec: the end chunk claimed first
// (thread 0), then a thread's chunk with one allocation of `bytes`, both
// unsealed.
void write_replaced_trace(const std::string& path, uint64_t bytes) {
  TraceFileWriter file;
  REQUIRE(file.open(path, job_header(), false) == 0);
  ChunkSlot end_chunk;
  ChunkSlot slot;
  REQUIRE(file.claim(end_chunk, ThreadIndex{0}, kStart, kStart));
  REQUIRE(file.claim(slot, ThreadIndex{1}, kStart, kStart));
  REQUIRE(slot.encoder.device(kGpu));
  REQUIRE(slot.encoder.alloc(device_alloc(1000, kBase, bytes)));
  TraceFileWriter::abandon(slot);
  TraceFileWriter::abandon(end_chunk);
  file.detach();
}

}  // namespace

TEST_CASE("odd trace: a program replaced by exec, its end written afterwards by the new one") {
  TempDir dir("vramscope-odd");
  const std::string path = dir.path("replaced.vstrace");
  write_replaced_trace(path, 256 * MiB);
  CHECK(analyze_file(path).report.trace.cut_short);
  REQUIRE(TraceFileWriter::end_abandoned(path, EndReason::Exec, 0, kStart + 5000));
  const analysis::Report r = analyze_file(path).report;
  CHECK_FALSE(r.trace.cut_short);
  REQUIRE(r.trace.end.has_value());
  CHECK(r.trace.end->reason == EndReason::Exec);
  CHECK(r.trace.end->time_ns == 5000);
  CHECK(r.counts.allocations == 1);
  // Once ended, it is not ended again.
  CHECK_FALSE(TraceFileWriter::end_abandoned(path, EndReason::Exit, 3, kStart + 9000));
  CHECK(analyze_file(path).report.trace.end->reason == EndReason::Exec);

  // A trace with no empty end chunk, and a file that is no trace, are left alone.
  const std::string crashed = dir.path("crashed.vstrace");
  write_crashed_trace(crashed, false);
  CHECK_FALSE(TraceFileWriter::end_abandoned(crashed, EndReason::Exec, 0, kStart + 5000));
  CHECK(analyze_file(crashed).report.trace.cut_short);
  const std::string text = dir.path("notes.txt");
  std::ofstream(text) << std::string(200'000, 'x');
  CHECK_FALSE(TraceFileWriter::end_abandoned(text, EndReason::Exec, 0, kStart));
  CHECK_FALSE(TraceFileWriter::end_abandoned(dir.path("missing.vstrace"), EndReason::Exec, 0, kStart));
}

TEST_CASE("a trace left by this process before its exec is told from one a recycled pid left") {
  // job_header(): pid 4242, opened at kStart on the monotonic clock.
  TempDir dir("vramscope-odd");
  const std::string recorded = dir.path("recorded.vstrace");
  const std::string empty = dir.path("empty.vstrace");
  write_replaced_trace(recorded, MiB);
  {
    TraceFileWriter file;
    REQUIRE(file.open(empty, job_header(), false) == 0);
    ChunkSlot end_chunk;
    REQUIRE(file.claim(end_chunk, ThreadIndex{0}, kStart, kStart));
    TraceFileWriter::abandon(end_chunk);
    file.detach();
  }
  // Opened by pid 4242 at or after its start: this process's own.
  CHECK(earlier_trace_of(recorded, 4242, kStart) == EarlierTrace::HasEvents);
  CHECK(earlier_trace_of(recorded, 4242, kStart - 1'000'000) == EarlierTrace::HasEvents);
  CHECK(earlier_trace_of(empty, 4242, kStart) == EarlierTrace::NoEvents);
  // Opened before the process started: an earlier process with the same pid.
  CHECK(earlier_trace_of(recorded, 4242, kStart + 1) == EarlierTrace::NotThisProcess);
  CHECK(earlier_trace_of(empty, 4242, kStart + 1) == EarlierTrace::NotThisProcess);
  // Another pid, a file that is no trace, no file.
  CHECK(earlier_trace_of(recorded, 4243, kStart) == EarlierTrace::NotThisProcess);
  const std::string text = dir.path("notes.txt");
  std::ofstream(text) << std::string(200'000, 'x');
  CHECK(earlier_trace_of(text, 4242, 0) == EarlierTrace::NotThisProcess);
  CHECK(earlier_trace_of(dir.path("missing.vstrace"), 4242, 0) == EarlierTrace::NotThisProcess);
}

TEST_CASE("odd trace: events out of time order across two threads' chunks") {
  // Thread 1's chunk comes first in the file, thread 2's second; each is in
  // time order, the two interleave in time. Read in file order the peak would
  // be 4 MiB at 100 ns (thread 1's allocation alone); in time order it is
  // 7 MiB at 400 ns, with thread 1's 4 MiB and thread 2's 3 MiB live.
  //   thread 1: 100 alloc A 4 MiB                       500 free A
  //   thread 2:          200 alloc B 1 MiB, 300 free B, 400 alloc C 3 MiB, 600 free C
  TempDir dir("vramscope-odd");
  std::string path = dir.path("interleaved.vstrace");
  {
    TraceFileWriter file;
    REQUIRE(file.open(path, job_header(), false) == 0);
    ChunkSlot one, two;
    REQUIRE(file.claim(one, ThreadIndex{1}, kStart, kStart));
    REQUIRE(file.claim(two, ThreadIndex{2}, kStart, kStart));
    REQUIRE(one.encoder.device(kGpu));
    REQUIRE(one.encoder.thread(ThreadIndex{1}, 4242, "python"));
    REQUIRE(two.encoder.thread(ThreadIndex{2}, 4243, "loader"));
    // Written as the threads would, interleaved.
    REQUIRE(one.encoder.alloc(device_alloc(100, kBase, 4 * MiB)));
    REQUIRE(two.encoder.alloc(device_alloc(200, kBase + 16 * MiB, 1 * MiB)));
    REQUIRE(two.encoder.free(device_free(300, kBase + 16 * MiB)));
    REQUIRE(two.encoder.alloc(device_alloc(400, kBase + 32 * MiB, 3 * MiB)));
    REQUIRE(one.encoder.free(device_free(500, kBase)));
    REQUIRE(two.encoder.free(device_free(600, kBase + 32 * MiB)));
    REQUIRE(one.encoder.end(kStart + 700, EndReason::Exit, 0, file.claimed_chunks()));
    file.seal(two);
    file.seal(one);
    file.close();
  }
  Analyzed a = analyze_file(path);
  const analysis::Report& r = a.report;
  CHECK_FALSE(r.trace.cut_short);
  CHECK(r.trace.duration_ns == 700);
  CHECK(r.counts.events == 6);
  CHECK(r.counts.allocations == 3);
  CHECK(r.counts.frees == 3);
  CHECK(r.counts.unmatched_frees == 0);
  CHECK(r.counts.missing_frees == 0);
  REQUIRE(r.devices.size() == 1);
  const analysis::DevicePeak& peak = r.devices[0].peak;
  CHECK(peak.bytes == 7 * MiB);
  CHECK(peak.time_ns == 400);
  CHECK(peak.live_allocations == 2);
  REQUIRE(peak.sites.size() == 1);
  CHECK(peak.sites[0].bytes == 7 * MiB);
  CHECK(peak.sites[0].count == 2);
  CHECK(r.devices[0].live_at_exit_bytes == 0);
  REQUIRE(r.kinds.size() == 1);
  CHECK(r.kinds[0].peak_bytes == 7 * MiB);
  CHECK(r.kinds[0].allocated_bytes == 8 * MiB);
  CHECK(r.leaks.bytes == 0);
  CHECK(r.leaks.groups.empty());

  REQUIRE(r.threads.size() == 2);
  CHECK(r.threads[0].index == 1);
  CHECK(r.threads[0].os_tid == 4242);
  CHECK(r.threads[0].name == "python");
  CHECK(r.threads[0].allocations == 1);
  CHECK(r.threads[0].frees == 1);
  CHECK(r.threads[0].allocated_bytes == 4 * MiB);
  CHECK(r.threads[1].index == 2);
  CHECK(r.threads[1].os_tid == 4243);
  CHECK(r.threads[1].name == "loader");
  CHECK(r.threads[1].allocations == 2);
  CHECK(r.threads[1].frees == 2);
  CHECK(r.threads[1].allocated_bytes == 4 * MiB);

  CHECK(a.json["devices"][0]["peak"]["bytes"] == 7 * MiB);
  CHECK(a.json["devices"][0]["peak"]["time_ns"] == 400);
  CHECK(contains(a.text, "\ndevice 0: GPU zero: peak 7.00 MiB at 0.400 us, 2 live allocations\n"));
  CHECK(contains(a.text, "\nThreads\n"));
  // Events within one chunk cannot be out of order: the encoder writes a time
  // earlier than the chunk's previous one as that previous time (delta 0).
}

namespace {

// Two threads' chunks, claimed `apart_ns` apart by the clock and `apart_ticks`
// apart by the ticks, the first at `first_ns`, in a trace whose header says
// 2 ticks a nanosecond; an allocation 200 ticks into the first chunk and one
// 2e8 ticks into the second. Their times as read.
std::vector<uint64_t> times_across_anchors(uint64_t first_ns, uint64_t apart_ns, uint64_t apart_ticks) {
  TempDir dir("vramscope-odd");
  const std::string path = dir.path("anchors.vstrace");
  {
    Header header = job_header();
    header.ticks_per_second = 2'000'000'000;
    header.devices.push_back(kGpu);
    TraceFileWriter file;
    REQUIRE(file.open(path, header, false) == 0);
    ChunkSlot one, two;
    constexpr uint64_t kTicks = 1000;
    REQUIRE(file.claim(one, ThreadIndex{1}, first_ns, kTicks));
    REQUIRE(file.claim(two, ThreadIndex{2}, first_ns + apart_ns, kTicks + apart_ticks));
    AllocFields a = device_alloc(0, kBase, MiB);
    a.ticks = kTicks + 200;
    REQUIRE(one.encoder.alloc(a));
    a.ticks = kTicks + apart_ticks + 200'000'000;
    a.address += MiB;
    REQUIRE(two.encoder.alloc(a));
    REQUIRE(one.encoder.end(a.ticks + 1, EndReason::Exit, 0, file.claimed_chunks()));
    file.seal(two);
    file.seal(one);
    file.close();
  }
  std::vector<uint64_t> times;
  for (const Event& e : read_trace_file(path).events.collect()) times.push_back(e.time_ns);
  return times;
}

}  // namespace

// The header's tick rate is the injector's calibration at start; chunks
// claimed more than a second apart give the rate of the run, and the reader
// takes theirs.
TEST_CASE("odd trace: the tick rate from chunks claimed more than a second apart, not from nearer ones") {
  // 4.2e9 ticks in 2 s: 2.1 ticks a nanosecond, not the header's 2. The
  // second chunk is placed 2 s after the first, its allocation 2e8 ticks
  // (95,238,095 ns) after that; the first allocation 200 ticks (95 ns) in.
  // At the header's rate they would be at 100 and 2,200,000,000 ns.
  CHECK(times_across_anchors(kStart, 2'000'000'000, 4'200'000'000) ==
        std::vector<uint64_t>{95, 2'000'000'000 + 95'238'095});
  // Under a second apart: the header's rate, and the first chunk's anchor.
  CHECK(times_across_anchors(kStart, 500'000'000, 1'050'000'000) ==
        std::vector<uint64_t>{100, 525'000'000 + 100'000'000});
  // The same within a second of the end of uint64_t, where the first
  // chunk's time plus a second wrapped past 0 and the nearer chunks gave the
  // rate. (So late a head keeps its own time; the allocation is 1e8 ns in.)
  const uint64_t late = UINT64_MAX - 700'000'000;
  CHECK(times_across_anchors(late, 500'000'000, 1'050'000'000) ==
        std::vector<uint64_t>{late + 100 - kStart, late + 500'000'000 + 100'000'000 - kStart});
}

TEST_CASE("odd trace: frees of addresses that were never allocated") {
  TempDir dir("vramscope-odd");
  std::string path = dir.path("unknown-free.vstrace");
  {
    SimpleTraceWriter w(path, job_header());
    auto& e = w.encoder();
    REQUIRE(e.device(kGpu));
    REQUIRE(e.free(device_free(50, 0xdead0000)));  // before anything is live
    REQUIRE(e.alloc(device_alloc(100, kBase, 1 * MiB)));
    REQUIRE(e.free(device_free(200, kBase + 64 * MiB)));  // while something else is live
    // The right address in another kind's address space frees nothing.
    REQUIRE(e.free({.ticks = kStart + 250,
                    .kind = MemoryKind::PinnedHost,
                    .api = Api::cuMemFreeHost,
                    .via = Api::cudaFreeHost,
                    .address = kBase}));
    REQUIRE(e.free(device_free(300, kBase)));
    REQUIRE(e.end(kStart + 400, EndReason::Exit, 0, 1));
  }
  Analyzed a = analyze_file(path);
  const analysis::Report& r = a.report;
  CHECK_FALSE(r.trace.cut_short);
  CHECK(r.counts.events == 5);
  CHECK(r.counts.allocations == 1);
  CHECK(r.counts.frees == 1);
  CHECK(r.counts.unmatched_frees == 3);
  CHECK(r.counts.missing_frees == 0);
  REQUIRE(r.devices.size() == 1);
  CHECK(r.devices[0].peak.bytes == 1 * MiB);
  CHECK(r.devices[0].peak.time_ns == 100);
  CHECK(r.devices[0].peak.live_allocations == 1);
  CHECK(r.devices[0].live_at_exit_bytes == 0);  // not negative, not wrapped around
  CHECK(r.leaks.bytes == 0);
  CHECK(r.leaks.count == 0);
  CHECK(r.leaks.groups.empty());
  const analysis::KindTotals* device = kind_totals(r, MemoryKind::Device);
  REQUIRE(device != nullptr);
  CHECK(device->allocations == 1);
  CHECK(device->frees == 1);
  CHECK(device->allocated_bytes == 1 * MiB);
  CHECK(device->peak_bytes == 1 * MiB);
  CHECK(device->live_at_exit_bytes == 0);
  CHECK(device->live_at_exit_count == 0);
  // The stray pinned-host free makes its kind occur, with nothing allocated or freed.
  const analysis::KindTotals* pinned = kind_totals(r, MemoryKind::PinnedHost);
  REQUIRE(pinned != nullptr);
  CHECK(pinned->allocations == 0);
  CHECK(pinned->frees == 0);
  CHECK(pinned->peak_bytes == 0);
  CHECK(pinned->live_at_exit_bytes == 0);

  CHECK(a.json["counts"]["unmatched_frees"] == 3);
  CHECK(a.json["counts"]["frees"] == 1);
  CHECK(a.json["devices"][0]["live_at_exit_bytes"] == 0);
  CHECK(contains(a.text, "note: 3 frees of unknown addresses ignored\n"));
  CHECK(contains(
      a.text, "\nLive at exit: 0 B in 0 allocations (device, managed and pinned host memory)\n  nothing\n"));
}

TEST_CASE("odd trace: an allocation freed twice") {
  TempDir dir("vramscope-odd");
  std::string path = dir.path("double-free.vstrace");
  {
    SimpleTraceWriter w(path, job_header());
    auto& e = w.encoder();
    REQUIRE(e.device(kGpu));
    REQUIRE(e.alloc(device_alloc(100, kBase, 2 * MiB)));
    REQUIRE(e.free(device_free(200, kBase)));
    REQUIRE(e.free(device_free(300, kBase)));
    REQUIRE(e.alloc(device_alloc(400, kBase + 4 * MiB, 1 * MiB)));
    REQUIRE(e.end(kStart + 500, EndReason::Exit, 0, 1));
  }
  Analyzed a = analyze_file(path);
  const analysis::Report& r = a.report;
  CHECK(r.counts.events == 4);
  CHECK(r.counts.allocations == 2);
  CHECK(r.counts.frees == 1);
  CHECK(r.counts.unmatched_frees == 1);
  CHECK(r.counts.missing_frees == 0);
  REQUIRE(r.devices.size() == 1);
  CHECK(r.devices[0].peak.bytes == 2 * MiB);
  CHECK(r.devices[0].peak.time_ns == 100);
  CHECK(r.devices[0].live_at_exit_bytes == 1 * MiB);  // the second free took nothing off
  CHECK(r.leaks.bytes == 1 * MiB);
  CHECK(r.leaks.count == 1);
  REQUIRE(r.kinds.size() == 1);
  CHECK(r.kinds[0].allocations == 2);
  CHECK(r.kinds[0].frees == 1);
  CHECK(r.kinds[0].live_at_exit_bytes == 1 * MiB);
  CHECK(r.kinds[0].live_at_exit_count == 1);
  CHECK(a.json["counts"]["unmatched_frees"] == 1);
  CHECK(contains(a.text, "note: 1 free of unknown addresses ignored\n"));
}

namespace {

// What the report must say about the records complete before a cut.
struct Expected {
  uint64_t end_offset = 0;  // in the chunk's payload: the record is complete when the cut is at or past it
  uint64_t events = 0;
  uint64_t allocations = 0;
  uint64_t frees = 0;
  uint64_t live_bytes = 0;
  uint64_t peak_bytes = 0;
  uint64_t peak_time = 0;
  bool has_end = false;
};

// Allocations and frees interleaved on one device, then an End record.
// Returns the expectation after each record, in order.
std::vector<Expected> write_cut_trace(const std::string& path, uint32_t chunk_bytes) {
  std::vector<Expected> after;
  Expected now;
  SimpleTraceWriter w(path, job_header(), chunk_bytes);
  auto& e = w.encoder();
  auto record = [&](bool ok) {
    REQUIRE(ok);
    now.end_offset = e.used();
    after.push_back(now);
  };
  record(e.device(kGpu));
  record(e.thread(ThreadIndex{1}, 4242, "python"));
  uint64_t t = 0;
  std::vector<uint64_t> sizes;
  for (uint64_t i = 0; i < 6; ++i) {
    uint64_t size = (i + 1) * MiB;
    sizes.push_back(size);
    t += 100;
    now.events += 1;
    now.allocations += 1;
    now.live_bytes += size;
    if (now.live_bytes > now.peak_bytes) now.peak_bytes = now.live_bytes, now.peak_time = t;
    record(e.alloc(device_alloc(t, kBase + i * 64 * MiB, size)));
    if (i % 2 == 1) {  // free the one before
      t += 100;
      now.events += 1;
      now.frees += 1;
      now.live_bytes -= sizes[i - 1];
      record(e.free(device_free(t, kBase + (i - 1) * 64 * MiB)));
    }
  }
  t += 100;
  now.has_end = true;
  record(e.end(kStart + t, EndReason::Exit, 0, 1));
  return after;
}

}  // namespace

TEST_CASE("odd trace: cut at every byte, in the header and in the records") {
  TempDir dir("vramscope-odd");
  std::string whole_path = dir.path("whole.vstrace");
  const uint32_t chunk_bytes = 4096 * 5;
  std::vector<Expected> after = write_cut_trace(whole_path, chunk_bytes);
  std::vector<char> whole = slurp(whole_path);
  layout::FilePrefix prefix;
  REQUIRE(whole.size() >= sizeof prefix);
  std::memcpy(&prefix, whole.data(), sizeof prefix);
  const size_t header_end = sizeof prefix + prefix.header_payload_bytes;  // the header's payload ends here
  const size_t chunk_start = prefix.header_total_bytes;
  const size_t payload_start = chunk_start + sizeof(layout::ChunkHead);
  const size_t records_end = payload_start + after.back().end_offset;
  REQUIRE(chunk_start == 4096);
  REQUIRE(whole.size() == chunk_start + chunk_bytes);

  // The whole trace, for reference.
  {
    Analyzed full = analyze_file(whole_path);
    CHECK_FALSE(full.report.trace.cut_short);
    CHECK(full.report.counts.events == 9);
    CHECK(full.report.counts.allocations == 6);
    CHECK(full.report.counts.frees == 3);
    CHECK(full.report.leaks.bytes == (2 + 4 + 6) * MiB);
    REQUIRE(full.report.devices.size() == 1);
    // 1, 3, 2, 5, 9, 6, 11, 17, then the free of the 5 MiB one: 12.
    CHECK(full.report.devices[0].peak.bytes == (2 + 4 + 5 + 6) * MiB);
    CHECK(full.report.devices[0].peak.time_ns == 800);
  }

  // Every byte, but only some of the header's zero padding, where every cut reads the same.
  std::vector<size_t> cuts;
  for (size_t cut = 0; cut <= records_end + 8; ++cut) {
    if (cut <= header_end + 8 || cut + 8 >= chunk_start || cut % 61 == 0) cuts.push_back(cut);
  }
  for (size_t cut : {records_end + 100, chunk_start + chunk_bytes / 2, whole.size() - 1}) cuts.push_back(cut);

  std::string path = dir.path("cut.vstrace");
  size_t previous_events = 0;
  for (size_t cut : cuts) {
    CAPTURE(cut);
    spit(path, whole, cut);
    if (cut < header_end) {
      // The header is incomplete: refused with one line, never a crash.
      std::string message;
      try {
        read_trace_file(path);
      } catch (const TraceError& error) {
        message = error.what();
      }
      REQUIRE_FALSE(message.empty());
      CHECK_THROWS_WITH_AS(analysis::analyze_trace_file(path), message.c_str(), TraceError);
      CHECK(message.find('\n') == std::string::npos);
      CHECK(message.rfind(path + ": ", 0) == 0);
      if (cut == 0) {
        CHECK(message == path + ": empty file, not a vramscope trace");
      } else if (cut < sizeof layout::kFileMagic) {
        CHECK(message == path + ": not a vramscope trace");
      } else {
        CHECK(message == path + ": trace header is incomplete (the file was cut short at " +
                             std::to_string(cut) + " bytes)");
      }
      continue;
    }
    Analyzed a;
    REQUIRE_NOTHROW(a = analyze_file(path));
    const analysis::Report& r = a.report;
    // What was complete before the cut.
    Expected expected;
    if (cut >= payload_start) {
      for (const Expected& e : after) {
        if (e.end_offset <= cut - payload_start) expected = e;
      }
    }
    CHECK(r.counts.events == expected.events);
    CHECK(r.counts.allocations == expected.allocations);
    CHECK(r.counts.frees == expected.frees);
    CHECK(r.counts.unmatched_frees == 0);
    CHECK(r.leaks.bytes == expected.live_bytes);
    CHECK(r.trace.end.has_value() == expected.has_end);
    if (cut >= payload_start) {
      REQUIRE(r.devices.size() == (expected.end_offset > 0 ? 1u : 0u));
    }
    if (expected.allocations > 0) {
      CHECK(r.devices[0].peak.bytes == expected.peak_bytes);
      CHECK(r.devices[0].peak.time_ns == expected.peak_time);
      CHECK(r.devices[0].live_at_exit_bytes == expected.live_bytes);
    }
    CHECK(r.counts.events >= previous_events);
    previous_events = r.counts.events;
    // Cut short unless only zero padding after the End record was lost.
    CHECK(r.trace.cut_short == (cut < records_end));
    if (cut <= chunk_start) {
      CHECK(r.trace.cut_short_reason == kNoEndReason);
    } else if (cut < payload_start) {
      CHECK(r.trace.cut_short_reason == "the file ends inside a chunk header at byte offset 4096");
    } else if (cut < records_end) {
      CHECK(r.trace.cut_short_reason == "the file ends inside a chunk at byte offset 4096");
    } else {
      CHECK(r.trace.cut_short_reason == "");
    }
    CHECK(contains(a.text, "WARNING: trace cut short") == (cut < records_end));
    CHECK(a.json["trace"]["cut_short"] == (cut < records_end));
  }
  CHECK(previous_events == 9);
}

TEST_CASE("odd trace: records not as written are read again, checked, for the report") {
  TempDir dir("vramscope-odd");
  std::string path = dir.path("odd-records.vstrace");
  {
    TraceFileWriter file;
    REQUIRE(file.open(path, job_header(), false) == 0);
    ChunkSlot one;
    REQUIRE(file.claim(one, ThreadIndex{1}, kStart, kStart));
    REQUIRE(one.encoder.device(kGpu));
    REQUIRE(one.encoder.alloc(device_alloc(100, kBase, 4 * MiB)));
    REQUIRE(one.encoder.alloc(device_alloc(200, kBase + 16 * MiB, 1 * MiB)));
    REQUIRE(one.encoder.free(device_free(300, kBase)));
    REQUIRE(one.encoder.end(kStart + 400, EndReason::Exit, 0, file.claimed_chunks()));
    file.seal(one);
    file.close();
  }
  std::vector<char> bytes = slurp(path);
  layout::FilePrefix prefix;
  std::memcpy(&prefix, bytes.data(), sizeof prefix);
  const size_t chunk = prefix.header_total_bytes;
  layout::ChunkHead head;
  std::memcpy(&head, bytes.data() + chunk, sizeof head);
  head.sealed_length = 0;  // unsealed: no checksum guards the records

  // The chunk's clock runs past 2^64 ns: its events' times wrap, out of
  // order, and a checked read sorts them. The free, at time 0, comes first.
  layout::ChunkHead wrapped = head;
  wrapped.base_time_ns = ~uint64_t{0} - 250;
  std::memcpy(bytes.data() + chunk, &wrapped, sizeof wrapped);
  spit(path, bytes, bytes.size());
  Analyzed a = analyze_file(path);  // both ways, the same report
  CHECK(a.report.counts.allocations == 2);
  CHECK(a.report.counts.frees == 0);
  CHECK(a.report.counts.unmatched_frees == 1);

  // A record of no known type: the checked read's error, word for word.
  std::memcpy(bytes.data() + chunk, &head, sizeof head);
  bytes[chunk + sizeof head] = 0x1f;
  spit(path, bytes, bytes.size());
  std::string expected =
      path + ": corrupt chunk at byte offset " + std::to_string(chunk) + " (unknown record type 31)";
  CHECK_THROWS_WITH_AS(read_trace_file(path), expected.c_str(), TraceError);
  CHECK_THROWS_WITH_AS(analysis::analyze_trace_file(path), expected.c_str(), TraceError);
}

TEST_CASE("a trace that lists no device and has no memory on one: the viewer's timeline by site is empty") {
  // Found by the view fuzzer: the timeline by site asked for the timeline's
  // device by number, and a device the trace neither lists nor uses is an
  // error (`vramscope timeline --device 0`'s), which ended the viewer
  // (`vramscope view TRACE --by site`: terminate, status 134). The one
  // allocation, of no bytes on device 5, makes no device report.
  TempDir dir("vramscope-odd");
  const std::string path = dir.path("no-device.vstrace");
  {
    SimpleTraceWriter w(path, job_header());
    REQUIRE(w.encoder().alloc({.ticks = kStart + 100,
                               .kind = MemoryKind::Device,
                               .api = Api::cuMemAlloc,
                               .device = 5,
                               .address = kBase}));
    REQUIRE(w.encoder().end(kStart + 600, EndReason::Exit, 0, 1));
  }
  ui::ViewerModel model = ui::load_model(path, 64);
  CHECK(model.report.devices.empty());
  CHECK(model.timeline.device == 0);
  CHECK(model.timeline.bucket_count == 0);
  const ui::TimelineLevels* by_site = nullptr;
  CHECK_NOTHROW(by_site = model.site_levels(true));
  REQUIRE(by_site != nullptr);
  CHECK(by_site->series_count() == model.levels.series_count());
}
