// Trace file creation, chunk claiming and sealing over a shared mapping.
#include "formats/trace_file_writer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "formats/record_decoder.h"

namespace vramscope::trace {

namespace {

constexpr uint64_t kGrowChunks = 16;  // grow the file this many chunks at a time

void put_varint(std::string& out, uint64_t v) {
  uint8_t buffer[10];
  uint8_t* end = layout::put_varint(buffer, v);
  out.append(reinterpret_cast<char*>(buffer), static_cast<size_t>(end - buffer));
}

void put_string(std::string& out, std::string_view s) {
  s = s.substr(0, layout::kMaxStringBytes);
  put_varint(out, s.size());
  out.append(s);
}

// ftruncate and posix_fallocate, again when a signal interrupts them (a job
// may catch signals without SA_RESTART; tmpfs's fallocate gives up on any
// pending signal): their errno / error number otherwise, 0 when done.
int truncate_to(int fd, off_t size) {
  while (ftruncate(fd, size) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

int allocate_blocks(int fd, off_t offset, off_t length) {
  int error = 0;
  do {
    error = posix_fallocate(fd, offset, length);
  } while (error == EINTR);
  return error;
}

bool write_all(int fd, const void* data, size_t size, off_t offset) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = pwrite(fd, p, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

}  // namespace

std::string encode_header_payload(const Header& h) {
  std::string out;
  put_string(out, h.clock);
  put_varint(out, h.start_ns);
  put_varint(out, h.start_unix_ns);
  put_varint(out, h.ticks_per_second);
  put_varint(out, h.pid);
  put_varint(out, h.parent_pid);
  put_string(out, h.host);
  put_varint(out, layout::zigzag(h.rank));
  put_varint(out, layout::zigzag(h.local_rank));
  put_varint(out, layout::zigzag(h.world_size));
  put_varint(out, h.command_line.size());
  for (const auto& arg : h.command_line) put_string(out, arg);
  put_varint(out, h.devices.size());
  for (const auto& d : h.devices) {
    put_varint(out, d.ordinal);
    put_string(out, d.name);
    put_varint(out, d.total_bytes);
    out.push_back(d.simulated ? 1 : 0);
  }
  return out;
}

TraceFileWriter::~TraceFileWriter() { close(); }

int TraceFileWriter::open(const std::string& path, const Header& header, bool exclusive, uint32_t chunk_bytes) {
  if (chunk_bytes < ChunkEncoder::kMaxRecordBytes + sizeof(layout::ChunkHead) || chunk_bytes % 4096 != 0) {
    return EINVAL;
  }
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  int fd = ::open(path.c_str(), flags, 0600);  // GPU memory and stacks of the job: its owner's only
  if (fd < 0) return errno;

  std::string payload = encode_header_payload(header);
  layout::FilePrefix prefix{};
  std::memcpy(prefix.magic, layout::kFileMagic, sizeof prefix.magic);
  prefix.version = kFormatVersion;
  prefix.header_payload_bytes = static_cast<uint32_t>(payload.size());
  uint64_t raw = sizeof prefix + payload.size();
  prefix.header_total_bytes = static_cast<uint32_t>((raw + layout::kFileAlignment - 1) / layout::kFileAlignment *
                                                    layout::kFileAlignment);
  prefix.chunk_bytes = chunk_bytes;
  prefix.payload_crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
  if (!write_all(fd, &prefix, sizeof prefix, 0) ||
      !write_all(fd, payload.data(), payload.size(), sizeof prefix) ||
      truncate_to(fd, static_cast<off_t>(prefix.header_total_bytes)) != 0) {
    int error = errno ? errno : EIO;
    ::close(fd);
    return error;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int error = errno;
    ::close(fd);
    return error;
  }
  device_ = st.st_dev;
  inode_ = st.st_ino;
  char absolute[PATH_MAX];
  path_ = realpath(path.c_str(), absolute) ? absolute : path;
  fd_.store(fd, std::memory_order_release);
  chunk_bytes_ = chunk_bytes;
  data_offset_ = prefix.header_total_bytes;
  next_chunk_.store(0);
  claimed_at_stop_.store(0);
  file_bytes_.store(prefix.header_total_bytes);
  return 0;
}

// The file's blocks are allocated as it grows, not left sparse: a page of a
// shared mapping with no block behind it raises SIGBUS in the job when the
// disk is full. When the disk cannot hold the growth ahead, just what is
// needed; when not even that, the file grows no more.
bool TraceFileWriter::grow_to(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(grow_mutex_);
  uint64_t current = file_bytes_.load(std::memory_order_acquire);
  if (current >= bytes) return true;
  if (out_of_space_.load(std::memory_order_relaxed)) return false;
  for (uint64_t target : {bytes + (kGrowChunks - 1) * chunk_bytes_, bytes}) {
    const int fd = file_descriptor();
    if (fd < 0) break;
    int error = allocate_blocks(fd, static_cast<off_t>(current), static_cast<off_t>(target - current));
    if (error == 0) {
      file_bytes_.store(target, std::memory_order_release);
      return true;
    }
    if (error != ENOSPC && error != EFBIG && error != EDQUOT) return false;
  }
  out_of_space_.store(true, std::memory_order_relaxed);
  return false;
}

bool TraceFileWriter::claim(ChunkSlot& slot, ThreadIndex thread, uint64_t now_ns, uint64_t now_ticks) {
  if (fd_.load(std::memory_order_relaxed) < 0 || out_of_space_.load(std::memory_order_relaxed)) return false;
  uint64_t index = next_chunk_.fetch_add(1, std::memory_order_relaxed);
  if (index >= kNoMoreChunks) return false;
  uint64_t offset = data_offset_ + index * chunk_bytes_;
  if (file_bytes_.load(std::memory_order_acquire) < offset + chunk_bytes_ && !grow_to(offset + chunk_bytes_)) {
    return false;
  }
  // Populated up front: one system call instead of a page fault every few
  // hundred events.
  const int fd = file_descriptor();
  if (fd < 0) return false;
  void* memory = mmap(nullptr, chunk_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                      static_cast<off_t>(offset));
  if (memory == MAP_FAILED) return false;
  auto* head = static_cast<layout::ChunkHead*>(memory);
  head->thread = thread.value;
  head->base_time_ns = now_ns;
  head->base_ticks = now_ticks;
  __atomic_store_n(&head->magic, layout::kChunkMagic, __ATOMIC_RELEASE);
  slot.head = head;
  slot.bytes = chunk_bytes_;
  slot.encoder.start(reinterpret_cast<uint8_t*>(head + 1), chunk_bytes_ - static_cast<uint32_t>(sizeof *head),
                     now_ticks);
  return true;
}

void TraceFileWriter::seal(ChunkSlot& slot) {
  if (!slot.head) return;
  uint32_t used = slot.encoder.used();
  slot.head->crc = static_cast<uint32_t>(crc32(0, slot.encoder.payload(), used));
  // A sealed length of 0 would read as "unsealed", which reads the same.
  __atomic_store_n(&slot.head->sealed_length, used, __ATOMIC_RELEASE);
  abandon(slot);
}

int open_existing_trace(const std::string& path, int flags, layout::FilePrefix& prefix, uint64_t& file_bytes) {
  const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && pread(fd, &prefix, sizeof prefix, 0) == sizeof prefix &&
      std::memcmp(prefix.magic, layout::kFileMagic, sizeof prefix.magic) == 0) {
    file_bytes = static_cast<uint64_t>(st.st_size);
    return fd;
  }
  ::close(fd);
  return -1;
}

EarlierTrace earlier_trace_of(const std::string& path, uint32_t pid, uint64_t since_ns) {
  layout::FilePrefix prefix{};
  uint64_t file_bytes = 0;
  const int fd = open_existing_trace(path, O_RDONLY, prefix, file_bytes);
  if (fd < 0) return EarlierTrace::NotThisProcess;
  uint8_t payload[512];
  const ssize_t got = pread(fd, payload, sizeof payload, sizeof prefix);
  ByteCursor in(std::span<const uint8_t>(payload, got > 0 ? static_cast<size_t>(got) : 0));
  in.string();  // the clock's name
  const uint64_t start_ns = in.varint();
  in.varint();  // the wall-clock start
  in.varint();  // ticks per second
  const uint64_t header_pid = in.varint();
  EarlierTrace found = EarlierTrace::NotThisProcess;
  if (in.ok() && header_pid == pid && start_ns >= since_ns) {
    uint32_t magic = 0;
    const off_t second_chunk = static_cast<off_t>(prefix.header_total_bytes) + prefix.chunk_bytes;
    found = pread(fd, &magic, sizeof magic, second_chunk) == sizeof magic && magic == layout::kChunkMagic
                ? EarlierTrace::HasEvents
                : EarlierTrace::NoEvents;
  }
  ::close(fd);
  return found;
}

bool TraceFileWriter::end_abandoned(const std::string& path, EndReason reason, int32_t code,
                                    uint64_t now_ticks) {
  layout::FilePrefix prefix{};
  uint64_t file_bytes = 0;
  const int fd = open_existing_trace(path, O_RDWR, prefix, file_bytes);
  if (fd < 0) return false;
  bool ended = false;
  if (prefix.chunk_bytes > sizeof(layout::ChunkHead) && prefix.header_total_bytes >= sizeof prefix &&
      file_bytes >= uint64_t{prefix.header_total_bytes} + prefix.chunk_bytes) {
    void* memory = mmap(nullptr, prefix.chunk_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                        static_cast<off_t>(prefix.header_total_bytes));
    if (memory != MAP_FAILED) {
      ChunkSlot slot;
      slot.head = static_cast<layout::ChunkHead*>(memory);
      slot.bytes = prefix.chunk_bytes;
      const auto* payload = reinterpret_cast<const uint8_t*>(slot.head + 1);
      if (slot.head->magic == layout::kChunkMagic && slot.head->thread == 0 &&
          slot.head->sealed_length == 0 && payload[0] == 0) {
        slot.encoder.start(reinterpret_cast<uint8_t*>(slot.head + 1),
                           prefix.chunk_bytes - static_cast<uint32_t>(sizeof(layout::ChunkHead)),
                           slot.head->base_ticks);
        const uint64_t chunks = (file_bytes - prefix.header_total_bytes) / prefix.chunk_bytes;
        ended = slot.encoder.end(std::max(now_ticks, slot.head->base_ticks), reason, code, chunks);
        if (ended) {
          seal(slot);
        } else {
          abandon(slot);
        }
      } else {
        abandon(slot);
      }
    }
  }
  ::close(fd);
  return ended;
}

void TraceFileWriter::abandon(ChunkSlot& slot) {
  if (slot.head) munmap(slot.head, slot.bytes);
  slot.head = nullptr;
  slot.encoder.stop();
}

bool TraceFileWriter::is_ours(int fd) const {
  struct stat st {};
  return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == device_ && st.st_ino == inode_;
}

int TraceFileWriter::file_descriptor() {
  int fd = fd_.load(std::memory_order_acquire);
  if (fd < 0 || is_ours(fd)) return fd;
  std::lock_guard<std::mutex> lock(reopen_mutex_);
  fd = fd_.load(std::memory_order_acquire);
  if (is_ours(fd)) return fd;
  int fresh = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fresh >= 0 && !is_ours(fresh)) {  // the path names another file now
    ::close(fresh);
    fresh = -1;
  }
  if (fresh < 0) return -1;
  fd_.store(fresh, std::memory_order_release);
  return fresh;
}

void TraceFileWriter::stop_claims() {
  if (fd_.load() < 0) return;
  uint64_t claimed = next_chunk_.exchange(kNoMoreChunks);
  if (claimed >= kNoMoreChunks) return;
  claimed_at_stop_.store(claimed, std::memory_order_release);
  // Drop the unclaimed chunks the file grew ahead by.
  std::lock_guard<std::mutex> lock(grow_mutex_);
  uint64_t end = data_offset_ + claimed * chunk_bytes_;
  const int fd = file_descriptor();
  if (fd >= 0 && end < file_bytes_.load() && truncate_to(fd, static_cast<off_t>(end)) == 0)
    file_bytes_.store(end);
}

void TraceFileWriter::close() {
  if (fd_.load() < 0) return;
  stop_claims();
  const int fd = fd_.exchange(-1);
  if (is_ours(fd)) ::close(fd);
}

void TraceFileWriter::detach() {
  const int fd = fd_.exchange(-1);
  if (is_ours(fd)) ::close(fd);
  path_.clear();
}

SimpleTraceWriter::SimpleTraceWriter(const std::string& path, const Header& header, uint32_t chunk_bytes) {
  now_ = header.start_ns;
  int error = file_.open(path, header, false, chunk_bytes);
  if (error != 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(error));
  if (!file_.claim(slot_, ThreadIndex{1}, now_, now_)) throw std::runtime_error("cannot map a chunk of " + path);
}

SimpleTraceWriter::~SimpleTraceWriter() { finish(); }

void SimpleTraceWriter::roll() {
  file_.seal(slot_);
  if (!file_.claim(slot_, thread_, now_, now_))
    throw std::runtime_error("cannot map a chunk of " + file_.path());
}

void SimpleTraceWriter::switch_thread(ThreadIndex thread) {
  if (thread == thread_) return;
  thread_ = thread;
  roll();
}

void SimpleTraceWriter::finish() {
  if (finished_) return;
  finished_ = true;
  file_.seal(slot_);
  file_.close();
}

}  // namespace vramscope::trace
