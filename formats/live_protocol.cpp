// Sockets and directories with plain system calls: nothing here allocates
// more than a path, so the injector links it too.
#include "formats/live_protocol.h"

#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace vramscope::live {

namespace {

constexpr int kRestOfMessageMs = 10'000;  // once a message starts, the rest must follow within this

std::string error_text(int error) { return std::strerror(error); }

bool make_address(const std::string& path, sockaddr_un& address) {
  std::memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return true;
}

// Connects to `path`; the file descriptor, or -1 with errno.
int connect_to(const std::string& path) {
  sockaddr_un address;
  if (!make_address(path, address)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

// Reads exactly `size` bytes, waiting at most `timeout_ms` for each part.
// 1: read; 0: the stream ended before the first byte; -1: timed out before the first byte.
int read_exactly(int fd, char* data, size_t size, int first_timeout_ms) {
  size_t done = 0;
  while (done < size) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, done == 0 ? first_timeout_ms : kRestOfMessageMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw std::runtime_error("reading the live stream: " + error_text(errno));
    if (ready == 0) {
      if (done == 0) return -1;
      throw std::runtime_error("the live stream stopped inside a message");
    }
    ssize_t n = read(fd, data + done, size - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw std::runtime_error("reading the live stream: " + error_text(errno));
    if (n == 0) {
      if (done == 0) return 0;
      throw std::runtime_error("the live stream ended inside a message");
    }
    done += static_cast<size_t>(n);
  }
  return 1;
}

}  // namespace

std::string default_directory() {
  if (const char* dir = std::getenv("VRAMSCOPE_LIVE_DIR"); dir && *dir) return dir;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::string(runtime) + "/vramscope";
  }
  return "/tmp/vramscope-" + std::to_string(geteuid());
}

std::string prepare_directory(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return "cannot make the directory " + dir + ": " + error_text(errno);
  }
  struct stat s {};
  if (lstat(dir.c_str(), &s) != 0) return "cannot look at " + dir + ": " + error_text(errno);
  if (S_ISLNK(s.st_mode)) return dir + " is a symbolic link, not a directory of this user's";
  if (!S_ISDIR(s.st_mode)) return dir + " is not a directory";
  if (s.st_uid != geteuid()) return dir + " belongs to another user";
  if (s.st_mode & 077)
    return dir + " can be opened by other users (mode " + [&] {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(s.st_mode & 0777));
      return std::string(mode);
    }() + "; it must be 700)";
  return "";
}

std::string socket_path(const std::string& dir, long pid) {
  return dir + "/" + std::to_string(pid) + ".sock";
}

std::string newest_socket(const std::string& dir) {
  DIR* listing = opendir(dir.c_str());
  if (!listing) return "";
  std::vector<std::pair<int64_t, std::string>> sockets;  // (modified, path)
  while (dirent* entry = readdir(listing)) {
    std::string name = entry->d_name;
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".sock") != 0) continue;
    std::string path = dir + "/" + name;
    struct stat s {};
    if (lstat(path.c_str(), &s) != 0 || !S_ISSOCK(s.st_mode)) continue;
    sockets.emplace_back(static_cast<int64_t>(s.st_mtim.tv_sec) * 1'000'000'000 + s.st_mtim.tv_nsec, path);
  }
  closedir(listing);
  std::sort(sockets.begin(), sockets.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [modified, path] : sockets) {
    int fd = connect_to(path);  // a job killed without a word leaves its socket behind
    if (fd < 0) continue;
    close(fd);
    return path;
  }
  return "";
}

int listen_at(const std::string& path) {
  sockaddr_un address;
  if (!make_address(path, address)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  unlink(path.c_str());  // a socket left by an earlier process of this id
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 4) != 0) {
    const int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

Client::Client(const std::string& socket_path) {
  fd_ = connect_to(socket_path);
  if (fd_ < 0) {
    const int error = errno;
    if (error == ENOENT) throw std::runtime_error("no live job at " + socket_path + " (no such socket)");
    if (error == ECONNREFUSED) {
      throw std::runtime_error("nothing is listening at " + socket_path + " (the job has ended)");
    }
    throw std::runtime_error("cannot connect to " + socket_path + ": " + error_text(error));
  }
  ucred peer{};
  socklen_t size = sizeof peer;
  if (getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.uid != geteuid()) {
    close(fd_);
    fd_ = -1;
    throw std::runtime_error("the job at " + socket_path + " belongs to another user: not attaching");
  }
}

Client::~Client() {
  if (fd_ >= 0) close(fd_);
}

Client::Next Client::next(MessageHead& head, std::string& payload, int timeout_ms) {
  char raw[sizeof head];
  const int got = read_exactly(fd_, raw, sizeof raw, timeout_ms);
  if (got < 0) return Next::Timeout;
  if (got == 0) return Next::End;
  std::memcpy(&head, raw, sizeof head);
  if (head.length > kMaxMessageBytes)
    throw std::runtime_error("the live stream sent a message too long to be one");
  if (head.flags > kRoundEnd) throw std::runtime_error("the live stream sent a message of an unknown kind");
  payload.resize(head.length);
  if (head.length != 0 && read_exactly(fd_, payload.data(), payload.size(), kRestOfMessageMs) != 1) {
    throw std::runtime_error("the live stream ended inside a message");
  }
  return Next::Message;
}

}  // namespace vramscope::live
