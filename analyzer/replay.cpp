#include "analyzer/replay.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "analyzer/async_pool_model.h"
#include "analyzer/caching_allocator_model.h"
#include "formats/snapshot_import.h"

namespace vramscope::analysis {

using trace::Event;
using trace::EventType;
using trace::kRoundingBlockAddress;
using trace::MemoryKind;

namespace {

bool is_device_memory(MemoryKind kind) {
  return kind == MemoryKind::Device || kind == MemoryKind::AsyncPool || kind == MemoryKind::VirtualMap;
}

bool is_job_request(MemoryKind kind) { return kind == MemoryKind::Device || kind == MemoryKind::AsyncPool; }

}  // namespace

ReplayInput replay_input(const trace::TraceContents& trace, std::optional<uint32_t> device) {
  // Which device, and whether the trace has an allocator's tensor blocks on it.
  std::optional<uint32_t> lowest;
  bool blocks_on[256] = {};
  trace.events.for_each(
      [&](size_t, const Event& e) {
        if (e.type != EventType::Alloc) return;
        if (e.kind == MemoryKind::Block && e.address != kRoundingBlockAddress && e.device < 256)
          blocks_on[e.device] = true;
        if ((e.kind == MemoryKind::Block || is_job_request(e.kind)) && (!lowest || e.device < *lowest))
          lowest = e.device;
      },
      trace::FreeFields::AsRecorded);
  if (!device) device = lowest;
  if (!device) throw std::invalid_argument("the trace holds no device allocations to replay");

  ReplayInput input;
  input.device = *device;
  input.tensor_level = *device < 256 && blocks_on[*device];
  for (const trace::DeviceInfo& d : trace.devices) {
    if (d.ordinal == *device) input.capacity = d.total_bytes;
  }
  std::unordered_map<uint64_t, uint64_t> stream_of_segment;  // base address → CUDA stream
  std::unordered_map<uint64_t, uint32_t> live;               // address → request id
  std::vector<uint64_t> size_of;                             // by request id
  uint64_t allocated = 0;
  std::unordered_map<uint64_t, uint64_t> device_live;  // address → bytes
  uint64_t reserved = 0;
  trace.events.for_each(
      [&](size_t index, const Event& e) {
        if (e.device != *device) return;
        const bool alloc = e.type == EventType::Alloc;
        if (is_device_memory(e.kind) && (alloc || e.type == EventType::Free)) {
          if (alloc) {
            device_live[e.address] = e.size;
            reserved += e.size;
            input.recorded_peak_reserved = std::max(input.recorded_peak_reserved, reserved);
            input.recorded_segments.push_back({e.size, e.address});
            stream_of_segment[e.address] = e.stream;
          } else if (auto it = device_live.find(e.address); it != device_live.end()) {
            reserved -= it->second;
            device_live.erase(it);
          }
        }
        if (input.tensor_level && e.type == EventType::FailedAlloc && e.api == trace::Api::cachingAllocator) {
          // The allocator's own out-of-memory: the request it could not serve,
          // replayed as asked and given back at once (what the job did with
          // it, had it been served, the trace cannot say).
          const uint32_t id = input.allocations++;
          input.requests.push_back(ReplayRequest{e.time_ns, e.size, e.stream, id, true});
          input.requests.push_back(ReplayRequest{e.time_ns, 0, e.stream, id, false});
          size_of.push_back(0);
          input.alloc_events.push_back(SIZE_MAX);
          input.recorded_failures += 1;
          return;
        }
        const bool request = input.tensor_level
                                 ? e.kind == MemoryKind::Block && e.address != kRoundingBlockAddress
                                 : is_job_request(e.kind);
        if (!request || (!alloc && e.type != EventType::Free)) return;
        if (alloc) {
          ReplayRequest r;
          r.time_ns = e.time_ns;
          r.size = e.size;
          r.id = input.allocations++;
          // A block's stream is its segment's (the event names the heap, at the segment's base).
          if (input.tensor_level) {
            auto s = stream_of_segment.find(e.stream);
            r.stream = s == stream_of_segment.end() ? 0 : s->second;
          } else {
            r.stream = e.stream;
          }
          auto [it, fresh] = live.try_emplace(e.address, r.id);
          if (!fresh) it->second = r.id;  // its earlier block's free was not recorded: it goes on as leaked
          size_of.push_back(e.size);
          input.alloc_events.push_back(index);
          allocated += e.size;
          input.recorded_peak_allocated = std::max(input.recorded_peak_allocated, allocated);
          input.requests.push_back(r);
          return;
        }
        auto it = live.find(e.address);
        if (it == live.end()) return;  // freed what was made before the recording
        ReplayRequest r;
        r.time_ns = e.time_ns;
        r.id = it->second;
        r.alloc = false;
        allocated -= size_of[r.id];
        live.erase(it);
        input.requests.push_back(r);
      },
      trace::FreeFields::AsRecorded);
  if (!input.tensor_level) {  // the requests are the driver's allocations
    input.recorded_segments.clear();
  }
  if (input.requests.empty()) throw std::invalid_argument("the trace holds no allocations on that device");
  return input;
}

const char* model_name(AllocatorModel model) {
  switch (model) {
    case AllocatorModel::Torch:
      return "torch";
    case AllocatorModel::TorchExpandable:
      return "torch-expandable";
    case AllocatorModel::CudaAsync:
      return "cuda-async";
    case AllocatorModel::Exact:
      return "exact";
  }
  return "?";
}

std::optional<AllocatorModel> parse_model(const std::string& text) {
  for (AllocatorModel m : {AllocatorModel::Torch, AllocatorModel::TorchExpandable, AllocatorModel::CudaAsync,
                           AllocatorModel::Exact}) {
    if (text == model_name(m)) return m;
  }
  return std::nullopt;
}

bool takes_torch_settings(AllocatorModel model) {
  return model == AllocatorModel::Torch || model == AllocatorModel::TorchExpandable;
}

std::optional<std::array<uint32_t, 16>> parse_roundup_divisions(const std::string& text, std::string& error) {
  std::array<uint32_t, 16> divisions{};
  auto number = [&](std::string_view s, uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
  };
  auto power_of_two_or_zero = [](uint64_t v) { return v == 0 || std::has_single_bit(v); };
  if (text.empty() || text.front() != '[') {
    uint64_t v = 0;
    if (!number(text, v) || !power_of_two_or_zero(v) || v > 1024) {
      error = "wants a power of two (or 0), or a list such as [256:1,512:2,>:8], not '" + text + "'";
      return std::nullopt;
    }
    divisions.fill(static_cast<uint32_t>(v));
    return divisions;
  }
  if (text.back() != ']') {
    error = "a list must end with ']': '" + text + "'";
    return std::nullopt;
  }
  std::string_view rest(text.data() + 1, text.size() - 2);
  size_t last_index = 0;
  bool first = true;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const size_t colon = entry.find(':');
    uint64_t value = 0;
    if (colon == std::string_view::npos || !number(entry.substr(colon + 1), value) ||
        !power_of_two_or_zero(value) || value > 1024) {
      error = "each entry is SIZE_MB:DIVISIONS (a power of two or 0), not '" + std::string(entry) + "'";
      return std::nullopt;
    }
    std::string_view key = entry.substr(0, colon);
    if (key == ">") {  // as PyTorch: every interval after the last one named
      std::fill(divisions.begin() + static_cast<ptrdiff_t>(last_index) + 1, divisions.end(),
                static_cast<uint32_t>(value));
      continue;
    }
    uint64_t megabytes = 0;
    if (!number(key, megabytes) || !std::has_single_bit(megabytes)) {
      error = "an interval is a power of two of MiB, or '>', not '" + std::string(key) + "'";
      return std::nullopt;
    }
    const size_t index = std::min<size_t>(static_cast<size_t>(std::countr_zero(megabytes)), 15);
    if (first) std::fill(divisions.begin(), divisions.begin() + static_cast<ptrdiff_t>(index), value);
    first = false;
    divisions[index] = static_cast<uint32_t>(value);
    last_index = index;
  }
  return divisions;
}

namespace {

// The exact allocator: each request gets its bytes and gives them back, no more.
class ExactModel {
 public:
  ExactModel(uint64_t capacity, uint32_t allocations) : capacity_(capacity), size_of_(allocations, 0) {}
  bool allocate(uint32_t id, uint64_t size, uint64_t) {
    if (size > capacity_ - live_) return false;
    size_of_[id] = size;
    live_ += size;
    return true;
  }
  void free(uint32_t id) { live_ -= std::exchange(size_of_[id], 0); }
  uint64_t reserved() const { return live_; }
  uint64_t allocated() const { return live_; }
  std::vector<uint64_t> segments() const { return {}; }  // one per request: not listed
  uint64_t segments_released() const { return 0; }
  uint64_t retries() const { return 0; }

 private:
  uint64_t capacity_;
  uint64_t live_ = 0;
  std::vector<uint64_t> size_of_;
};

template <typename Model>
ReplayResult run(const ReplayInput& input, Model& model, ReplayResult result, size_t points) {
  std::vector<uint64_t> size_of(input.allocations, 0);
  uint64_t requested = 0;
  const uint64_t first = input.requests.front().time_ns;
  const uint64_t span = input.requests.back().time_ns - first + 1;
  std::vector<ReplayPoint> stretches(points);
  size_t stretch = 0;
  auto stretch_end = [&](size_t k) {  // the first time of stretch k + 1
    return first + static_cast<uint64_t>(static_cast<unsigned __int128>(span) * (k + 1) / points);
  };
  uint64_t next_stretch = points > 0 ? stretch_end(0) : UINT64_MAX;
  for (size_t i = 0; i < input.requests.size(); ++i) {
    const ReplayRequest& r = input.requests[i];
    if (r.alloc) {
      if (!model.allocate(r.id, r.size, r.stream)) {
        result.oom = ReplayOom{i, r.time_ns, r.size, model.reserved(), model.allocated(), result.capacity};
        break;
      }
      size_of[r.id] = r.size;
      requested += r.size;
    } else {
      model.free(r.id);
      requested -= size_of[r.id];
    }
    result.requests_done = i + 1;
    const uint64_t reserved = model.reserved();
    const uint64_t allocated = model.allocated();
    if (reserved > result.peak_reserved) {
      result.peak_reserved = reserved;
      result.peak_reserved_time_ns = r.time_ns;
    }
    result.peak_allocated = std::max(result.peak_allocated, allocated);
    result.peak_requested = std::max(result.peak_requested, requested);
    if (reserved - allocated > result.peak_unused) {
      result.peak_unused = reserved - allocated;
      result.peak_unused_time_ns = r.time_ns;
    }
    if (points > 0) {
      while (r.time_ns >= next_stretch && stretch + 1 < points) next_stretch = stretch_end(++stretch);
      ReplayPoint& p = stretches[stretch];
      if (reserved >= p.reserved) p = ReplayPoint{r.time_ns, reserved, allocated};
    }
  }
  for (const ReplayPoint& p : stretches) {
    if (p.reserved > 0 || p.time_ns > 0) result.timeline.push_back(p);
  }
  result.segments = model.segments();
  result.segments_released = model.segments_released();
  result.retries = model.retries();
  return result;
}

}  // namespace

ReplayResult replay(const ReplayInput& input, AllocatorModel model, const TorchSettings& settings,
                    uint64_t capacity, size_t points) {
  ReplayResult result;
  result.model = model;
  result.capacity = capacity;
  if (input.requests.empty()) return result;
  if (model == AllocatorModel::Exact) {
    ExactModel exact(capacity, input.allocations);
    return run(input, exact, result, points);
  }
  if (model == AllocatorModel::CudaAsync) {
    AsyncPoolModel pool(capacity);
    return run(input, pool, result, points);
  }
  const bool expandable = model == AllocatorModel::TorchExpandable;
  CachingAllocatorModel torch(settings, capacity, expandable);
  torch.reserve(input.allocations);
  if (!expandable) torch.follow_addresses(input.recorded_segments);
  return run(input, torch, result, points);
}

uint64_t smallest_capacity(const ReplayInput& input, AllocatorModel model, const TorchSettings& settings) {
  constexpr uint64_t kStep = 2 << 20;
  const ReplayResult unbounded = replay(input, model, settings, UINT64_MAX, 0);
  uint64_t fits = (unbounded.peak_reserved + kStep - 1) / kStep * kStep;
  uint64_t fails = unbounded.peak_requested / kStep * kStep;  // below what is live at once, nothing fits
  if (fails >= fits) return fits;
  if (fails > 0 && !replay(input, model, settings, fails, 0).oom) fits = fails, fails = 0;
  while (fits - fails > kStep) {
    const uint64_t middle = fails + (fits - fails) / 2 / kStep * kStep;
    if (replay(input, model, settings, middle, 0).oom) {
      fails = middle;
    } else {
      fits = middle;
    }
  }
  return fits;
}

}  // namespace vramscope::analysis
