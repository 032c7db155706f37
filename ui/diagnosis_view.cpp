// Sections of text with a coloured mark before each finding (the marks are
// what the screenshot tests count) and a Show button where there is a moment.
#include "ui/diagnosis_view.h"

#include <imgui.h>

#include <string>

#include "analyzer/text_layout.h"
#include "formats/human_size.h"
#include "ui/palette.h"

namespace vramscope::ui {

namespace {

constexpr float kMark = 12;    // the side of a finding's mark
constexpr float kMargin = 12;  // around the view: a mark's left edge is at x + 12

// A square of `colour` at the cursor, then the text on its line.
void marked_text(Rgb colour, const std::string& text) {
  const ImVec2 at = ImGui::GetCursorScreenPos();
  const float line = ImGui::GetTextLineHeight();
  ImGui::GetWindowDrawList()->AddRectFilled({at.x, at.y + (line - kMark) / 2},
                                            {at.x + kMark, at.y + (line + kMark) / 2}, colour.packed());
  ImGui::Dummy({kMark + 6, line});
  ImGui::SameLine();
  ImGui::TextUnformatted(text.c_str());
}

}  // namespace

DiagnosisAction draw_diagnosis(const ViewerModel& model, float x, float y, float width, float height) {
  const analysis::Report& report = model.report;
  DiagnosisAction action;
  ImGui::SetCursorPos({x + kMargin, y + kMargin});
  ImGui::BeginChild("diagnosis", {width - 2 * kMargin, height - 2 * kMargin});
  ImGui::PushTextWrapPos(width - 3 * kMargin);

  ImGui::TextColored({1, 1, 1, 1}, "Out of memory");
  int id = 0;
  size_t failures = 0;
  for (const analysis::FailedAllocation& f : report.failed_allocations) {
    if (!analysis::ran_out_of_memory(f)) continue;
    ++failures;
    ImGui::PushID(id++);
    marked_text(kOomMark, analysis::text::elapsed(f.time_ns) + ": " + format_size(f.requested_bytes) +
                              " requested on device " + std::to_string(f.device) + ", " +
                              std::string(to_string(f.diagnosis.verdict)));
    ImGui::SameLine();
    if (ImGui::SmallButton("Show")) action.moment = f.time_ns;
    ImGui::Indent(kMark + 6);
    ImGui::TextUnformatted(f.diagnosis.explanation.c_str());
    ImGui::Unindent(kMark + 6);
    ImGui::PopID();
  }
  if (failures == 0) ImGui::TextUnformatted("No allocation ran out of memory.");

  ImGui::Spacing();
  ImGui::TextColored({1, 1, 1, 1}, "Leaks");
  if (report.leaks.count == 0) {
    ImGui::TextUnformatted(report.leaks.groups.empty() ? "Nothing was live at exit."
                                                       : "No leak: nothing that counts was live at exit.");
  }
  size_t not_counted = 0;  // an allocator's cache, address reservations, heaps: not leaks
  for (const analysis::LeakGroup& g : report.leaks.groups) {
    if (!g.counted) {
      ++not_counted;
      continue;
    }
    ImGui::PushID(id++);
    marked_text(kLeakMark, format_size(g.bytes) + " in " + std::to_string(g.count) +
                               " allocations live at exit: " + analysis::text::site_text(g.site));
    if (g.device == model.timeline.device) {
      ImGui::SameLine();
      if (ImGui::SmallButton("List")) action.leaked_site = analysis::text::site_text(g.site);
    }
    ImGui::PopID();
  }
  if (not_counted > 0) {
    ImGui::TextUnformatted((std::to_string(not_counted) + (not_counted == 1 ? " group" : " groups") +
                            " more live at exit, not leaks: an allocator's cache, address reservations, "
                            "mappings, heaps (the report lists them)")
                               .c_str());
  }
  for (const analysis::GrowthLeak& g : report.growth_leaks) {
    ImGui::PushID(id++);
    marked_text(kGrowthMark, format_size(g.bytes_per_iteration) + " more each iteration over " +
                                 std::to_string(g.iterations) +
                                 " iterations: " + analysis::text::site_text(g.site));
    if (!report.iterations.list.empty()) {
      ImGui::SameLine();
      if (ImGui::SmallButton("Show")) action.moment = report.iterations.list.back().start_ns;
    }
    ImGui::PopID();
  }

  ImGui::Spacing();
  ImGui::TextColored({1, 1, 1, 1}, "Advice");
  if (report.advice.empty()) ImGui::TextUnformatted("None that this trace supports.");
  for (const analysis::Advice& a : report.advice) {
    marked_text(kAdviceMark, a.title + ": saves " + format_size(a.saving_bytes) + " per GPU");
    ImGui::Indent(kMark + 6);
    ImGui::TextUnformatted(a.detail.c_str());
    ImGui::Unindent(kMark + 6);
  }
  ImGui::PopTextWrapPos();
  ImGui::EndChild();
  return action;
}

}  // namespace vramscope::ui
