// The what-if replay: PyTorch's caching allocator policy rule by rule on
// hand-made requests, and replays of real jobs' recordings that must make
// the segments those jobs made (docs/replay.md).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "analyzer/analysis.h"
#include "analyzer/caching_allocator_model.h"
#include "analyzer/replay.h"
#include "analyzer/replay_output.h"
#include "analyzer/replay_scaling.h"
#include "formats/snapshot_import.h"

using namespace vramscope;
using analysis::AllocatorModel;
using analysis::CachingAllocatorModel;
using analysis::ReplayInput;
using analysis::ReplayRequest;
using analysis::TorchSettings;

namespace {

constexpr uint64_t MiB = 1 << 20;
constexpr uint64_t GiB = uint64_t{1} << 30;

// Requests written as a list: a positive number allocates that many bytes
// (the next id), a negative one frees the allocation of that id (-1 frees id 0).
ReplayInput requests(std::initializer_list<int64_t> list) {
  ReplayInput input;
  uint64_t time = 0;
  for (int64_t item : list) {
    ReplayRequest r;
    r.time_ns = time += 1000;
    if (item > 0) {
      r.size = static_cast<uint64_t>(item);
      r.id = input.allocations++;
    } else {
      r.alloc = false;
      r.id = static_cast<uint32_t>(-item - 1);
      REQUIRE(r.id < input.allocations);  // a free of an allocation already made
    }
    input.requests.push_back(r);
  }
  return input;
}

int64_t mib(double n) { return static_cast<int64_t>(n * MiB); }

// The recorded segments' sizes, as a replay's result lists its own.
std::vector<uint64_t> sizes_of(const std::vector<analysis::RecordedSegment>& segments) {
  std::vector<uint64_t> sizes;
  for (const analysis::RecordedSegment& s : segments) sizes.push_back(s.size);
  return sizes;
}

trace::TraceContents snapshot(const std::string& name) {
  return trace::import_pytorch_snapshot(std::string(VRAMSCOPE_SOURCE_DIR) + "/tests/data/interop/" + name);
}

}  // namespace

TEST_CASE("caching allocator model: sizes are rounded as PyTorch rounds them") {
  CachingAllocatorModel plain(TorchSettings{}, UINT64_MAX);
  CHECK(plain.round_size(1) == 512);
  CHECK(plain.round_size(512) == 512);
  CHECK(plain.round_size(513) == 1024);
  CHECK(plain.round_size(1200 * MiB + 1) == 1200 * MiB + 512);
  // roundup_power2_divisions:4 cuts each power-of-two interval in 4 steps.
  TorchSettings four;
  four.roundup_power2_divisions.fill(4);
  CachingAllocatorModel rounded(four, UINT64_MAX);
  CHECK(rounded.round_size(1200 * MiB) == 1280 * MiB);  // 1 GiB to 2 GiB in steps of 256 MiB
  CHECK(rounded.round_size(1024 * MiB) == 1024 * MiB);  // a power of two stays
  CHECK(rounded.round_size(1280 * MiB) == 1280 * MiB);
  CHECK(rounded.round_size(1500) == 1536);  // under 512 x 4: the plain rule
  CHECK(rounded.round_size(3000) == 3072);  // 2048 to 4096 in steps of 512
  // The segment a request that finds no cached block makes.
  CHECK(CachingAllocatorModel::segment_size(512) == 2 * MiB);
  CHECK(CachingAllocatorModel::segment_size(1 * MiB) == 2 * MiB);
  CHECK(CachingAllocatorModel::segment_size(1 * MiB + 512) == 20 * MiB);
  CHECK(CachingAllocatorModel::segment_size(10 * MiB - 512) == 20 * MiB);
  CHECK(CachingAllocatorModel::segment_size(10 * MiB) == 10 * MiB);
  CHECK(CachingAllocatorModel::segment_size(12 * MiB + 512) == 14 * MiB);
}

TEST_CASE("roundup_power2_divisions is read as PYTORCH_CUDA_ALLOC_CONF writes it") {
  std::string error;
  auto all = analysis::parse_roundup_divisions("4", error);
  REQUIRE(all);
  CHECK((*all)[0] == 4);
  CHECK((*all)[15] == 4);
  auto list = analysis::parse_roundup_divisions("[256:1,512:2,1024:4,>:8]", error);
  REQUIRE(list);
  CHECK((*list)[0] == 1);  // up to the first interval named: its value
  CHECK((*list)[7] == 1);
  CHECK((*list)[8] == 1);  // 256 MiB to 512 MiB
  CHECK((*list)[9] == 2);
  CHECK((*list)[10] == 4);  // 1 GiB to 2 GiB: the last named
  CHECK((*list)[11] == 8);  // as PyTorch: '>' fills every interval after the last named
  CHECK((*list)[15] == 8);
  // An entry past the first sets its own interval alone: those between stay 0.
  auto gaps = analysis::parse_roundup_divisions("[2:4,16:2,>:8]", error);
  REQUIRE(gaps);
  const std::array<uint32_t, 16> expected_gaps{4, 4, 0, 0, 2, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
  CHECK(*gaps == expected_gaps);
  // '>' first: the interval before the one it would follow keeps its 0.
  auto only_rest = analysis::parse_roundup_divisions("[>:2]", error);
  REQUIRE(only_rest);
  CHECK((*only_rest)[0] == 0);
  CHECK((*only_rest)[1] == 2);
  CHECK_FALSE(analysis::parse_roundup_divisions("3", error));
  CHECK(error.find("power of two") != std::string::npos);
  CHECK_FALSE(analysis::parse_roundup_divisions("[300:2]", error));
  CHECK_FALSE(analysis::parse_roundup_divisions("[256:2", error));
}

TEST_CASE("replay prints roundup_power2_divisions so that PyTorch reads back the same intervals") {
  auto printed = [](const std::array<uint32_t, 16>& divisions) {
    analysis::TorchSettings s;
    s.roundup_power2_divisions = divisions;
    return analysis::settings_text(s);
  };
  auto read_back = [](const std::string& settings) {
    const std::string key = "roundup_power2_divisions:";
    REQUIRE(settings.starts_with(key));
    std::string error;
    auto divisions = analysis::parse_roundup_divisions(settings.substr(key.size()), error);
    REQUIRE(divisions);
    return *divisions;
  };
  std::array<uint32_t, 16> all_four{};
  all_four.fill(4);
  CHECK(printed(all_four) == "roundup_power2_divisions:4");
  // The first run one entry, the last '>', each interval between named.
  const std::array<uint32_t, 16> runs{4, 4, 4, 4, 2, 2, 2, 2, 8, 8, 8, 8, 8, 8, 8, 8};
  CHECK(printed(runs) == "roundup_power2_divisions:[8:4,16:2,32:2,64:2,128:2,>:8]");
  CHECK(read_back(printed(runs)) == runs);
  // Printed as runs of changes ("[1:4,2:2]"), PyTorch would have read 0 from 4 MiB on.
  const std::array<uint32_t, 16> then_two{4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  CHECK(printed(then_two) == "roundup_power2_divisions:[1:4,>:2]");
  CHECK(read_back(printed(then_two)) == then_two);
  const std::array<uint32_t, 16> last_differs{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 16};
  CHECK(printed(last_differs) == "roundup_power2_divisions:[16384:1,>:16]");
  CHECK(read_back(printed(last_differs)) == last_differs);
  const std::array<uint32_t, 16> zigzag{2, 0, 4, 0, 8, 0, 16, 0, 2, 0, 4, 0, 8, 0, 16, 0};
  CHECK(read_back(printed(zigzag)) == zigzag);

  // The other settings as modelled: whole MiB, and every digit of the threshold.
  analysis::TorchSettings other;
  other.max_split_size = uint64_t{256} << 20;
  other.garbage_collection_threshold = 0.1234567;
  CHECK(analysis::settings_text(other) == "max_split_size_mb:256,garbage_collection_threshold:0.1234567");
}

TEST_CASE("caching allocator model: a request takes the best cached block, split, and merges back") {
  // 5 MiB makes a 20 MiB segment and leaves a 15 MiB block cached; 6 MiB takes
  // it; both freed merge into one 20 MiB block, which 19 MiB takes whole (a
  // rest of 1 MiB is not split off in the large pool).
  ReplayInput in = requests({mib(5), mib(6), -1, -2, mib(19)});
  analysis::ReplayResult r = analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{20 * MiB});
  CHECK(r.peak_reserved == 20 * MiB);
  CHECK(r.peak_allocated == 20 * MiB);  // the 19 MiB request holds the whole block
  CHECK(r.peak_requested == 19 * MiB);
  CHECK(r.peak_unused == 20 * MiB);  // at the end: all of it cached
  // Small requests share 2 MiB segments: 4 x 512 KiB fill one.
  ReplayInput small = requests({mib(0.5), mib(0.5), mib(0.5), mib(0.5), mib(0.5)});
  r = analysis::replay(small, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{2 * MiB, 2 * MiB});
  // A stream's cached blocks serve that stream only.
  ReplayInput streams = requests({mib(0.5), -1, mib(0.5)});
  streams.requests[2].stream = 7;
  r = analysis::replay(streams, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{2 * MiB, 2 * MiB});
}

TEST_CASE("caching allocator model: a full device gives back cached segments and retries") {
  // 12 MiB cached, then 30 MiB on a 40 MiB device: the cache goes back first.
  ReplayInput in = requests({mib(12), -1, mib(30)});
  analysis::ReplayResult r = analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, 40 * MiB);
  CHECK_FALSE(r.oom);
  CHECK(r.segments == std::vector<uint64_t>{12 * MiB, 30 * MiB});
  CHECK(r.segments_released == 1);
  CHECK(r.retries == 1);
  CHECK(r.peak_reserved == 30 * MiB);
  // Held, not cached: out of memory at the third request.
  ReplayInput held = requests({mib(12), mib(30)});
  r = analysis::replay(held, AllocatorModel::Torch, TorchSettings{}, 40 * MiB);
  REQUIRE(r.oom);
  CHECK(r.oom->request == 1);
  CHECK(r.oom->size == 30 * MiB);
  CHECK(r.oom->reserved == 12 * MiB);
  CHECK(r.requests_done == 1);
}

TEST_CASE("caching allocator model: a recorded address is taken only when no live segment is there") {
  // The recording's second segment has the first one's address (a damaged or
  // mid-run recording: the first was freed before). The model still holds its
  // first (four blocks of 5 MiB fill it), so its second takes an address of
  // its own. Both segments, cached at the end, go back when 30 MiB is asked
  // for on a 40 MiB device. Had the two shared an address, their cached
  // blocks would be one to the model, and one segment would never go back.
  constexpr uint64_t kAt = 0x7f0000000000;
  ReplayInput in = requests({mib(5), mib(5), mib(5), mib(5), mib(5), -1, -2, -3, -4, -5, mib(30)});
  in.recorded_segments = {{20 * MiB, kAt}, {20 * MiB, kAt}};
  analysis::ReplayResult r = analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, 40 * MiB);
  CHECK_FALSE(r.oom);
  CHECK(r.segments == std::vector<uint64_t>{20 * MiB, 20 * MiB, 30 * MiB});
  CHECK(r.segments_released == 2);
  CHECK(r.peak_reserved == 40 * MiB);

  // The second recorded segment starts 10 MiB below the first: free at its
  // first byte, but the first starts inside it. Had the model put it there,
  // a freed 5 MiB block of each segment would both be at kAt + 10 MiB, one
  // of them lost, and the second of two requests for 5 MiB would make a
  // third segment.
  in = requests({mib(5), mib(5), mib(5), mib(5), mib(5), mib(5), mib(5), mib(5), -1, -7, mib(5), mib(5)});
  in.recorded_segments = {{20 * MiB, kAt + 10 * MiB}, {20 * MiB, kAt}};
  r = analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{20 * MiB, 20 * MiB});
  CHECK(r.peak_reserved == 40 * MiB);
}

TEST_CASE("caching allocator model: max_split_size keeps big blocks whole and for big requests") {
  TorchSettings settings;
  settings.max_split_size = 64 * MiB;
  // A cached 100 MiB block serves no request under 64 MiB: 30 MiB gets its own segment.
  ReplayInput in = requests({mib(100), -1, mib(30)});
  analysis::ReplayResult r = analysis::replay(in, AllocatorModel::Torch, settings, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{100 * MiB, 30 * MiB});
  // Without it, the 100 MiB block is split for the 30 MiB.
  r = analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{100 * MiB});
  // A request of 64 MiB or more takes no block 20 MiB or more beyond it, and is not split.
  ReplayInput big = requests({mib(100), -1, mib(70), -2, mib(90)});
  r = analysis::replay(big, AllocatorModel::Torch, settings, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{100 * MiB, 70 * MiB});
  CHECK(r.peak_allocated == 100 * MiB);  // the 90 MiB request holds the 100 MiB block whole
  // On a full device, a cached oversize segment goes back before the rest of
  // the cache is tried: 40 MiB cannot use the 100 MiB block, and 142 MiB
  // would not fit in 120.
  ReplayInput full = requests({mib(100), mib(1), -1, mib(40)});
  r = analysis::replay(full, AllocatorModel::Torch, settings, 120 * MiB);
  CHECK_FALSE(r.oom);
  CHECK(r.segments == std::vector<uint64_t>{100 * MiB, 2 * MiB, 40 * MiB});
  CHECK(r.segments_released == 1);
  CHECK(r.retries == 1);
}

TEST_CASE("caching allocator model: the garbage collection threshold gives back old cached segments") {
  TorchSettings settings;
  settings.garbage_collection_threshold = 0.5;
  // 30 and 12 MiB cached on a 64 MiB device (42 MiB reserved, over the 32 MiB
  // threshold); a 16 MiB request finds no block and collects first: both
  // cached segments go back, being of the same age.
  ReplayInput in = requests({mib(30), mib(12), -1, -2, mib(16)});
  analysis::ReplayResult r = analysis::replay(in, AllocatorModel::Torch, settings, 64 * MiB);
  CHECK(r.segments == std::vector<uint64_t>{30 * MiB, 12 * MiB});  // 16 MiB fits in the 30 MiB block
  r = analysis::replay(requests({mib(30), mib(12), -1, -2, mib(40)}), AllocatorModel::Torch, settings,
                       64 * MiB);
  CHECK(r.segments == std::vector<uint64_t>{30 * MiB, 12 * MiB, 40 * MiB});
  CHECK(r.segments_released == 2);
  CHECK(r.retries == 0);  // given back by the collector, not to retry
}

TEST_CASE("expandable segments: one segment grows by pages, and a split block's rest is never stranded") {
  // 15, 15 and 8 MiB. PyTorch's defaults: a 16 MiB segment for each 15 MiB
  // (their 1 MiB rests are not split off) and a 20 MiB one for the 8 MiB.
  // Expandable: the second request maps one page more after the first's free
  // 5 MiB, and the 8 MiB fits in what is left.
  ReplayInput in = requests({mib(15), mib(15), mib(8)});
  analysis::ReplayResult plain = analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(plain.segments == std::vector<uint64_t>{16 * MiB, 16 * MiB, 20 * MiB});
  CHECK(plain.peak_reserved == 52 * MiB);
  analysis::ReplayResult grown = analysis::replay(in, AllocatorModel::TorchExpandable, TorchSettings{}, UINT64_MAX);
  CHECK(grown.segments == std::vector<uint64_t>{20 * MiB, 20 * MiB});  // two pages mapped
  CHECK(grown.peak_reserved == 40 * MiB);
  CHECK(grown.peak_allocated == 38 * MiB);  // the large pool splits any rest of 512 bytes or more
  // A request over a page maps as many pages as it needs, at once.
  grown = analysis::replay(requests({mib(25)}), AllocatorModel::TorchExpandable, TorchSettings{}, UINT64_MAX);
  CHECK(grown.segments == std::vector<uint64_t>{40 * MiB});
  // Small requests map 2 MiB pages of a segment of their own.
  grown = analysis::replay(requests({mib(0.5), mib(25)}), AllocatorModel::TorchExpandable, TorchSettings{},
                           UINT64_MAX);
  CHECK(grown.segments == std::vector<uint64_t>{2 * MiB, 40 * MiB});
  // A full device: another stream's free pages are unmapped to make room.
  ReplayInput streams = requests({mib(30), -1, mib(30)});
  streams.requests[0].stream = 1;
  streams.requests[1].stream = 1;
  streams.requests[2].stream = 2;
  grown = analysis::replay(streams, AllocatorModel::TorchExpandable, TorchSettings{}, 40 * MiB);
  CHECK_FALSE(grown.oom);
  CHECK(grown.segments == std::vector<uint64_t>{40 * MiB, 40 * MiB});
  CHECK(grown.segments_released == 1);  // one unmapping, of both pages
  CHECK(grown.retries == 1);
  CHECK(grown.peak_reserved == 40 * MiB);
}

TEST_CASE("the exact allocator reserves what is asked for, no more") {
  ReplayInput in = requests({100, mib(5), -1, mib(3)});
  analysis::ReplayResult r = analysis::replay(in, AllocatorModel::Exact, TorchSettings{}, UINT64_MAX);
  CHECK(r.peak_reserved == 8 * MiB);
  CHECK(r.peak_unused == 0);
  CHECK(analysis::smallest_capacity(in, AllocatorModel::Exact, TorchSettings{}) == 8 * MiB);
  CHECK(analysis::smallest_capacity(in, AllocatorModel::Torch, TorchSettings{}) == 20 * MiB + 2 * MiB);
}

TEST_CASE("replay of decomfl's recording: the same 61 segments, in order, and the same reserved total") {
  // Recorded from the process start: a replay from an empty allocator must
  // make exactly the segments the job made (tests/data/interop/README.md).
  const ReplayInput in = analysis::replay_input(snapshot("pytorch-snapshots/decomfl_memory.pickle"));
  CHECK(in.tensor_level);
  CHECK(in.allocations == 7'946);
  CHECK(in.requests.size() == 7'946 + 7'549);
  REQUIRE(in.recorded_segments.size() == 61);
  const analysis::ReplayResult r = analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == sizes_of(in.recorded_segments));
  CHECK(r.peak_reserved == 1'897'922'560);
  CHECK(in.recorded_peak_reserved == 1'897'922'560);
  // The bytes asked for at their peak, and the same in blocks as the allocator rounds them.
  CHECK(r.peak_requested == in.recorded_peak_allocated);
  CHECK(r.peak_requested == 1'783'664'516);
  CHECK(r.peak_allocated == 1'790'894'592);
  // On 1.5 GiB it runs out at its 7,563rd request, 147.28 MiB asked for.
  const analysis::ReplayResult small =
      analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, 3 * GiB / 2);
  REQUIRE(small.oom);
  CHECK(small.oom->request == 7'562);
  CHECK(small.oom->size == 154'435'584);
  // The smallest capacity that serves it all: 2 MiB less does not. Less than
  // a replay with no limit reserves (1,897,922,560): on a full device the
  // allocator gives back cached segments and carries on.
  const uint64_t fit = analysis::smallest_capacity(in, AllocatorModel::Torch, TorchSettings{});
  CHECK(fit == 1'868'562'432);
  CHECK_FALSE(analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, fit).oom);
  CHECK(analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, fit - 2 * MiB).oom);
}

TEST_CASE("replay of a PyTorch 2.11 job on an H200: PyTorch's own peaks, to the byte") {
  // tests/data/interop/h200: torch.cuda.max_memory_allocated() and
  // max_memory_reserved() as the job printed them (facts.json).
  const ReplayInput in = analysis::replay_input(snapshot("h200/torch_adam_snapshot.pickle"));
  REQUIRE(in.recorded_segments.size() == 44);
  const analysis::ReplayResult r = analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == sizes_of(in.recorded_segments));
  CHECK(r.peak_reserved == 769'654'784);             // max_reserved
  CHECK(r.peak_allocated == 743'768'576);            // max_allocated: the blocks as rounded
  CHECK(in.recorded_peak_allocated == 743'768'068);  // the bytes the entries asked for
}

TEST_CASE("replay of recordings that began mid-run: where the model and the recording differ, and why") {
  // The blocks live before the window are replayed first, in address order:
  // the job made them in an order the snapshot does not keep, so the replay's
  // segments differ from the recording's from early on.
  const ReplayInput in =
      analysis::replay_input(snapshot("pytorch-snapshots/cs336_medium_512_training.pickle"));
  const analysis::ReplayResult r = analysis::replay(in, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(in.recorded_segments.size() == 400);
  CHECK(r.segments.size() == 494);
  CHECK(in.recorded_peak_reserved == 12'660'506'624);
  CHECK(r.peak_reserved == 12'593'397'760);  // 64 MiB (0.5%) less than recorded
  // The allocated peak of the requests' own sizes agrees to the byte.
  CHECK(r.peak_requested == in.recorded_peak_allocated);

  // bcrafton's CS336 step: its window holds no segment_alloc at all (every
  // one of its 96 segments was made before recording began) and 447 blocks
  // live before it. The replay makes 142 segments for them and reserves
  // 66 MiB (1.6 %) less at its peak; the bytes asked for agree to the byte.
  const ReplayInput early =
      analysis::replay_input(snapshot("pytorch-snapshots/cs336_bcrafton_memory_snapshot.pickle"));
  const analysis::ReplayResult e =
      analysis::replay(early, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(early.allocations == 2'609);
  CHECK(early.frees() == 2'162);
  CHECK(early.recorded_segments.size() == 96);
  CHECK(e.segments.size() == 142);
  CHECK(early.recorded_peak_reserved == 4'238'344'192);
  CHECK(e.peak_reserved == 4'169'138'176);
  CHECK(e.peak_requested == early.recorded_peak_allocated);
  CHECK(e.peak_requested == 3'853'700'352);
}

TEST_CASE("--scale-batch: the activations the report finds are scaled, nothing else") {
  // The H200 job: 56 of its 279 allocations are activations (freed within
  // the iteration that made them, after the backward pass began); twice the
  // batch doubles their bytes and leaves the parameters', gradients' and
  // optimizer state's as they were.
  const trace::TraceContents trace = snapshot("h200/torch_adam_snapshot.pickle");
  const ReplayInput in = analysis::replay_input(trace);
  const analysis::ScaledBatch twice = analysis::scale_activations(trace, in, 2.0);
  CHECK(twice.scaled == 56);
  CHECK(twice.bytes_before == 469'991'424);
  CHECK(twice.bytes_after == 2 * twice.bytes_before);
  uint64_t before = 0, after = 0;
  for (const ReplayRequest& r : in.requests) before += r.alloc ? r.size : 0;
  for (const ReplayRequest& r : twice.input.requests) after += r.alloc ? r.size : 0;
  CHECK(after - before == twice.bytes_before);
  const analysis::ReplayResult r =
      analysis::replay(twice.input, AllocatorModel::Torch, TorchSettings{}, UINT64_MAX);
  CHECK(r.peak_reserved == 903'872'512);  // from 769,654,784
  CHECK(r.peak_allocated == 861'266'432);
  // Half the batch (the sizes halve to multiples of 512 bytes: no rounding).
  const analysis::ScaledBatch half = analysis::scale_activations(trace, in, 0.5);
  CHECK(half.scaled == 56);
  CHECK(half.bytes_after == twice.bytes_before / 2);
}

TEST_CASE("the report's advice on allocator settings comes from replays of the run") {
  // decomfl: PyTorch's defaults reserve 1,897,922,560 bytes at the peak, as the
  // job did; expandable segments 1,809,842,176. The smallest capacities: the
  // bisection's, for each.
  const analysis::Report report =
      analysis::analyze_trace(snapshot("pytorch-snapshots/decomfl_memory.pickle"));
  REQUIRE(report.devices.size() == 1);
  REQUIRE(report.devices[0].replay);
  const analysis::ReplayFigures& f = *report.devices[0].replay;
  CHECK(f.peak_reserved == 1'897'922'560);
  CHECK(f.peak_reserved_expandable == 1'809'842'176);
  CHECK(f.smallest_capacity == 1'868'562'432);
  CHECK(f.smallest_capacity_expandable == 1'786'773'504);
  const analysis::Advice* advice = nullptr;
  for (const analysis::Advice& a : report.advice) {
    if (a.kind == "allocator-fragmentation") advice = &a;
  }
  REQUIRE(advice != nullptr);
  CHECK(advice->saving_bytes == 1'897'922'560 - 1'809'842'176);
  CHECK(advice->detail.find(
            "with expandable_segments:True the peak reserved drops from 1.77 GiB to 1.69 GiB") !=
        std::string::npos);
  CHECK(advice->detail.find("(fits on an 8 GiB card)") != std::string::npos);
}

TEST_CASE("replay: requests no device could hold run out of memory, whatever the capacity") {
  // A hostile or damaged trace can ask for anything: the sums stay in range.
  ReplayInput in = requests({mib(1), static_cast<int64_t>(INT64_MAX), mib(1)});
  for (AllocatorModel model :
       {AllocatorModel::Torch, AllocatorModel::TorchExpandable, AllocatorModel::Exact}) {
    CAPTURE(analysis::model_name(model));
    const analysis::ReplayResult r = analysis::replay(in, model, TorchSettings{}, UINT64_MAX);
    if (model == AllocatorModel::Exact) {
      CHECK_FALSE(r.oom);  // the exact allocator has no limit of its own
      CHECK(r.peak_reserved == static_cast<uint64_t>(INT64_MAX) + 2 * MiB);
      continue;
    }
    REQUIRE(r.oom);
    CHECK(r.oom->request == 1);
  }
}

TEST_CASE("cuda-async model: 512-byte rounding, best fit in one address space, 2 MiB pages mapped once") {
  // 100 bytes, 1 MiB and 3 MiB lie end to end from address 0: the first maps
  // page 0, the second lies in it, the third reaches into pages 1 and 2.
  analysis::ReplayResult r = analysis::replay(requests({100, mib(1), mib(3)}), AllocatorModel::CudaAsync,
                                              TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{2 * MiB, 4 * MiB});
  CHECK(r.peak_reserved == 6 * MiB);
  CHECK(r.peak_allocated == 512 + 4 * MiB);
  CHECK(r.peak_requested == 100 + 4 * MiB);
  // Freed memory is taken again at once, and pages stay mapped when free
  // (PyTorch sets the pool's release threshold to UINT64_MAX).
  r = analysis::replay(requests({mib(4), -1, mib(2), mib(2), -2, -3}), AllocatorModel::CudaAsync,
                       TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{4 * MiB});
  CHECK(r.peak_reserved == 4 * MiB);
  CHECK(r.peak_allocated == 4 * MiB);
}

TEST_CASE("cuda-async model: live blocks pin their pages; a full device unmaps free pages and retries") {
  // Four 1 MiB blocks fill pages 0 and 1; the first and third are freed:
  // 2 MiB free in two holes of 1 MiB, so a 2 MiB request maps page 2.
  ReplayInput pinned = requests({mib(1), mib(1), mib(1), mib(1), -1, -3, mib(2)});
  analysis::ReplayResult r = analysis::replay(pinned, AllocatorModel::CudaAsync, TorchSettings{}, UINT64_MAX);
  CHECK(r.peak_reserved == 6 * MiB);
  CHECK(r.peak_unused == 2 * MiB);
  // On 4 MiB no page is wholly free to give back: out of memory, where the
  // exact allocator fits.
  r = analysis::replay(pinned, AllocatorModel::CudaAsync, TorchSettings{}, 4 * MiB);
  REQUIRE(r.oom);
  CHECK(r.oom->request == 6);
  CHECK(r.oom->reserved == 4 * MiB);
  CHECK(r.oom->allocated == 2 * MiB);
  CHECK(r.retries == 0);
  CHECK(analysis::smallest_capacity(pinned, AllocatorModel::CudaAsync, TorchSettings{}) == 6 * MiB);
  CHECK(analysis::smallest_capacity(pinned, AllocatorModel::Exact, TorchSettings{}) == 4 * MiB);

  // 2 MiB at page 0 and 512 bytes at page 1; the 2 MiB is freed, and 3 MiB
  // fits no hole: it needs page 2. On 4 MiB, page 0 (wholly free) is
  // unmapped first, and the request served.
  ReplayInput freed = requests({mib(2), 512, -1, mib(3)});
  r = analysis::replay(freed, AllocatorModel::CudaAsync, TorchSettings{}, 4 * MiB);
  CHECK_FALSE(r.oom);
  CHECK(r.segments == std::vector<uint64_t>{2 * MiB, 2 * MiB, 2 * MiB});
  CHECK(r.segments_released == 1);
  CHECK(r.retries == 1);
  CHECK(r.peak_reserved == 4 * MiB);
  r = analysis::replay(freed, AllocatorModel::CudaAsync, TorchSettings{}, UINT64_MAX);
  CHECK(r.peak_reserved == 6 * MiB);
  CHECK(r.retries == 0);
}

TEST_CASE("cuda-async model: a freed range merges with its free neighbours and with the top") {
  // Three 1 MiB blocks (pages 0 and 1); the middle one, then the first, are
  // freed: one 2 MiB hole from 0, where the next 2 MiB lands, no new page.
  // Freeing the rest returns everything to the top, where a 6 MiB request
  // starts at 0 and maps only page 2.
  ReplayInput in = requests({mib(1), mib(1), mib(1), -2, -1, mib(2), -3, -4, mib(6)});
  analysis::ReplayResult r = analysis::replay(in, AllocatorModel::CudaAsync, TorchSettings{}, UINT64_MAX);
  CHECK(r.segments == std::vector<uint64_t>{2 * MiB, 2 * MiB, 2 * MiB});
  CHECK(r.peak_reserved == 6 * MiB);
  CHECK(r.peak_allocated == 6 * MiB);
}
