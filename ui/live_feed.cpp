// The receiving thread writes each chunk's bytes at their offset; take()
// copies the image into a memory file so the analyzer reads a still picture
// while more arrives.
#include "ui/live_feed.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "formats/human_size.h"
#include "formats/live_protocol.h"

namespace vramscope::ui {

namespace {

constexpr int kPollMs = 100;                            // how soon the thread sees stop_
constexpr uint64_t kMaxImageBytes = uint64_t{1} << 40;  // an offset past this is not a trace's

}  // namespace

LiveTrace::~LiveTrace() {
  if (fd >= 0) close(fd);
}

LiveTrace::LiveTrace(LiveTrace&& other) noexcept
    : path(std::move(other.path)), fd(other.fd), final(other.final) {
  other.fd = -1;
}

LiveFeed::LiveFeed(const std::string& socket_path)
    : socket_(socket_path), client_(std::make_unique<live::Client>(socket_path)) {
  thread_ = std::thread([this] { receive(); });
}

LiveFeed::~LiveFeed() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LiveFeed::receive() {
  live::MessageHead head{};
  std::string payload;
  try {
    while (!stop_) {
      const live::Client::Next next = client_->next(head, payload, kPollMs);
      if (next == live::Client::Next::Timeout) continue;
      if (next == live::Client::Next::End) break;
      received_ += sizeof head + payload.size();
      std::lock_guard lock(mutex_);
      if (head.flags == live::kPath) {
        trace_path_ = payload;
      } else if (head.flags == live::kRoundEnd) {
        round_ready_ = true;
      } else if (head.flags == live::kBytes) {
        if (head.offset > kMaxImageBytes || head.offset + payload.size() > kMaxImageBytes) {
          throw std::runtime_error("the job sent bytes past any trace's end");
        }
        const size_t end = static_cast<size_t>(head.offset) + payload.size();
        if (image_.size() < end) image_.resize(end);
        std::memcpy(image_.data() + head.offset, payload.data(), payload.size());
      }
    }
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    error_ = e.what();
  }
  ended_ = true;
}

std::optional<LiveTrace> LiveFeed::take() {
  std::lock_guard lock(mutex_);
  LiveTrace trace;
  if (ended_ && !final_taken_) {
    final_taken_ = true;
    trace.final = true;
    std::error_code missing;
    if (!trace_path_.empty() && std::filesystem::is_regular_file(trace_path_, missing)) {
      trace.path = trace_path_;  // complete: whatever the stream had time to send
      return trace;
    }
    if (image_.empty()) return std::nullopt;
  } else if (!round_ready_ || final_taken_) {
    return std::nullopt;
  }
  round_ready_ = false;
  trace.fd = memfd_create("vramscope-live", MFD_CLOEXEC);
  if (trace.fd < 0)
    throw std::runtime_error(std::string("cannot keep the live trace in memory: ") + std::strerror(errno));
  for (size_t done = 0; done < image_.size();) {
    const ssize_t n = write(trace.fd, image_.data() + done, image_.size() - done);
    if (n <= 0)
      throw std::runtime_error(std::string("cannot keep the live trace in memory: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  trace.path = "/proc/self/fd/" + std::to_string(trace.fd);
  return trace;
}

std::string LiveFeed::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

LiveModel::~LiveModel() {
  if (loading_.valid()) loading_.wait();
}

bool LiveModel::update(std::optional<ViewerModel>& model) {
  bool replaced = false;
  if (loading_.valid() && loading_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    const bool final = loading_trace_ && loading_trace_->final;
    try {
      ViewerModel next = loading_.get();
      model.reset();  // the trace it reads goes with it
      model.emplace(std::move(next));
      shown_trace_.reset();
      shown_trace_.emplace(std::move(*loading_trace_));
      ++updates_;
      replaced = true;
      error_.clear();  // a round that could not be read is behind us
      finished_ = final;
    } catch (const std::exception& e) {
      error_ = e.what();
    }
    loading_trace_.reset();
  }
  if (!loading_.valid() && !exhausted_) {
    try {
      const bool ended = feed_.ended();  // before take(): then nothing is left behind it
      if (std::optional<LiveTrace> next = feed_.take()) {
        loading_trace_.emplace(std::move(*next));
        loading_ = std::async(std::launch::async, [path = loading_trace_->path] { return load_model(path); });
      } else if (ended) {
        exhausted_ = true;
      }
    } catch (const std::exception& e) {
      error_ = e.what();
      exhausted_ = feed_.ended();
    }
  }
  if (finished_) exhausted_ = true;
  return replaced;
}

std::string LiveModel::status() const {
  std::string line = "live: " + format_size(feed_.received_bytes()) + " received, " +
                     std::to_string(updates_) + (updates_ == 1 ? " update" : " updates");
  // The job's own file, once read, is whole: how the stream ended no longer matters.
  if (finished_ && shown_trace_ && shown_trace_->fd < 0) return line + "; the job ended";
  if (!feed_.error().empty()) return line + "; the stream broke off: " + feed_.error();
  if (!error_.empty()) line += "; " + error_;
  if (finished_) return line + "; the job ended";
  return line + (feed_.ended() ? "; the job ended, reading its trace" : "; the job is running");
}

}  // namespace vramscope::ui
