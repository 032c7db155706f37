// Imports what torch.profiler writes into a trace the analyzer reads:
// Kineto's Chrome traces (`export_chrome_trace`, `tensorboard_trace_handler`:
// .json or .json.gz) with their `[memory]` events, and the raw files of
// `export_memory_timeline(... .raw.json[.gz])`. How they map onto segments,
// blocks and ranges is said at each function.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "formats/trace_reader.h"

namespace vramscope::trace {

// What the import made of the file, for the notes a command prints.
struct ProfilerImportNotes {
  uint64_t memory_events = 0;      // CUDA [memory] events (or timeline rows) imported
  uint64_t cpu_memory_events = 0;  // [memory] events of other devices, skipped
  uint64_t out_of_memory_events = 0;
  uint64_t ranges = 0;               // ProfilerStep and user-annotation slices imported as ranges
  uint64_t pre_existing_blocks = 0;  // allocated before the profile began, placed at its start
  uint64_t pre_existing_bytes = 0;
  uint64_t unmatched_frees = 0;  // frees of memory freed already
};

// A Chrome trace from torch.profiler with profile_memory=True, per CUDA device:
// - `[memory]` events with an address become tensor blocks (kind Block) at
//   that address; without one (PyTorch before 1.10), blocks at made-up
//   addresses, each free taking the last live block of its size.
// - A free of memory allocated before the profile began gets a block of its
//   own at the trace's start; so does the difference, when constant, between
//   the events' sum and their `Total Allocated` (memory held all along).
// - `Total Reserved` becomes segments (kind Device) at made-up addresses,
//   grown and shrunk so the reserved memory follows it exactly. Where the
//   events carry no reserved figure, the allocations are device memory
//   themselves (kind Device) and reserved equals allocated.
// - `[OutOfMemory]` events become failed allocations.
// - `ProfilerStep#N` slices and user annotations (record_function) become
//   ranges on their thread: the steps are the iterations.
// - Times count from the trace's earliest event; device names and sizes
//   come from its deviceProperties.
// Throws TraceError with one line a user can act on.
TraceContents import_kineto_trace(const std::string& path, ProfilerImportNotes* notes = nullptr);
TraceContents import_kineto_bytes(std::span<const uint8_t> bytes, const std::string& source,
                                  ProfilerImportNotes* notes = nullptr);

// A raw memory timeline: [time, action, bytes, category] rows for one device,
// action 1 pre-existing, 2 create, 3 a new version (a free then an
// allocation, each its own row), 4 destroy. Each tensor becomes device
// memory (kind Device, device 0) at a made-up address, each free taking the
// last live tensor of its category and size; pre-existing ones (and frees of
// tensors never created) start with the trace. Every tensor's stack is one
// frame naming its category (see kNamedCategoryFile), which the analyzer
// takes as the category.
TraceContents import_memory_timeline(const std::string& path, ProfilerImportNotes* notes = nullptr);
TraceContents import_memory_timeline_bytes(std::span<const uint8_t> bytes, const std::string& source,
                                           ProfilerImportNotes* notes = nullptr);

// A frame that names its tensor's category: its file is this, its function
// this, a space and one of the analyzer's category names ("<torch memory
// timeline> optimizer state").
inline constexpr std::string_view kNamedCategoryFile = "<torch memory timeline>";

// What a file holds, from its first bytes (gunzipped when gzip): a JSON
// object with traceEvents (a Chrome trace) or a JSON list (a raw memory
// timeline). Never throws: Unknown for a file it cannot read.
enum class ProfilerFile { Unknown, ChromeTrace, MemoryTimeline };
ProfilerFile sniff_profiler_file(const std::string& path);
ProfilerFile sniff_profiler_text(std::string_view head);

// Either import, as the file's first bytes say; TraceError for a file that
// is neither.
TraceContents import_profiler_file(const std::string& path, ProfilerImportNotes* notes = nullptr);

}  // namespace vramscope::trace
