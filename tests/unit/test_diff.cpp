// Unit tests of `vramscope diff` on hand-made reports.
#include <doctest/doctest.h>

#include "analyzer/diff.h"
#include "analyzer/diff_output.h"

using namespace vramscope::analysis;
using vramscope::trace::MemoryKind;

namespace {

constexpr uint64_t MiB = 1024 * 1024;

SiteBytes at(const std::string& function, uint32_t line, uint64_t bytes) {
  SiteBytes s;
  s.site.function = function;
  s.site.file = "train.cpp";
  s.site.line = line;
  s.site.module = "/build/a/train";
  s.bytes = bytes;
  s.count = 1;
  return s;
}

Report run(const std::string& path, uint64_t peak, std::vector<SiteBytes> sites) {
  Report r;
  r.trace.path = path;
  DeviceReport d;
  d.peak.bytes = peak;
  d.peak.sites = std::move(sites);
  r.devices = {d};
  r.kinds = {KindTotals{MemoryKind::Device, 10, 10, peak, peak, 0, 0}};
  return r;
}

}  // namespace

TEST_CASE("diff: peaks, leaks, failures, kinds and sites by absolute change") {
  Report a = run("a.vstrace", 100 * MiB,
                 {at("params", 1, 60 * MiB), at("state", 2, 30 * MiB), at("acts", 3, 10 * MiB)});
  Report b = run("b.vstrace", 125 * MiB,
                 {at("params", 1, 60 * MiB), at("state", 2, 60 * MiB), at("acts", 3, 5 * MiB)});
  b.trace.path = "b.vstrace";
  b.devices[0].peak.sites[0].site.module = "/build/b/train";  // another build: same site
  b.leaks.bytes = 3 * MiB;
  b.failed_allocations.resize(2);
  b.kinds.push_back(KindTotals{MemoryKind::Managed, 1, 0, 4 * MiB, 4 * MiB, 4 * MiB, 1});

  ReportDiff d = diff_reports(a, b);
  REQUIRE(d.devices.size() == 1);
  CHECK(d.devices[0].peak.change() == static_cast<int64_t>(25 * MiB));
  CHECK(*d.devices[0].peak.percent() == doctest::Approx(25.0));
  CHECK(d.leaked_bytes.change() == static_cast<int64_t>(3 * MiB));
  CHECK_FALSE(d.leaked_bytes.percent().has_value());
  CHECK(d.failed_allocations.change() == 2);
  REQUIRE(d.kinds.size() == 2);
  CHECK(d.kinds[1].kind == MemoryKind::Managed);
  CHECK(d.kinds[1].allocations.before == 0);
  CHECK(d.kinds[1].allocations.after == 1);
  REQUIRE(d.sites.size() == 2);  // params did not change
  CHECK(d.sites[0].site.function == "state");
  CHECK(d.sites[0].bytes.change() == static_cast<int64_t>(30 * MiB));
  CHECK(d.sites[1].site.function == "acts");
  CHECK(d.sites[1].bytes.change() == -static_cast<int64_t>(5 * MiB));

  CHECK(peaks_grown_above(d, 24.9) == std::vector<uint32_t>{0});
  CHECK(peaks_grown_above(d, 25.0).empty());
  CHECK(peaks_grown_above(diff_reports(b, a), 0).empty());

  std::string text = diff_to_text(d);
  INFO(text);
  CHECK(text.find("device 0 peak    100.00 MiB -> 125.00 MiB (+25.00 MiB, +25.00%)") != std::string::npos);
  CHECK(text.find("live at exit     0 B -> 3.00 MiB (+3.00 MiB, new)") != std::string::npos);
  CHECK(text.find("failed allocs    0 -> 2 (+2)") != std::string::npos);
  CHECK(text.find("+30.00 MiB   30.00 MiB -> 60.00 MiB   state  train.cpp:2") != std::string::npos);

  auto json = diff_to_json(d, 10.0);
  CHECK(json["devices"][0]["peak_bytes"]["change"] == 25 * MiB);
  CHECK(json["devices"][0]["peak_bytes"]["change_percent"] == 25.0);
  CHECK(json["leaked_bytes"]["change_percent"].is_null());
  CHECK(json["sites"][1]["bytes"]["change"] == -static_cast<int64_t>(5 * MiB));
  CHECK(json["fail_above"]["devices_above"] == nlohmann::ordered_json::array({0}));
  CHECK(diff_to_json(d, std::nullopt)["fail_above"].is_null());
}

TEST_CASE("diff: a device that appears counts as growth from nothing") {
  Report a = run("a", 10 * MiB, {});
  Report b = run("b", 10 * MiB, {});
  DeviceReport second;
  second.ordinal = 1;
  second.peak.bytes = MiB;
  b.devices.push_back(second);
  ReportDiff d = diff_reports(a, b);
  REQUIRE(d.devices.size() == 2);
  CHECK(d.devices[1].peak.before == 0);
  CHECK(peaks_grown_above(d, 1000) == std::vector<uint32_t>{1});
}

TEST_CASE("diff: category peaks A -> B, a category in only one report is 0 in the other") {
  Report a = run("a", 100 * MiB, {});
  a.categories.source = "device memory";
  a.categories.totals = {CategoryTotals{"parameters", 60 * MiB, 4, 60 * MiB, "high", ""},
                         CategoryTotals{"optimizer state", 0, 0, 0, "", ""},
                         CategoryTotals{"activations", 40 * MiB, 8, 80 * MiB, "medium", ""}};
  Report b = run("b", 130 * MiB, {});
  b.categories.source = "tensor blocks";
  b.categories.totals = {CategoryTotals{"parameters", 60 * MiB, 4, 60 * MiB, "high", ""},
                         CategoryTotals{"optimizer state", 32 * MiB, 2, 32 * MiB, "high", ""},
                         CategoryTotals{"workspaces", 2 * MiB, 1, 2 * MiB, "low", ""},
                         CategoryTotals{"gradients", 0, 0, 0, "", ""}};

  ReportDiff d = diff_reports(a, b);
  REQUIRE(d.categories.size() == 5);
  CHECK(d.categories[0].category == "parameters");
  CHECK(d.categories[0].peak_bytes.change() == 0);
  CHECK(d.categories[1].category == "optimizer state");
  CHECK(d.categories[1].peak_bytes.before == 0);
  CHECK(d.categories[1].peak_bytes.after == 32 * MiB);
  CHECK(d.categories[2].category == "activations");
  CHECK(d.categories[2].peak_bytes.after == 0);  // not in B
  CHECK(d.categories[3].category == "workspaces");
  CHECK(d.categories[3].peak_bytes.before == 0);  // not in A

  std::string text = diff_to_text(d);
  INFO(text);
  CHECK(text.find("Categories, peak (A -> B)\n"
                  "  parameters                 60.00 MiB -> 60.00 MiB (+0 B, +0.00%)\n"
                  "  optimizer state            0 B -> 32.00 MiB (+32.00 MiB, new)\n"
                  "  activations                40.00 MiB -> 0 B (-40.00 MiB, -100.00%)\n"
                  "  workspaces                 0 B -> 2.00 MiB (+2.00 MiB, new)\n") != std::string::npos);

  auto json = diff_to_json(d, std::nullopt);
  REQUIRE(json["categories"].size() == 5);  // the JSON has even those unused in both
  CHECK(text.find("gradients") == std::string::npos);
  CHECK(json["categories"][1]["category"] == "optimizer state");
  CHECK(json["categories"][1]["peak_bytes"]["after"] == 32 * MiB);
  CHECK(json["categories"][1]["peak_bytes"]["change_percent"].is_null());
  CHECK(json["categories"][2]["peak_bytes"]["change"] == -static_cast<int64_t>(40 * MiB));

  // Reports without categories: none in the diff, none in the text.
  ReportDiff plain = diff_reports(run("a", MiB, {}), run("b", MiB, {}));
  CHECK(plain.categories.empty());
  CHECK(diff_to_text(plain).find("Categories") == std::string::npos);
}
