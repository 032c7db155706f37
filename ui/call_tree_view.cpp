// Draws the tree (built by the model once per moment and choice) with Dear
// ImGui's tree nodes, a bar of its share before each.
#include "ui/call_tree_view.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "formats/human_size.h"
#include "ui/palette.h"

namespace vramscope::ui {

namespace {

void draw_node(const CallTreeNode& node, uint64_t root_bytes, bool open_all, int& id) {
  ImGui::PushID(id++);
  const ImVec2 at = ImGui::GetCursorScreenPos();
  const float line = ImGui::GetTextLineHeight();
  const float bar = std::round(CallTreeLayout::kBarWidth *
                               static_cast<float>(static_cast<double>(node.bytes) /
                                                  static_cast<double>(std::max<uint64_t>(1, root_bytes))));
  ImDrawList& draw = *ImGui::GetWindowDrawList();
  const float top = std::round(at.y + (line - CallTreeLayout::kBarHeight) / 2);
  draw.AddRectFilled({at.x, top}, {at.x + CallTreeLayout::kBarWidth, top + CallTreeLayout::kBarHeight},
                     kPlotBackground.packed());
  if (bar > 0)
    draw.AddRectFilled({at.x, top}, {at.x + bar, top + CallTreeLayout::kBarHeight}, kTreeBar.packed());
  ImGui::Dummy({CallTreeLayout::kBarWidth + 8, line});
  ImGui::SameLine();
  if (open_all) ImGui::SetNextItemOpen(true);
  const std::string label = format_size(node.bytes) + "  " + std::to_string(node.count) + "  " + node.name;
  const ImGuiTreeNodeFlags flags = node.children.empty() ? ImGuiTreeNodeFlags_Leaf : 0;
  if (ImGui::TreeNodeEx(label.c_str(), flags)) {
    for (const CallTreeNode& child : node.children) draw_node(child, root_bytes, open_all, id);
    ImGui::TreePop();
  }
  ImGui::PopID();
}

}  // namespace

void draw_call_tree(ViewerModel& model, CallTreeChoice& choice, uint64_t time_ns, float x, float y,
                    float width, float height, bool interactive) {
  ImGui::SetCursorPos({x + 12, y + 8});
  ImGui::BeginChild("call tree", {width - 24, height - 16});
  if (interactive) {
    if (ImGui::RadioButton("live at the moment", !choice.leaked)) choice.leaked = false;
    ImGui::SameLine();
    if (ImGui::RadioButton("leaked at exit", choice.leaked)) choice.leaked = true;
    ImGui::SameLine(0, 32);
    if (ImGui::RadioButton("top-down", !choice.bottom_up)) choice.bottom_up = false;
    ImGui::SameLine();
    if (ImGui::RadioButton("bottom-up", choice.bottom_up)) choice.bottom_up = true;
  }
  const CallTreeNode& tree = model.call_tree(choice.leaked, choice.bottom_up, time_ns);
  int id = 0;
  draw_node(tree, tree.bytes, !interactive, id);
  ImGui::EndChild();
}

}  // namespace vramscope::ui
