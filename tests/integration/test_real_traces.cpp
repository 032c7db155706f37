// Traces recorded on real GPUs (tests/data/README.md), reported exactly.
#include <doctest/doctest.h>

#include "tests/integration/harness.h"

using namespace vramscope::testing;
using nlohmann::json;

namespace {

std::string data(const std::string& name) { return std::string(VRAMSCOPE_TEST_DATA_DIR) + "/" + name; }

}  // namespace

TEST_CASE(
    "PyTorch with expandable segments on an H200: VMM calls counted, the refused cuMemCreate not an OOM") {
  json r = report_json(data("h200-torch-expandable.vstrace"));
  CHECK(r["trace"]["command_line"] == json::array({"python3", "samples/train_torch.py", "--steps", "10"}));
  CHECK(r["trace"]["end"]["reason"] == "exit");
  CHECK(r["counts"]["events"] == 72);
  CHECK(r["counts"]["allocations"] == 51);
  CHECK(r["counts"]["failed_allocations"] == 1);
  REQUIRE(r["devices"].size() == 1);
  CHECK(r["devices"][0]["name"] == "NVIDIA H200");
  CHECK(r["devices"][0]["simulated"] == false);
  CHECK(r["devices"][0]["peak"]["bytes"] == 556009472);  // 530.25 MiB
  CHECK(find_by(r["apis"], "api", "cuMemCreate")["count"] == 22);
  CHECK(find_by(r["apis"], "api", "cuMemMap")["count"] == 21);
  CHECK(find_by(r["apis"], "api", "cuMemAddressReserve")["count"] == 2);
  CHECK(r["iterations"]["count"] == 10);

  // Live at exit: the memory groups first, the 314.56 GiB of reserved addresses after them.
  CHECK(r["leaks"]["bytes"] == 556009472 + 4);  // the peak's device memory is all still held, and 4 B pinned
  const json& groups = r["leaks"]["groups"];
  CHECK(groups[0]["kind"] == "virtual memory (physical)");
  CHECK(groups[0]["bytes"] == 80 * MiB);
  size_t first_reserve = 0;
  while (first_reserve < groups.size() && groups[first_reserve]["kind"] != "virtual address reserve")
    ++first_reserve;
  REQUIRE(first_reserve < groups.size());
  for (size_t i = first_reserve; i < groups.size(); ++i) CHECK(groups[i]["kind"] != "device");
  CHECK(groups[first_reserve]["bytes"] == 337758912512ull);  // 314.56 GiB in 2 reservations

  const json& failure = r["failed_allocations"][0];
  CHECK(failure["api"] == "cuMemCreate");
  CHECK(failure["requested_bytes"] == 20 * MiB);
  CHECK(failure["error_name"] == "CUDA_ERROR_NOT_PERMITTED");
  const json& d = failure["diagnosis"];
  CHECK(d["verdict"] == "not out of memory");
  CHECK(d["sites"].empty());
  CHECK(d["grew"].is_null());
  CHECK(
      d["explanation"] ==
      "The 20.00 MiB request failed with CUDA_ERROR_NOT_PERMITTED, not for lack of memory: 139.29 GiB of the "
      "device's 139.80 GiB was free.");
}

TEST_CASE("PyTorch's refused cuMemCreate breaks no --max-failed budget") {
  std::string trace = data("h200-torch-expandable.vstrace");
  ProcessResult check = run_vramscope({"check", trace, "--max-failed", "0"});
  CHECK(check.exit_status == 0);
  CHECK(check.out.find("max_failed  ok      out-of-memory failures 0 (limit 0)") != std::string::npos);
}
