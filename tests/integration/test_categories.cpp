// Iterations, memory categories and growth leaks of the samples whose memory
// is known exactly: train_mlp (Adam, SGD, SGD with momentum, caching
// allocator) and leak.
#include <doctest/doctest.h>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

// Peak bytes of a category over the run; 0 when it has no allocation.
uint64_t category_peak(const json& report, const std::string& category) {
  json total = find_by(report["categories"]["totals"], "category", category);
  INFO("category " << category);
  REQUIRE_FALSE(total.is_null());
  return total["peak_bytes"];
}

void check_training_categories(const json& r, uint64_t state_bytes) {
  CHECK(r["iterations"]["method"] == "nvtx range 'step'");
  CHECK(r["iterations"]["count"] == 3);
  REQUIRE(r["iterations"]["list"].size() == 3);
  CHECK(category_peak(r, "parameters") == P);
  CHECK(category_peak(r, "gradients") == P);
  CHECK(category_peak(r, "optimizer state") == state_bytes);
  CHECK(category_peak(r, "activations") == L * A);
  CHECK(category_peak(r, "inputs") == A);
  CHECK(category_peak(r, "temporaries") == A);  // the gradient of an activation
  CHECK(category_peak(r, "workspaces") == 0);
  CHECK(category_peak(r, "unknown") == 0);
  // The gradients are made before step 1, like parameters: their name tells them apart.
  CHECK(find_by(r["categories"]["totals"], "category", "gradients")["confidence"] == "medium");
  CHECK(r["growth_leaks"].empty());
}

}  // namespace

TEST_CASE("train_mlp with Adam: 3 iterations by NVTX, optimizer state exactly 2P, categories at the peak") {
  ScratchDir dir("categories-adam");
  json r = train_report(dir, "adam.vstrace", {"--optimizer", "adam"});
  CHECK(r["categories"]["source"] == "device memory");
  check_training_categories(r, 2 * P);
  CHECK(find_by(r["categories"]["totals"], "category", "optimizer state")["allocations"] == 4 * L);
  // At the peak (step 2's first backward allocation): 4P + (L + 2)A, every byte categorized.
  const json& peak = r["devices"][0]["peak"];
  CHECK(peak["bytes"] == 68747264);
  CHECK(find_by(peak["categories"], "category", "optimizer state")["bytes"] == 2 * P);
  CHECK(find_by(peak["categories"], "category", "parameters")["bytes"] == P);
  CHECK(find_by(peak["categories"], "category", "gradients")["bytes"] == P);
  CHECK(find_by(peak["categories"], "category", "activations")["bytes"] == L * A);
  CHECK(find_by(peak["categories"], "category", "activations")["count"] == L);
  CHECK(find_by(peak["categories"], "category", "inputs")["bytes"] == A);
  CHECK(find_by(peak["categories"], "category", "temporaries")["bytes"] == A);
  uint64_t sum = 0;
  for (const json& c : peak["categories"]) sum += c["bytes"].get<uint64_t>();
  CHECK(sum == 68747264);
  const json& top = peak["sites"][0];  // allocate_optimizer_state
  CHECK(top["category"] == "optimizer state");
  CHECK(top["confidence"] == "high");  // the lifetime and the name agree
}

TEST_CASE("train_mlp with SGD: no optimizer state; with momentum exactly P") {
  ScratchDir dir("categories-sgd");
  json sgd = train_report(dir, "sgd.vstrace", {"--optimizer", "sgd"});
  check_training_categories(sgd, 0);
  CHECK(find_by(sgd["categories"]["totals"], "category", "optimizer state")["allocations"] == 0);
  json momentum = train_report(dir, "momentum.vstrace", {"--optimizer", "sgd", "--momentum"});
  check_training_categories(momentum, P);
  CHECK(find_by(momentum["categories"]["totals"], "category", "optimizer state")["allocations"] == 2 * L);
}

TEST_CASE("train_mlp in a caching allocator: its tensor blocks are categorized, not its segments") {
  ScratchDir dir("categories-caching");
  json r = train_report(dir, "caching.vstrace", {"--optimizer", "adam", "--allocator", "caching"});
  CHECK(r["categories"]["source"] == "tensor blocks");
  check_training_categories(r, 2 * P);
}

TEST_CASE("leak: 10 iterations from the allocation pattern, one growth leak of 1 MiB per iteration") {
  ScratchDir dir("categories-leak");
  std::vector<std::string> command = {sample("leak"), "--steps", "10", "--leak-bytes", "1MiB"};
  run_profiled(dir.path("t.vstrace"), command);
  json r = report_json(dir.path("t.vstrace"));
  CHECK(r["iterations"]["method"] == "repeating pattern");
  CHECK(r["iterations"]["count"] == 10);
  REQUIRE(r["growth_leaks"].size() == 1);
  const json& g = r["growth_leaks"][0];
  CHECK(std::string(g["function"]).find("cache_step_statistics") != std::string::npos);
  CHECK(g["bytes_per_iteration"] == MiB);
  CHECK(g["iterations"] == 10);
  CHECK(g["live_bytes_at_last_iteration"] == 10 * MiB);
  CHECK(g["kind"] == "device");
  CHECK(category_peak(r, "workspaces") == 4 * MiB);
  CHECK(category_peak(r, "unknown") == 10 * MiB);  // the leak itself is no category
}
