// The viewer's colours, the same in every view: one per memory category,
// and the lines and marks of the timeline. Tests find them in screenshots,
// so each is distinct from the others and from the background.
#pragma once

#include <cstdint>
#include <string_view>

namespace vramscope::ui {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  // As Dear ImGui packs colours (ABGR), opaque.
  uint32_t packed() const { return 0xff000000u | uint32_t{b} << 16 | uint32_t{g} << 8 | r; }
  bool operator==(const Rgb&) const = default;
};

// A category's colour, by its name in the report ("parameters",
// "optimizer state", ...); grey for any other name.
Rgb category_colour(std::string_view category);
// A site's colour in the memory map, by its index: ten in turn.
Rgb site_colour(uint32_t index);

inline constexpr Rgb kBackground{24, 24, 28};
inline constexpr Rgb kPlotBackground{36, 36, 42};
inline constexpr Rgb kReservedLine{240, 240, 240};
inline constexpr Rgb kCapacityLine{255, 215, 0};
inline constexpr Rgb kOomMark{255, 0, 255};
inline constexpr Rgb kIterationMark{90, 90, 100};
inline constexpr Rgb kSelection{0, 220, 255};
inline constexpr Rgb kBlock{70, 150, 230};          // a live block inside a segment
inline constexpr Rgb kHole{110, 40, 40};            // a free hole inside a segment
inline constexpr Rgb kWholeSegment{120, 120, 150};  // a segment without block data
inline constexpr Rgb kLeakMark{255, 140, 0};        // the diagnosis view's marks
inline constexpr Rgb kGrowthMark{255, 90, 160};
inline constexpr Rgb kAdviceMark{60, 200, 120};
inline constexpr Rgb kTreeBar{230, 160, 60};  // a call-tree row's share of the bytes
inline constexpr Rgb kAxisText{200, 200, 200};
inline constexpr Rgb kHighlight{80, 255, 80};    // the selected allocation in the timeline and map
inline constexpr Rgb kSelectedRow{20, 110, 90};  // its row in the allocations table
inline constexpr Rgb kRangeShade{60, 60, 90};    // the time range selected by dragging

}  // namespace vramscope::ui
