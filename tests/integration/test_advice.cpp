// Advice on the samples whose memory is known exactly: train_mlp with Adam
// (every remedy, exact savings), with SGD (no optimizer advice) and leak (fix
// the leak at its site).
#include <doctest/doctest.h>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

uint64_t saving(const json& report, const std::string& kind) {
  json item = find_by(report["advice"], "kind", kind);
  INFO("advice " << kind);
  REQUIRE_FALSE(item.is_null());
  return item["saving_bytes"];
}

}  // namespace

TEST_CASE("advice on train_mlp with Adam: every remedy, savings exact from the categories at the peak") {
  ScratchDir dir("advice-adam");
  json r = train_report(dir, "adam.vstrace", {"--optimizer", "adam"});
  const json& advice = r["advice"];
  CHECK(saving(r, "sgd-with-momentum") == P);                  // 16793600
  CHECK(saving(r, "plain-sgd") == 2 * P);                      // 33587200
  CHECK(saving(r, "shard-optimizer-state") == 2 * P / 8 * 7);  // 29388800
  CHECK(saving(r, "bf16-parameters") == P / 2);                // 8396800
  CHECK(saving(r, "int8-parameters") == 3 * P / 4);            // 12595200
  CHECK(saving(r, "bf16-gradients") == P / 2);                 // 8396800
  CHECK(saving(r, "halve-micro-batch") == L * A / 2);          // 524288
  CHECK(saving(r, "activation-checkpointing") == L * A - A);   // 786432
  CHECK(advice.size() == 8);                                   // no fragmentation (no block data), no leak
  CHECK(advice[0]["kind"] == "plain-sgd");
  for (size_t i = 1; i < advice.size(); ++i)
    CHECK(advice[i - 1]["saving_bytes"] >= advice[i]["saving_bytes"]);
  json momentum = find_by(advice, "kind", "sgd-with-momentum");
  CHECK(momentum["device"] == 0);
  CHECK(momentum["figures"]["optimizer_state_bytes"] == 2 * P);
  CHECK(momentum["figures"]["parameter_bytes"] == P);
  json checkpointing = find_by(advice, "kind", "activation-checkpointing");
  CHECK(checkpointing["figures"]["one_layer_bytes"] == A);

  ProcessResult text = run_vramscope({"report", dir.path("adam.vstrace")});
  REQUIRE(text.exit_status == 0);
  CHECK(text.out.find("Advice (saving per GPU at the peak)") != std::string::npos);
  CHECK(text.out.find("32.03 MiB  Plain SGD keeps no optimizer state") != std::string::npos);
}

TEST_CASE("advice on train_mlp with SGD: no optimizer advice; with momentum, plain SGD saves P") {
  ScratchDir dir("advice-sgd");
  json sgd = train_report(dir, "sgd.vstrace", {"--optimizer", "sgd"});
  CHECK(find_by(sgd["advice"], "kind", "sgd-with-momentum").is_null());
  CHECK(find_by(sgd["advice"], "kind", "plain-sgd").is_null());
  CHECK(find_by(sgd["advice"], "kind", "shard-optimizer-state").is_null());
  CHECK(saving(sgd, "bf16-parameters") == P / 2);
  CHECK(saving(sgd, "halve-micro-batch") == L * A / 2);
  CHECK(sgd["advice"].size() == 5);
  json momentum = train_report(dir, "momentum.vstrace", {"--optimizer", "sgd", "--momentum"});
  CHECK(find_by(momentum["advice"], "kind", "sgd-with-momentum").is_null());
  CHECK(saving(momentum, "plain-sgd") == P);
  CHECK(saving(momentum, "shard-optimizer-state") == P - P / 8);  // 14694400
}

TEST_CASE("advice on leak: fix the leak at cache_step_statistics, 10 MiB") {
  ScratchDir dir("advice-leak");
  std::vector<std::string> command = {sample("leak"), "--steps", "10", "--leak-bytes", "1MiB"};
  run_profiled(dir.path("t.vstrace"), command);
  json r = report_json(dir.path("t.vstrace"));
  json leak = find_by(r["advice"], "kind", "fix-growth-leak");
  REQUIRE_FALSE(leak.is_null());
  CHECK(leak["saving_bytes"] == 10 * MiB);  // 10485760
  CHECK(leak["title"] == "Fix the leak at cache_step_statistics");
  CHECK(leak["figures"]["bytes_per_iteration"] == MiB);
  CHECK(leak["figures"]["live_bytes_at_last_iteration"] == 10 * MiB);
}
