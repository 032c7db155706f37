// A running job's events as they arrive (vramscope run --live; the stream is
// described in formats/live_protocol.h and docs/live.md): a thread of its own
// receives the trace file's bytes into an image, and at each round's end the
// image is a trace the viewer can open, like one cut off by a kill. When the
// job ends, its own trace file is the last and complete one.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ui/viewer_model.h"

namespace vramscope::live {
class Client;
}

namespace vramscope::ui {

// A trace to open: a copy of the image (in memory, `path` names it while
// `fd` is open), or the job's trace file at the end.
struct LiveTrace {
  std::string path;
  int fd = -1;         // the copy's; -1 for the job's own file
  bool final = false;  // the job has ended: nothing more will come
  ~LiveTrace();
  LiveTrace() = default;
  LiveTrace(LiveTrace&& other) noexcept;
  LiveTrace& operator=(LiveTrace&&) = delete;
};

class LiveFeed {
 public:
  // Connects (the socket's owner must be this user) and starts receiving.
  // Throws std::runtime_error with a line for the user.
  explicit LiveFeed(const std::string& socket_path);
  ~LiveFeed();
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // What arrived since the last call, as a trace to open; nullopt when no
  // round has ended since (or the last trace was the final one).
  std::optional<LiveTrace> take();

  const std::string& socket() const { return socket_; }
  bool ended() const { return ended_.load(); }
  uint64_t received_bytes() const { return received_.load(); }
  // Why the stream stopped early (a malformed message), or "".
  std::string error() const;

 private:
  void receive();

  std::string socket_;
  std::unique_ptr<live::Client> client_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ended_{false};
  std::atomic<uint64_t> received_{0};

  mutable std::mutex mutex_;  // guards what follows
  std::string image_;         // the trace file's bytes, as far as they came
  std::string trace_path_;    // the job's trace file, from the stream's first message
  bool round_ready_ = false;  // a round ended since the last take()
  bool final_taken_ = false;
  std::string error_;
};

// The viewer's side of a live job: opens each trace the feed hands over on a
// thread of its own, and swaps the model when it is ready; the window stays
// responsive meanwhile.
class LiveModel {
 public:
  explicit LiveModel(const std::string& socket_path) : feed_(socket_path) {}
  ~LiveModel();

  // Call once a frame: true when `model` was replaced by a newer trace.
  bool update(std::optional<ViewerModel>& model);
  // One line for the window: what arrived, and whether the job still runs.
  std::string status() const;
  bool ended() const { return feed_.ended(); }
  // The model shown is the job's last word: it ended, and its final trace is open.
  bool finished() const { return finished_; }
  const std::string& socket() const { return feed_.socket(); }
  // The job ended and nothing more can come (the model, if any, is the last).
  bool exhausted() const { return exhausted_; }

 private:
  LiveFeed feed_;
  std::future<ViewerModel> loading_;
  std::optional<LiveTrace> loading_trace_;
  std::optional<LiveTrace> shown_trace_;  // kept open while its model is shown
  int updates_ = 0;
  bool finished_ = false;
  bool exhausted_ = false;
  std::string error_;
};

}  // namespace vramscope::ui
