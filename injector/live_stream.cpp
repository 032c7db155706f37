// The sending thread: every round (100 ms) it reads each chunk claimed so far
// with its own file descriptor, sends those new or changed since this viewer
// last got them, then a round's end. A viewer that stops reading only stalls
// this thread, and one that stalls it for kSendTimeout is dropped. At the
// process's end, after the end record, it sends a last round and closes the
// connections; the exit waits for that at most kLastRoundWaitMs.
#include "injector/live_stream.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "formats/live_protocol.h"
#include "formats/trace_layout.h"
#include "injector/state.h"

namespace vramscope::inject {

namespace {

constexpr int kRoundMs = 100;
constexpr timeval kSendTimeout{2, 0};  // a viewer that reads nothing for this long is dropped
constexpr size_t kMaxViewers = 4;
constexpr int kLastRoundWaitMs = 250;  // the most a job's exit waits for the last round

struct Viewer {
  int fd = -1;
  bool greeted = false;  // sent its path and header
  // Per chunk: what was last sent (a checksum of the bytes), kSealed once
  // sent sealed (final), 0 never.
  std::vector<uint64_t> sent;
  static constexpr uint64_t kSealed = ~uint64_t{0};
};

struct Stream {
  trace::TraceFileWriter* writer = nullptr;
  std::string trace_path;
  int listen_fd = -1;
  int trace_fd = -1;
  // The viewers' sockets as the thread keeps them, for a forked child to
  // close (it has the descriptors, not the thread): -1 where none.
  std::atomic<int> viewer_fds[kMaxViewers];
  uint64_t header_bytes = 0;
  uint32_t chunk_bytes = 0;
  uint64_t chunks = 0;  // claimed so far
  int wake[2] = {-1, -1};             // a pipe: a byte in it ends the wait for the next round
  std::atomic<bool> stopping{false};  // the process is ending: one last round
  std::atomic<bool> stopped{false};   // the last round is sent and the connections closed
};

uint64_t checksum(const std::vector<char>& bytes) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : bytes) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h | 1;  // never 0 (never sent) nor kSealed by accident
}

bool send_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // gone, or stalled past kSendTimeout
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool send_message(int fd, uint64_t offset, uint32_t flags, const void* data, size_t size) {
  live::MessageHead head{offset, static_cast<uint32_t>(size), flags};
  return send_all(fd, &head, sizeof head) && (size == 0 || send_all(fd, data, size));
}

bool read_at(int fd, std::vector<char>& into, uint64_t offset, size_t size) {
  into.resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, into.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Keeps Stream::viewer_fds as `viewers` are.
void publish_viewers(Stream& s, const std::vector<Viewer>& viewers) {
  for (size_t k = 0; k < kMaxViewers; ++k) s.viewer_fds[k].store(k < viewers.size() ? viewers[k].fd : -1);
}

void accept_viewers(Stream& s, std::vector<Viewer>& viewers) {
  for (;;) {
    int fd = accept4(s.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    ucred peer{};
    socklen_t size = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.uid != geteuid() ||
        viewers.size() >= kMaxViewers) {
      close(fd);
      continue;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kSendTimeout, sizeof kSendTimeout);
    viewers.push_back(Viewer{fd, false, {}});
    publish_viewers(s, viewers);
  }
}

// One round for a viewer: `chunks[i]` holds chunk i's bytes when a viewer
// needs it this round and it read the same twice, else nothing. False for a
// viewer to drop.
bool serve(Stream& s, Viewer& v, const std::vector<std::vector<char>>& chunks) {
  if (!v.greeted) {
    std::vector<char> header;
    if (!read_at(s.trace_fd, header, 0, s.header_bytes)) return false;
    if (!send_message(v.fd, 0, live::kPath, s.trace_path.data(), s.trace_path.size()) ||
        !send_message(v.fd, 0, live::kBytes, header.data(), header.size())) {
      return false;
    }
    v.greeted = true;
  }
  if (v.sent.size() < s.chunks) v.sent.resize(s.chunks, 0);
  for (uint64_t i = 0; i < s.chunks; ++i) {
    const std::vector<char>& bytes = chunks[i];
    if (bytes.empty() || v.sent[i] == Viewer::kSealed) continue;
    trace::layout::ChunkHead head;
    std::memcpy(&head, bytes.data(), sizeof head);
    if (head.magic != trace::layout::kChunkMagic) continue;  // claimed, not yet started
    const uint64_t mark = head.sealed_length != 0 ? Viewer::kSealed : checksum(bytes);
    if (mark == v.sent[i]) continue;
    if (!send_message(v.fd, s.header_bytes + i * s.chunk_bytes, live::kBytes, bytes.data(), bytes.size())) {
      return false;
    }
    v.sent[i] = mark;
  }
  return send_message(v.fd, 0, live::kRoundEnd, nullptr, 0);
}

void* run_stream(void* data) {
  Stream& s = *static_cast<Stream*>(data);
  std::vector<Viewer> viewers;
  std::vector<std::vector<char>> chunks;
  std::vector<char> again;
  for (;;) {
    pollfd p[2] = {{s.listen_fd, POLLIN, 0}, {s.wake[0], POLLIN, 0}};
    poll(p, 2, kRoundMs);
    const bool last = s.stopping.load(std::memory_order_acquire);
    accept_viewers(s, viewers);
    if (!viewers.empty()) {
      s.chunks = std::max(s.chunks, s.writer->claimed_chunks());
      // The chunks some viewer still lacks in final form, read for all at
      // once; the rest (most of a long trace, sealed and sent) not read at all.
      chunks.resize(s.chunks);
      for (uint64_t i = 0; i < s.chunks; ++i) {
        chunks[i].clear();
        const bool needed = std::any_of(viewers.begin(), viewers.end(), [&](const Viewer& v) {
          return i >= v.sent.size() || v.sent[i] != Viewer::kSealed;
        });
        if (!needed) continue;
        // A chunk a writer is filling can be copied half-changed (a copy's
        // loads need not go in order): it is sent only when two reads agree,
        // else next round.
        const uint64_t offset = s.header_bytes + i * s.chunk_bytes;
        if (!read_at(s.trace_fd, chunks[i], offset, s.chunk_bytes) ||
            !read_at(s.trace_fd, again, offset, s.chunk_bytes) || again != chunks[i]) {
          chunks[i].clear();
        }
      }
      for (size_t k = 0; k < viewers.size();) {
        if (serve(s, viewers[k], chunks)) {
          ++k;
        } else {
          close(viewers[k].fd);
          viewers.erase(viewers.begin() + static_cast<ptrdiff_t>(k));
          publish_viewers(s, viewers);
        }
      }
    }
    if (last) {
      // The end record was written before: each viewer has the whole trace.
      for (Viewer& v : viewers) shutdown(v.fd, SHUT_RDWR);
      s.stopped.store(true, std::memory_order_release);
      return nullptr;
    }
  }
}

// The stream's own descriptors, where open.
void close_all(Stream& s) {
  for (int fd : {s.listen_fd, s.trace_fd, s.wake[0], s.wake[1]}) {
    if (fd >= 0) close(fd);
  }
}

void live_off(const std::string& why) { std::fprintf(stderr, "vramscope: live off: %s\n", why.c_str()); }

}  // namespace

void start_live_stream(trace::TraceFileWriter* writer) {
  const char* live = std::getenv("VRAMSCOPE_LIVE");
  if (!live || std::strcmp(live, "1") != 0 || !writer) return;
  const std::string dir = live::default_directory();
  if (std::string why = live::prepare_directory(dir); !why.empty()) return live_off(why);

  auto* s = new Stream();  // the thread's, for the life of the process
  for (auto& fd : s->viewer_fds) fd.store(-1);
  s->writer = writer;
  char resolved[PATH_MAX];
  s->trace_path = realpath(writer->path().c_str(), resolved) ? resolved : writer->path();
  s->trace_fd = open(writer->path().c_str(), O_RDONLY | O_CLOEXEC);
  trace::layout::FilePrefix prefix{};
  if (s->trace_fd < 0 ||
      pread(s->trace_fd, &prefix, sizeof prefix, 0) != static_cast<ssize_t>(sizeof prefix)) {
    live_off("cannot read the trace back: " + std::string(std::strerror(errno)));
    if (s->trace_fd >= 0) close(s->trace_fd);
    delete s;
    return;
  }
  s->header_bytes = prefix.header_total_bytes;
  s->chunk_bytes = prefix.chunk_bytes;
  if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    live_off("cannot make its wake-up pipe: " + std::string(std::strerror(errno)));
    close_all(*s);
    delete s;
    return;
  }

  const std::string path = live::socket_path(dir, getpid());
  s->listen_fd = live::listen_at(path);
  if (s->listen_fd < 0) {
    live_off("cannot listen at " + path + ": " + std::strerror(errno));
    close_all(*s);
    delete s;
    return;
  }
  // The job's signals go to its own threads, never to this one.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_t thread;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  const int error = pthread_create(&thread, &attributes, run_stream, s);
  pthread_attr_destroy(&attributes);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (error != 0) {
    live_off("cannot start its thread: " + std::string(std::strerror(error)));
    unlink(path.c_str());
    close_all(*s);
    delete s;
    return;
  }
  InjectorState& st = state();
  std::snprintf(st.live_socket, sizeof st.live_socket, "%s", path.c_str());
  st.live_owner = getpid();
  st.live_stream = s;
}

void forget_live_stream_after_fork() {
  InjectorState& st = state();
  auto* s = static_cast<Stream*>(st.live_stream);
  st.live_stream = nullptr;
  if (!s) return;
  // The parent's thread is not here; its descriptors are. Closed, so that
  // a viewer sees the stream end when the parent does, whatever the child does.
  close_all(*s);
  for (auto& fd : s->viewer_fds) {
    if (fd.load() >= 0) close(fd.load());
  }
}

void stop_live_stream() {
  InjectorState& st = state();
  if (st.live_socket[0] && st.live_owner == getpid()) unlink(st.live_socket);
  st.live_socket[0] = 0;
  auto* s = static_cast<Stream*>(st.live_stream);
  st.live_stream = nullptr;
  if (!s || st.live_owner != getpid()) return;
  // The last round: sent by the thread, awaited here briefly. A viewer too
  // slow for it reads the rest from the trace file, as it does anyway.
  s->stopping.store(true, std::memory_order_release);
  const char wake = 1;
  if (write(s->wake[1], &wake, 1) != 1) return;
  constexpr timespec kMillisecond{0, 1'000'000};
  for (int waited = 0; waited < kLastRoundWaitMs && !s->stopped.load(std::memory_order_acquire); ++waited) {
    nanosleep(&kMillisecond, nullptr);
  }
}

}  // namespace vramscope::inject
