// Unit tests of the advice rules on reports built by hand: which remedies each
// figure supports and their savings, exactly.
#include <doctest/doctest.h>

#include <string>

#include "analyzer/advice.h"
#include "analyzer/report_json.h"
#include "analyzer/report_text.h"

using namespace vramscope;
using analysis::Advice;
using analysis::Report;

namespace {

constexpr uint64_t MiB = 1024 * 1024;

analysis::DeviceReport device(uint32_t ordinal, std::vector<analysis::CategoryBytes> categories) {
  analysis::DeviceReport d;
  d.ordinal = ordinal;
  for (const auto& c : categories) d.peak.bytes += c.bytes;
  d.peak.categories = std::move(categories);
  return d;
}

Report training(uint64_t params, uint64_t state, uint64_t activations, uint64_t activation_count) {
  Report r;
  std::vector<analysis::CategoryBytes> categories = {
      {"parameters", params, 2}, {"gradients", params, 2}, {"activations", activations, activation_count}};
  if (state > 0) categories.push_back({"optimizer state", state, 4});
  r.devices.push_back(device(0, categories));
  r.iterations.method = "nvtx range 'step'";
  r.iterations.list = {{0, 10}, {10, 20}};
  return r;
}

const Advice* find(const std::vector<Advice>& advice, const std::string& kind) {
  for (const Advice& a : advice) {
    if (a.kind == kind) return &a;
  }
  return nullptr;
}

uint64_t saving(const std::vector<Advice>& advice, const std::string& kind) {
  const Advice* a = find(advice, kind);
  INFO("advice " << kind);
  REQUIRE(a != nullptr);
  return a->saving_bytes;
}

}  // namespace

TEST_CASE("advice: Adam-like state (2P) gives SGD with momentum, plain SGD and sharding, sorted by saving") {
  std::vector<Advice> advice = analysis::advise(training(100 * MiB, 200 * MiB, 40 * MiB, 4));
  CHECK(saving(advice, "sgd-with-momentum") == 100 * MiB);
  CHECK(saving(advice, "plain-sgd") == 200 * MiB);
  CHECK(saving(advice, "shard-optimizer-state") == 175 * MiB);
  CHECK(find(advice, "shard-optimizer-state")->title.find("8 GPUs") != std::string::npos);
  CHECK(saving(advice, "bf16-parameters") == 50 * MiB);
  CHECK(saving(advice, "int8-parameters") == 75 * MiB);
  CHECK(saving(advice, "bf16-gradients") == 50 * MiB);
  CHECK(saving(advice, "halve-micro-batch") == 20 * MiB);
  CHECK(saving(advice, "activation-checkpointing") == 30 * MiB);
  CHECK(advice.size() == 8);
  for (size_t i = 1; i < advice.size(); ++i) CHECK(advice[i - 1].saving_bytes >= advice[i].saving_bytes);
  CHECK(advice.front().kind == "plain-sgd");
  const Advice& momentum = *find(advice, "sgd-with-momentum");
  REQUIRE(momentum.figures.size() == 2);
  CHECK(momentum.figures[0].name == "optimizer_state_bytes");
  CHECK(momentum.figures[0].bytes == 200 * MiB);
  CHECK(momentum.figures[1].bytes == 100 * MiB);
  CHECK(momentum.detail.find("200.00 MiB") != std::string::npos);
}

TEST_CASE("advice: the 10% band around 2P and P") {
  // 2P + 10% is still Adam-like; beyond it only sharding is offered.
  std::vector<Advice> adam = analysis::advise(training(100 * MiB, 220 * MiB, 0, 0));
  CHECK(saving(adam, "sgd-with-momentum") == 120 * MiB);
  std::vector<Advice> odd = analysis::advise(training(100 * MiB, 150 * MiB, 0, 0));
  CHECK(find(odd, "sgd-with-momentum") == nullptr);
  CHECK(find(odd, "plain-sgd") == nullptr);
  CHECK(saving(odd, "shard-optimizer-state") == 150 * MiB - 150 * MiB / 8);
  // State ≈ P (SGD with momentum): plain SGD and sharding, no momentum advice.
  std::vector<Advice> momentum = analysis::advise(training(100 * MiB, 95 * MiB, 0, 0));
  CHECK(find(momentum, "sgd-with-momentum") == nullptr);
  CHECK(saving(momentum, "plain-sgd") == 95 * MiB);
  CHECK(saving(momentum, "shard-optimizer-state") == 95 * MiB - 95 * MiB / 8);
}

TEST_CASE("advice: nothing from categories with no bytes") {
  std::vector<Advice> sgd = analysis::advise(training(100 * MiB, 0, 0, 0));
  CHECK(find(sgd, "plain-sgd") == nullptr);
  CHECK(find(sgd, "shard-optimizer-state") == nullptr);
  CHECK(find(sgd, "halve-micro-batch") == nullptr);
  CHECK(find(sgd, "activation-checkpointing") == nullptr);
  CHECK(sgd.size() == 3);  // bf16 and int8 parameters, bf16 gradients
  CHECK(analysis::advise(Report{}).empty());
}

TEST_CASE("advice: checkpointing needs iterations and more than one activation live") {
  Report no_iterations = training(100 * MiB, 0, 40 * MiB, 4);
  no_iterations.iterations.list.clear();
  CHECK(find(analysis::advise(no_iterations), "activation-checkpointing") == nullptr);
  CHECK(saving(analysis::advise(no_iterations), "halve-micro-batch") == 20 * MiB);
  CHECK(find(analysis::advise(training(100 * MiB, 0, 40 * MiB, 1)), "activation-checkpointing") == nullptr);
  CHECK(saving(analysis::advise(training(100 * MiB, 0, 30 * MiB, 3)), "activation-checkpointing") ==
        20 * MiB);
}

TEST_CASE("advice: category rules read the device with the highest peak") {
  Report r;
  r.devices.push_back(device(0, {{"parameters", 10 * MiB, 1}}));
  r.devices.push_back(device(1, {{"parameters", 40 * MiB, 1}}));
  std::vector<Advice> advice = analysis::advise(r);
  CHECK(saving(advice, "bf16-parameters") == 20 * MiB);
  CHECK(find(advice, "bf16-parameters")->device == 1);
}

TEST_CASE("advice: fragmentation at the peak from a metric of 0.3 with reserved bytes free") {
  auto fragmented = [](double metric, uint64_t reserved_free) {
    Report r;
    analysis::DeviceReport d;
    d.ordinal = 2;
    d.fragmentation.has_block_data = true;
    analysis::FragmentationReport f;
    f.metric = metric;
    f.reserved_but_unallocated_bytes = reserved_free;
    f.total_free_bytes = reserved_free;
    f.largest_free_bytes = 3 * MiB;
    d.fragmentation.at_peak = f;
    r.devices.push_back(d);
    return analysis::advise(r);
  };
  std::vector<Advice> advice = fragmented(0.3, 12 * MiB);
  CHECK(saving(advice, "allocator-fragmentation") == 12 * MiB);
  CHECK(find(advice, "allocator-fragmentation")->device == 2);
  CHECK(find(advice, "allocator-fragmentation")->title.find("expandable_segments:True") != std::string::npos);
  CHECK(fragmented(0.29, 12 * MiB).empty());
  CHECK(fragmented(0.9, 0).empty());
}

TEST_CASE("advice: a growth leak, its live bytes at the last iteration") {
  Report r = training(100 * MiB, 0, 0, 0);
  analysis::GrowthLeak g;
  g.device = 0;
  g.bytes_per_iteration = MiB;
  g.iterations = 10;
  g.live_bytes_at_last_iteration = 10 * MiB;
  g.site.function = "(anonymous namespace)::cache_step_statistics(unsigned long)";
  r.growth_leaks.push_back(g);
  std::vector<Advice> advice = analysis::advise(r);
  CHECK(saving(advice, "fix-growth-leak") == 10 * MiB);
  CHECK(find(advice, "fix-growth-leak")->title == "Fix the leak at cache_step_statistics");
  CHECK(advice.back().kind == "fix-growth-leak");  // the smallest saving here
}

TEST_CASE("advice in the JSON and text reports") {
  Report r = training(100 * MiB, 200 * MiB, 40 * MiB, 4);
  r.advice = analysis::advise(r);
  nlohmann::ordered_json json = analysis::report_to_json(r);
  REQUIRE(json["advice"].size() == 8);
  CHECK(json["advice"][0]["kind"] == "plain-sgd");
  CHECK(json["advice"][0]["saving_bytes"] == 200 * MiB);
  CHECK(json["advice"][0]["figures"]["optimizer_state_bytes"] == 200 * MiB);
  CHECK(json["advice"][0]["figures"]["parameter_bytes"] == 100 * MiB);
  std::string text = analysis::report_to_text(r, analysis::TextOptions{});
  CHECK(text.find("Advice (saving per GPU at the peak)") != std::string::npos);
  CHECK(text.find("200.00 MiB  Plain SGD keeps no optimizer state") != std::string::npos);
}
