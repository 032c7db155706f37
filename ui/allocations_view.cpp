// The table is Dear ImGui's, with a list clipper: only the rows on screen are
// laid out, so a table of millions scrolls as fast as one of ten. The rows
// are sorted and filtered once per change, not per frame.
#include "ui/allocations_view.h"

#include <imgui.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string_view>

#include "analyzer/categories.h"
#include "analyzer/text_layout.h"
#include "formats/human_size.h"
#include "ui/palette.h"

namespace vramscope::ui {

namespace {

std::string_view category_name(const MapRect& r) {
  return r.category == kNoCategory ? std::string_view{}
                                   : to_string(static_cast<analysis::Category>(r.category));
}

// What the rows depend on besides the map, as one comparable key.
std::string rows_key(const AllocationsTable& table, const TimelineWindow& window) {
  std::string key = table.filter;
  key += '\n' + std::to_string(static_cast<int>(table.sort)) + (table.ascending ? "a" : "d");
  if (table.live_at_moment) key += " at " + std::to_string(window.selected_ns.value_or(UINT64_MAX));
  if (table.in_range && window.range) {
    key += " in " + std::to_string(window.range->first) + "-" + std::to_string(window.range->second);
  }
  return key;
}

const char* const kColumnNames[] = {"#",        "size",   "site",   "category", "made",
                                    "lifetime", "stream", "thread", "address"};

}  // namespace

bool draw_allocations(ViewerModel& model, AllocationsTable& table, TimelineWindow& window, float x, float y,
                      float width, float height, bool interactive) {
  const MemoryMap& map = model.memory_map();
  ImGui::SetCursorPos({x + 12, y + 8});
  ImGui::BeginChild("allocations", {width - 24, height - 16});
  if (interactive) {
    ImGui::SetNextItemWidth(260);
    ImGui::InputTextWithHint("##filter", "filter by site or category", table.filter, sizeof table.filter);
    ImGui::SameLine();
    ImGui::Checkbox("live at the selected moment", &table.live_at_moment);
    ImGui::SameLine();
    ImGui::BeginDisabled(!window.range);
    ImGui::Checkbox("made in the selected range", &table.in_range);
    ImGui::EndDisabled();
  }

  constexpr ImGuiTableFlags kFlags = ImGuiTableFlags_Sortable | ImGuiTableFlags_ScrollY |
                                     ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_Resizable |
                                     ImGuiTableFlags_SizingFixedFit;
  bool show = false;
  const float table_height = ImGui::GetContentRegionAvail().y - ImGui::GetTextLineHeightWithSpacing();
  if (ImGui::BeginTable("table", 9, kFlags, {0, table_height})) {
    ImGui::TableSetupScrollFreeze(0, 1);
    for (int c = 0; c < 9; ++c) {
      ImGuiTableColumnFlags flags = ImGuiTableColumnFlags_None;
      if (static_cast<AllocationColumn>(c) == table.sort) {
        flags |= ImGuiTableColumnFlags_DefaultSort |
                 (table.ascending ? ImGuiTableColumnFlags_PreferSortAscending
                                  : ImGuiTableColumnFlags_PreferSortDescending);
      }
      if (static_cast<AllocationColumn>(c) == AllocationColumn::Site)
        flags |= ImGuiTableColumnFlags_WidthStretch;
      ImGui::TableSetupColumn(kColumnNames[c], flags, 0.0f, static_cast<ImGuiID>(c));
    }
    ImGui::TableHeadersRow();
    if (ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs(); specs && specs->SpecsDirty) {
      if (specs->SpecsCount > 0) {
        table.sort = static_cast<AllocationColumn>(specs->Specs[0].ColumnUserID);
        table.ascending = specs->Specs[0].SortDirection == ImGuiSortDirection_Ascending;
      }
      specs->SpecsDirty = false;
    }
    const std::string key = rows_key(table, window);
    if (table.rows_key != key) {
      table.rows = table_rows(map, table, window);
      table.rows_key = key;
    }
    uint64_t largest = 1;
    for (const MapRect& r : map.rects) largest = std::max(largest, r.size);

    ImGui::PushStyleColor(ImGuiCol_Header, ImVec4(kSelectedRow.r / 255.0f, kSelectedRow.g / 255.0f,
                                                  kSelectedRow.b / 255.0f, 1.0f));
    if (window.selected_allocation != table.shown_selection) {
      table.shown_selection = window.selected_allocation;
      auto found =
          std::find(table.rows.begin(), table.rows.end(), window.selected_allocation.value_or(SIZE_MAX));
      if (found != table.rows.end()) {
        const float row_height = ImGui::GetTextLineHeight() + ImGui::GetStyle().CellPadding.y * 2;
        const float wanted = static_cast<float>(found - table.rows.begin()) * row_height;
        const float visible = ImGui::GetWindowHeight() - 2 * row_height;
        if (wanted < ImGui::GetScrollY() || wanted > ImGui::GetScrollY() + visible) {
          ImGui::SetScrollY(std::max(0.0f, wanted - visible / 3));
        }
      }
    }
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(table.rows.size()));
    while (clipper.Step()) {
      for (int row = clipper.DisplayStart; row < clipper.DisplayEnd; ++row) {
        const uint32_t index = table.rows[static_cast<size_t>(row)];
        const MapRect& r = map.rects[index];
        ImGui::TableNextRow();
        ImGui::TableSetColumnIndex(0);
        const bool selected = window.selected_allocation == index;
        char number[24];
        std::snprintf(number, sizeof number, "%u", index + 1);
        if (ImGui::Selectable(number, selected,
                              ImGuiSelectableFlags_SpanAllColumns | ImGuiSelectableFlags_AllowDoubleClick)) {
          window.selected_allocation = index;
          table.shown_selection = index;
          if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) show = true;
        }
        ImGui::TableSetColumnIndex(1);
        const ImVec2 at = ImGui::GetCursorScreenPos();
        const float line = ImGui::GetTextLineHeight();
        const float bar = std::max(
            1.0f, std::round(AllocationsLayout::kBarWidth *
                             static_cast<float>(static_cast<double>(r.size) / static_cast<double>(largest))));
        const float top = std::round(at.y + (line - AllocationsLayout::kBarHeight) / 2);
        ImGui::GetWindowDrawList()->AddRectFilled(
            {at.x, top}, {at.x + bar, top + AllocationsLayout::kBarHeight}, kTreeBar.packed());
        ImGui::Dummy({AllocationsLayout::kBarWidth + 6, line});
        ImGui::SameLine();
        ImGui::TextUnformatted(format_size(r.size).c_str());
        ImGui::TableSetColumnIndex(2);
        ImGui::TextUnformatted(map.sites[r.site].c_str());
        ImGui::TableSetColumnIndex(3);
        const std::string_view category = category_name(r);
        ImGui::TextUnformatted(category.empty() ? (r.block ? "" : "segment") : std::string(category).c_str());
        ImGui::TableSetColumnIndex(4);
        ImGui::TextUnformatted(analysis::text::elapsed(r.from_ns - model.timeline.start_ns).c_str());
        ImGui::TableSetColumnIndex(5);
        ImGui::TextUnformatted(r.freed ? analysis::text::elapsed(r.to_ns - r.from_ns).c_str()
                                       : "live at the end");
        ImGui::TableSetColumnIndex(6);
        ImGui::Text("%llu", static_cast<unsigned long long>(r.stream));
        ImGui::TableSetColumnIndex(7);
        ImGui::Text("%u", r.thread);
        ImGui::TableSetColumnIndex(8);
        ImGui::Text("0x%llx", static_cast<unsigned long long>(r.address));
      }
    }
    ImGui::PopStyleColor();
    ImGui::EndTable();
  }
  ImGui::Text("%zu of %zu allocations%s", table.rows.size(), map.rects.size(),
              map.left_out ? (", " + std::to_string(map.left_out) + " more not collected").c_str() : "");
  ImGui::EndChild();
  return show;
}

}  // namespace vramscope::ui
