// The viewer's side of a live job (ui/live_feed.h) against a stand-in job: a
// socket this test listens on, and the messages it writes there.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "formats/human_size.h"
#include "formats/live_protocol.h"
#include "formats/trace_contents_writer.h"
#include "temp_dir.h"
#include "trace_builder.h"
#include "ui/live_feed.h"

using namespace vramscope;
using vramscope::testing::TempDir;
using vramscope::testing::TraceBuilder;

namespace {

// The job's end of the socket: accepts the viewer, then writes what it is given.
class StandInJob {
 public:
  explicit StandInJob(const std::string& socket) : listen_fd_(live::listen_at(socket)) {
    REQUIRE(listen_fd_ >= 0);
  }
  ~StandInJob() {
    if (fd_ >= 0) close(fd_);
    close(listen_fd_);
  }
  void accept_viewer() {
    pollfd p{listen_fd_, POLLIN, 0};
    REQUIRE(poll(&p, 1, 10'000) == 1);
    fd_ = accept(listen_fd_, nullptr, nullptr);
    REQUIRE(fd_ >= 0);
  }
  void send(uint32_t flags, const std::string& payload, uint32_t length) {
    const live::MessageHead head{0, length, flags};
    REQUIRE(write(fd_, &head, sizeof head) == static_cast<ssize_t>(sizeof head));
    if (!payload.empty())
      REQUIRE(write(fd_, payload.data(), payload.size()) == static_cast<ssize_t>(payload.size()));
  }
  void hang_up() {
    close(fd_);
    fd_ = -1;
  }

 private:
  int listen_fd_;
  int fd_ = -1;
};

// Updates the model as the viewer does each frame, until nothing more can come.
void update_until_exhausted(ui::LiveModel& live, std::optional<ui::ViewerModel>& model) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!live.exhausted() && std::chrono::steady_clock::now() < give_up) {
    live.update(model);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(live.exhausted());
}

}  // namespace

TEST_CASE(
    "live feed: a stream cut by a bad message, then the job's whole file: the status says the job ended") {
  TempDir dir("vramscope-feed");
  TraceBuilder b;
  b.device(0, "gpu", 1 << 30);
  for (uint64_t i = 0; i < 3; ++i) b.alloc(1 + i, 0x100000 * (i + 1), 4096);
  const std::string trace = dir.path("job.vstrace");
  trace::write_trace_file(b.trace, trace);

  StandInJob job(dir.path("1.sock"));
  ui::LiveModel live(dir.path("1.sock"));
  job.accept_viewer();
  job.send(live::kPath, trace, static_cast<uint32_t>(trace.size()));
  job.send(live::kBytes, "", live::kMaxMessageBytes + 1);  // a length no message has
  job.hang_up();

  std::optional<ui::ViewerModel> model;
  update_until_exhausted(live, model);
  REQUIRE(model);
  CHECK(model->report.counts.allocations == 3);
  CHECK(live.finished());
  // Was: "...; the stream broke off: the live stream sent a message too long to be one".
  CHECK(live.status() == "live: " + format_size(sizeof(live::MessageHead) + trace.size()) +
                             " received, 1 update; the job ended");
}

TEST_CASE("live feed: a stream cut before any round, with no file to read: the status says why") {
  TempDir dir("vramscope-feed");
  StandInJob job(dir.path("2.sock"));
  ui::LiveModel live(dir.path("2.sock"));
  job.accept_viewer();
  const std::string missing = dir.path("gone.vstrace");
  job.send(live::kPath, missing, static_cast<uint32_t>(missing.size()));
  job.send(7, "", 0);  // a kind no job sends
  job.hang_up();

  std::optional<ui::ViewerModel> model;
  update_until_exhausted(live, model);
  CHECK_FALSE(model);
  CHECK_FALSE(live.finished());
  CHECK(live.status() ==
        "live: " + format_size(sizeof(live::MessageHead) + missing.size()) +
            " received, 0 updates; the stream broke off: the live stream sent a message of an "
            "unknown kind");
}
