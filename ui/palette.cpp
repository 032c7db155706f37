// Category colours: a qualitative palette, distinct under Mesa's software renderer.
#include "ui/palette.h"

#include <array>
#include <utility>

namespace vramscope::ui {

Rgb category_colour(std::string_view category) {
  static constexpr std::array<std::pair<std::string_view, Rgb>, 8> kColours = {{
      {"parameters", {31, 119, 180}},
      {"gradients", {255, 127, 14}},
      {"optimizer state", {44, 160, 44}},
      {"activations", {214, 39, 40}},
      {"temporaries", {148, 103, 189}},
      {"inputs", {140, 86, 75}},
      {"workspaces", {188, 189, 34}},
      {"unknown", {127, 127, 127}},
  }};
  for (const auto& [name, colour] : kColours) {
    if (name == category) return colour;
  }
  return {127, 127, 127};
}

Rgb site_colour(uint32_t index) {
  static constexpr std::array<Rgb, 10> kColours = {{{78, 121, 167},
                                                    {242, 142, 43},
                                                    {225, 87, 89},
                                                    {118, 183, 178},
                                                    {89, 161, 79},
                                                    {237, 201, 72},
                                                    {176, 122, 161},
                                                    {255, 157, 167},
                                                    {156, 117, 95},
                                                    {186, 176, 172}}};
  return kColours[index % kColours.size()];
}

}  // namespace vramscope::ui
