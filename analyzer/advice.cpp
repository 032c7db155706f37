// Advice from a finished report: each rule reads the figures it rests on and
// says nothing when they are absent (a category with no bytes gives no advice).
#include "analyzer/advice.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "analyzer/text_layout.h"
#include "formats/human_size.h"

namespace vramscope::analysis {

namespace {

std::string human(uint64_t bytes) { return format_size(bytes); }

// Within 10% of `target`.
bool near(uint64_t value, uint64_t target) {
  uint64_t gap = value > target ? value - target : target - value;
  return gap * 10 <= target;
}

// The device whose peak is highest among those with categories at the peak:
// the one that runs out first.
const DeviceReport* busiest(const Report& report) {
  const DeviceReport* best = nullptr;
  for (const DeviceReport& d : report.devices) {
    if (d.peak.categories.empty()) continue;
    if (!best || d.peak.bytes > best->peak.bytes) best = &d;
  }
  return best;
}

const CategoryBytes* at_peak(const DeviceReport& d, const std::string& category) {
  for (const CategoryBytes& c : d.peak.categories) {
    if (c.category == category && c.bytes > 0) return &c;
  }
  return nullptr;
}

class AdviceList {
 public:
  explicit AdviceList(uint32_t device) : device_(device) {}
  void add(std::string kind, std::string title, uint64_t saving, std::string detail,
           std::vector<AdviceFigure> figures) {
    if (saving == 0) return;
    items.push_back(
        Advice{std::move(kind), std::move(title), saving, device_, std::move(detail), std::move(figures)});
  }
  void set_device(uint32_t device) { device_ = device; }
  std::vector<Advice> items;

 private:
  uint32_t device_;
};

void optimizer_advice(AdviceList& out, const DeviceReport& d) {
  const CategoryBytes* state = at_peak(d, "optimizer state");
  const CategoryBytes* params = at_peak(d, "parameters");
  if (!state) return;
  uint64_t S = state->bytes;
  std::vector<AdviceFigure> figures = {{"optimizer_state_bytes", S}};
  if (params) {
    uint64_t P = params->bytes;
    figures.push_back({"parameter_bytes", P});
    if (near(S, 2 * P)) {
      out.add("sgd-with-momentum", "SGD with momentum keeps one state per parameter", S - P,
              "The optimizer state at the peak, " + human(S) + ", is about twice the parameters (" +
                  human(P) + "), as Adam keeps two states per parameter; SGD with momentum keeps one, " +
                  human(P) + ".",
              figures);
      out.add("plain-sgd", "Plain SGD keeps no optimizer state", S,
              "Plain SGD keeps no state per parameter, so the " + human(S) +
                  " of optimizer state at the peak would go.",
              figures);
    } else if (near(S, P)) {
      out.add("plain-sgd", "Plain SGD keeps no optimizer state", S,
              "The optimizer state at the peak, " + human(S) + ", is about one state per parameter (" +
                  human(P) + "), like SGD with momentum; plain SGD keeps none.",
              figures);
    }
  }
  uint64_t sharded = S - S / kShardGpus;
  out.add("shard-optimizer-state",
          "Shard optimizer state over " + std::to_string(kShardGpus) + " GPUs (ZeRO-1/FSDP)", sharded,
          "Over N = " + std::to_string(kShardGpus) + " GPUs each keeps 1/N of the " + human(S) +
              " of optimizer state at the peak, " + human(S / kShardGpus) + ".",
          figures);
}

void precision_advice(AdviceList& out, const DeviceReport& d) {
  if (const CategoryBytes* params = at_peak(d, "parameters")) {
    uint64_t P = params->bytes;
    out.add("bf16-parameters", "BF16/FP16 weights halve the parameters", P - P / 2,
            "Assuming float32 parameters (" + human(P) + " at the peak), 16-bit weights take " +
                human(P / 2) + ".",
            {{"parameter_bytes", P}});
    out.add("int8-parameters", "8-bit quantization of the weights", P - P / 4,
            "Assuming float32 parameters (" + human(P) + " at the peak), 8-bit weights take " + human(P / 4) +
                ".",
            {{"parameter_bytes", P}});
  }
  if (const CategoryBytes* grads = at_peak(d, "gradients")) {
    uint64_t G = grads->bytes;
    out.add("bf16-gradients", "Mixed precision halves the gradients", G - G / 2,
            "Assuming float32 gradients (" + human(G) + " at the peak), 16-bit gradients take " +
                human(G / 2) + ".",
            {{"gradient_bytes", G}});
  }
}

void activation_advice(AdviceList& out, const DeviceReport& d, const Report& report) {
  const CategoryBytes* activations = at_peak(d, "activations");
  if (!activations) return;
  uint64_t A = activations->bytes;
  out.add("halve-micro-batch", "Halve the micro-batch", A - A / 2,
          "Activations grow with the micro-batch: half of the " + human(A) +
              " live at the peak go (inputs and temporaries, which may shrink too, are not counted).",
          {{"activation_bytes", A}});
  uint64_t layers = activations->count;
  if (report.iterations.list.empty() || layers < 2) return;
  uint64_t one_layer = A / layers;
  out.add("activation-checkpointing", "Activation checkpointing keeps about one layer's activations",
          A - one_layer,
          "Assuming each of the " + std::to_string(layers) +
              " activation allocations live at the peak is one layer's (" + human(one_layer) +
              " each), checkpointing keeps about one and recomputes the rest in backward.",
          {{"activation_bytes", A}, {"one_layer_bytes", one_layer}});
}

// "fits on a 40 GiB card, not on a 32 GiB one": cards' memory less 1 GiB
// for the CUDA context and libraries.
std::string card_sentence(uint64_t needed) {
  constexpr uint64_t kCardsGiB[] = {8, 12, 16, 24, 32, 40, 48, 80, 94, 141, 192};
  constexpr uint64_t GiB = uint64_t{1} << 30;
  uint64_t smaller = 0;
  for (uint64_t card : kCardsGiB) {
    if ((card - 1) * GiB >= needed) {
      auto a = [](uint64_t gib) {
        return std::string(gib == 8 || gib == 80 ? "an " : "a ") + std::to_string(gib);
      };
      std::string text = "fits on " + a(card) + " GiB card";
      if (smaller) text += ", not on " + a(smaller) + " GiB one";
      return text;
    }
    smaller = card;
  }
  return "fits on no single card of up to 192 GiB";
}

// From a replay of the device's requests through models of PyTorch's
// allocator: what expandable segments would save at the peak, and which
// cards the job fits on.
bool replay_advice(AdviceList& out, const DeviceReport& d) {
  if (!d.replay) return false;
  const ReplayFigures& r = *d.replay;
  if (r.peak_reserved_expandable >= r.peak_reserved) return true;  // nothing to gain: no advice
  std::string detail = "Replayed through a model of PyTorch's caching allocator (" +
                       text::thousands(r.requests) +
                       " requests of this run), with expandable_segments:True the peak reserved drops from " +
                       human(r.peak_reserved) + " to " + human(r.peak_reserved_expandable) + ".";
  if (r.smallest_capacity > 0) {
    detail += " The job needs " + human(r.smallest_capacity) + " for the allocator with the defaults (" +
              card_sentence(r.smallest_capacity) + ") and " + human(r.smallest_capacity_expandable) +
              " with expandable segments (" + card_sentence(r.smallest_capacity_expandable) +
              "), counting 1 GiB of each card for CUDA itself. vramscope replay --fit says more.";
  }
  out.set_device(d.ordinal);
  out.add("allocator-fragmentation",
          "Allocator settings against fragmentation (PyTorch: "
          "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True)",
          r.peak_reserved - r.peak_reserved_expandable, detail,
          {{"peak_reserved_bytes", r.peak_reserved},
           {"peak_reserved_expandable_bytes", r.peak_reserved_expandable},
           {"smallest_capacity_bytes", r.smallest_capacity},
           {"smallest_capacity_expandable_bytes", r.smallest_capacity_expandable}});
  return true;
}

void fragmentation_advice(AdviceList& out, const Report& report) {
  for (const DeviceReport& d : report.devices) {
    if (replay_advice(out, d)) continue;
    const DeviceFragmentation& f = d.fragmentation;
    if (!f.has_block_data || !f.at_peak) continue;
    uint64_t R = f.at_peak->reserved_but_unallocated_bytes;
    if (R == 0 || f.at_peak->metric < 0.3) continue;
    out.set_device(d.ordinal);
    char metric[16];
    std::snprintf(metric, sizeof metric, "%.2f", f.at_peak->metric);
    out.add("allocator-fragmentation",
            "Allocator settings against fragmentation (PyTorch: "
            "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True)",
            R,
            "At device " + std::to_string(d.ordinal) + "'s peak " + human(R) +
                " was reserved but unallocated, fragmentation " + metric +
                "; segments that grow in place give it back.",
            {{"reserved_but_unallocated_bytes", R}, {"largest_free_bytes", f.at_peak->largest_free_bytes}});
  }
}

void leak_advice(AdviceList& out, const Report& report) {
  for (const GrowthLeak& g : report.growth_leaks) {
    out.set_device(g.device);
    out.add("fix-growth-leak", "Fix the leak at " + text::short_function(g.site.function),
            g.live_bytes_at_last_iteration,
            "Live bytes at " + text::site_text(g.site) + " climb " + human(g.bytes_per_iteration) +
                " every iteration, " + human(g.live_bytes_at_last_iteration) + " by the last of " +
                std::to_string(g.iterations) + ", and keep climbing the longer it runs.",
            {{"bytes_per_iteration", g.bytes_per_iteration},
             {"live_bytes_at_last_iteration", g.live_bytes_at_last_iteration}});
  }
}

}  // namespace

std::vector<Advice> advise(const Report& report) {
  AdviceList out(0);
  if (const DeviceReport* d = busiest(report)) {
    out.set_device(d->ordinal);
    optimizer_advice(out, *d);
    precision_advice(out, *d);
    activation_advice(out, *d, report);
  }
  fragmentation_advice(out, report);
  leak_advice(out, report);
  std::stable_sort(out.items.begin(), out.items.end(),
                   [](const Advice& a, const Advice& b) { return a.saving_bytes > b.saving_bytes; });
  return std::move(out.items);
}

}  // namespace vramscope::analysis
