// vramscope run --live and vramscope view --attach: a viewer draws a job
// while it runs; a viewer that never reads does not stop the job nor cost it
// an event; an unsafe socket directory is refused. The trace file is the
// same as without --live, event for event.
#include <doctest/doctest.h>
#include <stb_image.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "formats/live_protocol.h"
#include "tests/integration/harness.h"

using namespace vramscope::testing;
namespace fs = std::filesystem;

namespace {

// The first "*.sock" to appear in `dir`, waiting up to 20 s; "" if none.
std::string wait_for_socket(const std::string& dir) {
  for (int i = 0; i < 2000; ++i) {
    std::error_code missing;
    for (const auto& entry : fs::directory_iterator(dir, missing)) {
      if (entry.path().extension() == ".sock") return entry.path().string();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

ProcessOptions live_env(const std::string& dir) {
  ProcessOptions options;
  options.set_env["VRAMSCOPE_LIVE_DIR"] = dir;
  return options;
}

uint64_t count(const nlohmann::json& report, const char* what) {
  return report["counts"][what].get<uint64_t>();
}

// What a viewer connected to `socket` got until the job closed the stream
// (at most 30 s): the trace file as received, each message's bytes at their
// offset. `cut_allowed`: a stream cut inside a message ends it too (the
// job's exit waits at most 250 ms for its last round) and keeps no image.
struct ReceivedStream {
  bool ended = false;
  std::string image;
};
ReceivedStream read_live_stream(const std::string& socket, bool cut_allowed) {
  vramscope::live::Client viewer(socket);
  vramscope::live::MessageHead head{};
  std::string payload;
  ReceivedStream got;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!got.ended && std::chrono::steady_clock::now() < give_up) {
    vramscope::live::Client::Next next;
    try {
      next = viewer.next(head, payload, 200);
    } catch (const std::exception& e) {
      if (!cut_allowed) throw;
      REQUIRE(std::string(e.what()) == "the live stream ended inside a message");
      got.ended = true;
      got.image.clear();
      break;
    }
    got.ended = next == vramscope::live::Client::Next::End;
    if (next != vramscope::live::Client::Next::Message || head.flags != vramscope::live::kBytes) continue;
    if (got.image.size() < head.offset + payload.size()) got.image.resize(head.offset + payload.size());
    got.image.replace(head.offset, payload.size(), payload);
  }
  return got;
}

}  // namespace

TEST_CASE("live: a viewer attached to a running job draws what has come; the trace is as without --live") {
  if (on_real_gpu()) return;  // the viewer is tested on simcuda traces alone
  ScratchDir scratch("live-attach");
  const std::string live_dir = scratch.path("sockets");  // made by vramscope run, 0700
  const std::string trace = scratch.path("live.vstrace");
  // Twenty steps 400 ms apart: time for Xvfb and the viewer to start, even under a sanitizer.
  const std::vector<std::string> job = {sample("train_mlp"), "--steps", "20", "--pause-ms", "400"};
  auto running = std::async(std::launch::async, [&] {
    return run_profiled(trace, job, {"--simulate=112MiB", "--live"}, live_env(live_dir));
  });
  const std::string socket = wait_for_socket(live_dir);
  REQUIRE(!socket.empty());
  struct stat dir_stat {};
  REQUIRE(stat(live_dir.c_str(), &dir_stat) == 0);
  CHECK((dir_stat.st_mode & 0777) == 0700);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // a step or two in: some events, not all

  const std::string png = scratch.path("live.png");
  ProcessResult view = run_process({"xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", VRAMSCOPE_BIN, "view",
                                    "--attach", "--screenshot", png, "--size", "800x400"},
                                   live_env(live_dir));
  INFO("stderr: " << view.err);
  REQUIRE(view.exit_status == 0);
  const ProcessResult ran = running.get();
  CHECK(ran.exit_status == 0);

  // "drew N events from SOCKET; the job was running"
  const std::string prefix = "drew ";
  REQUIRE(view.out.rfind(prefix, 0) == 0);
  const uint64_t drawn = std::stoull(view.out.substr(prefix.size()));
  CHECK(view.out == "drew " + std::to_string(drawn) + " events from " + socket + "; the job was running\n");

  const nlohmann::json live_report = report_json(trace);
  CHECK(drawn > 0);
  CHECK(drawn < count(live_report, "events"));
  // The picture: the parameters' colour (the first tensors made) is there.
  int width = 0, height = 0, channels = 0;
  unsigned char* pixels = stbi_load(png.c_str(), &width, &height, &channels, 3);
  REQUIRE(pixels != nullptr);
  size_t parameters = 0;
  for (int i = 0; i < width * height; ++i) {
    parameters += pixels[3 * i] == 31 && pixels[3 * i + 1] == 119 && pixels[3 * i + 2] == 180;
  }
  stbi_image_free(pixels);
  CHECK(parameters > 100);

  // The same job without --live (nor pauses): the same events, one for one.
  const std::string plain = scratch.path("plain.vstrace");
  run_profiled(plain, {sample("train_mlp"), "--steps", "20"}, {"--simulate=112MiB"});
  const nlohmann::json plain_report = report_json(plain);
  for (const char* what : {"events", "allocations", "frees", "markers"}) {
    CAPTURE(what);
    CHECK(count(live_report, what) == count(plain_report, what));
  }
  CHECK(live_report["devices"][0]["peak"]["bytes"] == plain_report["devices"][0]["peak"]["bytes"]);
  CHECK(!fs::exists(socket));  // removed when the job ended
}

TEST_CASE("live: a viewer that connects and never reads neither stops the job nor costs it an event") {
  if (on_real_gpu()) return;
  ScratchDir scratch("live-stalled");
  const std::string live_dir = scratch.path("sockets");
  const std::string trace = scratch.path("stalled.vstrace");
  // 2 M events, some 20 MB of trace: the socket's buffers fill many times over.
  auto running = std::async(std::launch::async, [&] {
    return run_profiled(trace, {sample("alloc_loop"), "--iterations", "1000000", "--wait-ms", "1000"},
                        {"--live"}, live_env(live_dir));
  });
  const std::string socket = wait_for_socket(live_dir);
  REQUIRE(!socket.empty());
  vramscope::live::Client stalled(socket);  // connected, never read
  const ProcessResult ran = running.get();
  CHECK(ran.exit_status == 0);
  CHECK(ran.out == "alloc_loop: 1000000 iterations\n");
  const nlohmann::json report = report_json(trace);
  CHECK(count(report, "allocations") == 1000000);
  CHECK(count(report, "frees") == 1000000);
  CHECK(report["trace"]["end"]["reason"] == "exit");
}

TEST_CASE("live: a socket directory others can open is refused; the job then runs and records as ever") {
  if (on_real_gpu()) return;
  ScratchDir scratch("live-unsafe");
  const std::string live_dir = scratch.path("open-to-all");
  fs::create_directory(live_dir);
  fs::permissions(live_dir, fs::perms::all);

  ProcessResult refused =
      run_vramscope({"run", "--live", "--simulate", "-o", scratch.path("x.vstrace"), "--", sample("leak")},
                    live_env(live_dir));
  CHECK(refused.exit_status == 1);
  CHECK(refused.err ==
        "vramscope: --live: " + live_dir + " can be opened by other users (mode 777; it must be 700)\n");
  CHECK(!fs::exists(scratch.path("x.vstrace")));

  // The injector asked directly (VRAMSCOPE_LIVE=1): one line, and the trace as ever.
  ProcessOptions options = live_env(live_dir);
  options.set_env["VRAMSCOPE_LIVE"] = "1";
  const std::string trace = scratch.path("leak.vstrace");
  ProcessResult ran = run_profiled(trace, {sample("leak")}, {}, options);
  CHECK(ran.err.find("vramscope: live off: " + live_dir +
                     " can be opened by other users (mode 777; it must be 700)\n") != std::string::npos);
  const nlohmann::json report = report_json(trace);
  CHECK(count(report, "allocations") == 20);
  CHECK(report["leaks"]["bytes"] == 10485760);

  // A symbolic link in the directory's place is refused too.
  const std::string link = scratch.path("link");
  fs::create_directory_symlink(scratch.path("sockets-real"), link);
  ProcessResult linked = run_vramscope({"run", "--live", "--simulate", "--", sample("leak")}, live_env(link));
  CHECK(linked.exit_status == 1);
  CHECK(linked.err == "vramscope: --live: " + link + " is a symbolic link, not a directory of this user's\n");
}

TEST_CASE("live: attaching where no job runs is one line") {
  if (on_real_gpu()) return;
  ScratchDir scratch("live-none");
  const std::string live_dir = scratch.path("sockets");
  fs::create_directory(live_dir);
  ProcessResult none =
      run_vramscope({"view", "--attach", "--screenshot", scratch.path("x.png")}, live_env(live_dir));
  CHECK(none.exit_status == 1);
  CHECK(none.err == "vramscope-view: no job to attach to in " + live_dir +
                        ": start one with 'vramscope run --live -- COMMAND'\n");
  ProcessResult missing =
      run_vramscope({"view", "--attach", scratch.path("gone.sock"), "--screenshot", scratch.path("x.png")});
  CHECK(missing.exit_status == 1);
  CHECK(missing.err == "vramscope-view: no live job at " + scratch.path("gone.sock") + " (no such socket)\n");
  ProcessResult both = run_vramscope({"view", "t.vstrace", "--attach"});
  CHECK(both.exit_status == 2);
  CHECK(both.err == "vramscope view: a trace or --attach, not both\n");
}

TEST_CASE("live: the stream's last round holds the whole trace, its end record included") {
  if (on_real_gpu()) return;
  ScratchDir scratch("live-last-round");
  const std::string live_dir = scratch.path("sockets");
  const std::string trace = scratch.path("loop.vstrace");
  // alloc_loop waits 1.5 s (the viewer attaches), allocates and frees 20,000
  // times and returns. Before, its exit ended the sending thread wherever it
  // was: the last round the viewer got was some way short of the end.
  auto running = std::async(std::launch::async, [&] {
    return run_profiled(trace, {sample("alloc_loop"), "--iterations", "20000", "--wait-ms", "1500"},
                        {"--live"}, live_env(live_dir));
  });
  const std::string socket = wait_for_socket(live_dir);
  REQUIRE(!socket.empty());
  const ReceivedStream got = read_live_stream(socket, false);
  REQUIRE(got.ended);
  REQUIRE(running.get().exit_status == 0);
  const std::string received = scratch.path("received.vstrace");
  std::ofstream(received, std::ios::binary) << got.image;
  const nlohmann::json from_stream = report_json(received);
  const nlohmann::json from_file = report_json(trace);
  CHECK(from_stream["trace"]["cut_short"] == false);
  CHECK(from_stream["trace"]["end"]["reason"] == "exit");
  CHECK(from_stream["trace"]["end"]["code"] == 0);
  CHECK(count(from_stream, "allocations") == 20000);
  for (const char* what : {"events", "allocations", "frees"}) {
    CAPTURE(what);
    CHECK(count(from_stream, what) == count(from_file, what));
  }
}

TEST_CASE("live: a child forked after a viewer attached does not hold the parent's stream open") {
  if (on_real_gpu()) return;
  ScratchDir scratch("live-fork");
  const std::string live_dir = scratch.path("sockets");
  const std::string trace = scratch.path("fork.vstrace");
  // The parent waits 1.5 s (the viewer attaches), forks, and ends; the
  // child, with the viewer's connection among what it inherited, lingers 4 s.
  auto running = std::async(std::launch::async, [&] {
    return run_profiled(trace, {sample("fork"), "--wait-ms", "1500", "--child-lingers-ms", "4000"},
                        {"--live"}, live_env(live_dir));
  });
  const std::string parent_socket = wait_for_socket(live_dir);
  REQUIRE(!parent_socket.empty());
  using Clock = std::chrono::steady_clock;
  const auto give_up = Clock::now() + std::chrono::seconds(30);
  // On a machine slow enough, the parent's exit does not wait for its last
  // round (once in 3 CI runs before that wait): a cut stream ended all the same.
  const bool ended = read_live_stream(parent_socket, true).ended;
  const auto stream_ended = Clock::now();
  REQUIRE(ended);
  // The child's own socket (it traces too) goes when the child ends, 4 s after the fork.
  auto child_socket_there = [&] {
    std::error_code missing;
    for (const auto& entry : fs::directory_iterator(live_dir, missing)) {
      if (entry.path().extension() == ".sock" && entry.path().string() != parent_socket) return true;
    }
    return false;
  };
  bool seen = false;
  while (Clock::now() < give_up && !(seen && !child_socket_there())) {
    seen |= child_socket_there();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto child_ended = Clock::now();
  CHECK(seen);
  // The parent's stream ended with the parent, seconds before the child.
  CHECK(std::chrono::duration<double>(child_ended - stream_ended).count() > 2.0);
  CHECK(running.get().exit_status == 0);
}
