// A small parser: words and numbers, one step at a time.
#include "ui/input_script.h"

#include <cstdlib>
#include <sstream>

namespace vramscope::ui {

namespace {

float number(std::istringstream& words, std::string_view step) {
  std::string word;
  if (!(words >> word)) throw std::invalid_argument("--input: '" + std::string(step) + "' needs a number");
  char* end = nullptr;
  const float value = std::strtof(word.c_str(), &end);
  if (*end != '\0' || value < -100000 || value > 100000) {
    throw std::invalid_argument("--input: '" + word + "' in '" + std::string(step) + "' is not a number");
  }
  return value;
}

}  // namespace

std::vector<InputFrame> parse_input_script(std::string_view script) {
  std::vector<InputFrame> frames;
  InputFrame now;
  size_t start = 0;
  while (start <= script.size()) {
    size_t end = script.find(';', start);
    if (end == std::string_view::npos) end = script.size();
    const std::string_view step = script.substr(start, end - start);
    start = end + 1;
    std::istringstream words{std::string(step)};
    std::string verb;
    if (!(words >> verb)) continue;  // an empty step
    now.wheel = 0;
    now.key = 0;
    auto button = [&]() -> bool& {
      std::string which;
      words >> which;
      if (which == "left") return now.left;
      if (which == "right") return now.right;
      throw std::invalid_argument("--input: '" + std::string(step) + "': say left or right");
    };
    if (verb == "move") {
      now.x = number(words, step);
      now.y = number(words, step);
    } else if (verb == "press") {
      button() = true;
    } else if (verb == "release") {
      button() = false;
    } else if (verb == "wheel") {
      now.wheel = number(words, step);
    } else if (verb == "key") {
      std::string key;
      words >> key;
      if (key.size() != 1 || key[0] < '1' || key[0] > '9') {
        throw std::invalid_argument("--input: '" + std::string(step) + "': keys are 1 to 9");
      }
      now.key = key[0];
    } else if (verb == "shift") {
      std::string state;
      words >> state;
      if (state != "on" && state != "off") {
        throw std::invalid_argument("--input: '" + std::string(step) + "': shift on or shift off");
      }
      now.shift = state == "on";
    } else if (verb == "drag") {
      const float x1 = number(words, step), y1 = number(words, step);
      const float x2 = number(words, step), y2 = number(words, step);
      std::string which;
      words >> which;
      if (!which.empty() && which != "right" && which != "left") {
        throw std::invalid_argument("--input: '" + std::string(step) + "': drag with left or right");
      }
      bool& held = which == "right" ? now.right : now.left;
      now.x = x1;
      now.y = y1;
      frames.push_back(now);  // over the start first, then pressed there
      held = true;
      frames.push_back(now);
      for (int i = 1; i <= 10; ++i) {
        now.x = x1 + (x2 - x1) * static_cast<float>(i) / 10;
        now.y = y1 + (y2 - y1) * static_cast<float>(i) / 10;
        frames.push_back(now);
      }
      held = false;
    } else {
      throw std::invalid_argument("--input: unknown step '" + std::string(step) +
                                  "' (move, press, release, wheel, key, shift, drag)");
    }
    std::string extra;
    if (words >> extra)
      throw std::invalid_argument("--input: '" + std::string(step) + "' has more than it needs");
    frames.push_back(now);
  }
  return frames;
}

}  // namespace vramscope::ui
