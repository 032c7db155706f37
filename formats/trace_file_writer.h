// The file side of trace writing: the header, and chunks handed to writer
// threads through a shared file mapping, so records already written survive
// SIGKILL (they are in the page cache, not in a buffer of this process).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "formats/chunk_encoder.h"
#include "formats/trace_events.h"

namespace vramscope::trace {

// A chunk claimed by one writer: its mapping and its encoder.
struct ChunkSlot {
  layout::ChunkHead* head = nullptr;
  uint32_t bytes = 0;
  ChunkEncoder encoder;
};

// Opens `path` (with `flags`: O_RDONLY or O_RDWR) when it is a regular file,
// not followed through a link, that begins as a trace does; reads its prefix
// and size. Returns the descriptor, or -1 for anything else.
int open_existing_trace(const std::string& path, int flags, layout::FilePrefix& prefix, uint64_t& file_bytes);

// Whether the trace at `path` was opened by process `pid` at or after
// `since_ns` (its header's start, on the writer's monotonic clock), and
// whether a chunk besides the end record's was claimed in it. Used after an
// exec, to tell a process's own earlier trace from one a recycled pid left.
enum class EarlierTrace { NotThisProcess, NoEvents, HasEvents };
EarlierTrace earlier_trace_of(const std::string& path, uint32_t pid, uint64_t since_ns);

class TraceFileWriter {
 public:
  TraceFileWriter() = default;
  TraceFileWriter(const TraceFileWriter&) = delete;
  TraceFileWriter& operator=(const TraceFileWriter&) = delete;
  ~TraceFileWriter();

  // Creates (truncates, or with `exclusive` refuses an existing) file and
  // writes the header. Returns an errno value, 0 on success.
  int open(const std::string& path, const Header& header, bool exclusive,
           uint32_t chunk_bytes = layout::kDefaultChunkBytes);
  bool is_open() const { return fd_.load(std::memory_order_relaxed) >= 0; }
  // Chunks claimed so far; once claims stop, the count they stopped at.
  uint64_t claimed_chunks() const {
    uint64_t n = next_chunk_.load(std::memory_order_relaxed);
    return n < kNoMoreChunks ? n : claimed_at_stop_.load(std::memory_order_acquire);
  }
  // Absolute: the job may change directory.
  const std::string& path() const { return path_; }
  // Whether the file could not grow for lack of space (disk full, quota,
  // file size limit): no chunk is claimed after that. The End record still
  // fits (its chunk is claimed at open), and its count of chunks is more than
  // the file holds, which is how a reader knows the trace lost events.
  bool out_of_space() const { return out_of_space_.load(std::memory_order_relaxed); }

  // Maps a fresh chunk for `thread`, anchored at this moment on both clocks.
  // No heap allocation; takes a mutex only when the file must grow. Returns
  // false if the file cannot grow or map.
  bool claim(ChunkSlot& slot, ThreadIndex thread, uint64_t now_ns, uint64_t now_ticks);
  // Seals (length and checksum) and unmaps the chunk.
  static void seal(ChunkSlot& slot);
  // Unmaps without sealing: for a forked child dropping its parent's chunks.
  static void abandon(ChunkSlot& slot);

  // No chunk is claimed after this; the file loses the unclaimed space it
  // grew ahead by. Safe while other threads still write their chunks.
  void stop_claims();
  // stop_claims(), then closes the file. Chunks still mapped stay readable
  // (unsealed).
  void close();
  // Forgets the file without touching it: for a forked child.
  void detach();

  // Ends a trace whose writer is gone without ending it (a program replaced
  // by exec): writes the End record into its end chunk, the first, which the
  // writer claims at open and leaves empty until then. Does nothing, and
  // returns false, unless the file is a trace whose end chunk is claimed
  // and still empty.
  static bool end_abandoned(const std::string& path, EndReason reason, int32_t code, uint64_t now_ticks);

 private:
  bool grow_to(uint64_t bytes);
  // The file's descriptor, opened again by path if the job closed ours (as a
  // daemon closes every descriptor); -1 if it cannot be. A number the job
  // reused for a file of its own is never touched.
  int file_descriptor();
  bool is_ours(int fd) const;

  static constexpr uint64_t kNoMoreChunks = uint64_t{1} << 40;

  std::atomic<int> fd_{-1};
  uint64_t device_ = 0;  // the file's identity, to know our descriptor from a reused number
  uint64_t inode_ = 0;
  std::mutex reopen_mutex_;
  std::string path_;
  uint32_t chunk_bytes_ = layout::kDefaultChunkBytes;
  uint64_t data_offset_ = 0;
  std::atomic<uint64_t> next_chunk_{0};
  std::atomic<uint64_t> claimed_at_stop_{0};
  std::atomic<uint64_t> file_bytes_{0};
  std::atomic<bool> out_of_space_{false};
  std::mutex grow_mutex_;
};

// Encodes the variable part of the file header.
std::string encode_header_payload(const Header& header);

// Writes a whole trace from one thread: for tests, generators and converters.
// Its ticks are nanoseconds (header.ticks_per_second must be 0).
class SimpleTraceWriter {
 public:
  // Throws std::runtime_error when the file cannot be created.
  SimpleTraceWriter(const std::string& path, const Header& header,
                    uint32_t chunk_bytes = layout::kDefaultChunkBytes);
  ~SimpleTraceWriter();

  // Runs `write(encoder)`; when the chunk is full, seals it, claims another
  // and runs it again.
  template <typename F>
  void write(F&& write_record) {
    if (!write_record(slot_.encoder)) {
      roll();
      write_record(slot_.encoder);
    }
  }
  ChunkEncoder& encoder() { return slot_.encoder; }
  void roll();
  // Goes on in a fresh chunk of `thread`: a thread's records are a run of its own chunks.
  void switch_thread(ThreadIndex thread);
  void finish();  // seals the last chunk and closes

  uint64_t now() const { return now_; }
  void set_now(uint64_t t) { now_ = t; }

 private:
  TraceFileWriter file_;
  ChunkSlot slot_;
  uint64_t now_ = 0;
  ThreadIndex thread_{1};
  bool finished_ = false;
};

}  // namespace vramscope::trace
