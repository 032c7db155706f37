// The live stream of a running job's trace (vramscope run --live): the
// messages a job sends over its Unix socket, where the sockets live, and the
// client the viewer reads them with. docs/live.md describes it for users.
#pragma once

#include <cstdint>
#include <string>

namespace vramscope::live {

// Every message: this 16-byte head (little-endian), then `length` bytes.
struct MessageHead {
  uint64_t offset;
  uint32_t length;
  uint32_t flags;
};
static_assert(sizeof(MessageHead) == 16);

inline constexpr uint32_t kBytes = 0;     // the trace file's bytes [offset, offset + length)
inline constexpr uint32_t kPath = 1;      // the trace file's absolute path; the first message
inline constexpr uint32_t kRoundEnd = 2;  // length 0: every byte sent so far forms a readable trace prefix
inline constexpr uint32_t kMaxMessageBytes = 64u << 20;

// The directory for sockets: $VRAMSCOPE_LIVE_DIR if set, else
// $XDG_RUNTIME_DIR/vramscope if XDG_RUNTIME_DIR is set, else /tmp/vramscope-<uid>.
std::string default_directory();
// Creates `dir` with mode 0700 if missing (its parent must exist), or checks
// it: a real directory (not a symbolic link), owned by this user, with no
// permission for the group or others. "" when fine, else a one-line reason.
std::string prepare_directory(const std::string& dir);
std::string socket_path(const std::string& dir, long pid);  // dir/PID.sock
// The newest "*.sock" in `dir` that accepts a connection, or "".
std::string newest_socket(const std::string& dir);
// A listening socket at `path` (one left there before is removed first),
// non-blocking and closed on exec; -1 with errno when it cannot be made.
int listen_at(const std::string& path);

class Client {
 public:
  // Connects and checks that the socket's owner (SO_PEERCRED) is this user;
  // throws std::runtime_error with a line a user can act on.
  explicit Client(const std::string& socket_path);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  enum class Next { Message, Timeout, End };
  // Waits up to timeout_ms for one whole message. End: the job closed the
  // stream. Throws std::runtime_error on a malformed message.
  Next next(MessageHead& head, std::string& payload, int timeout_ms);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace vramscope::live
