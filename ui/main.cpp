// vramscope-view: opens a trace in a window, or renders one view of it to a
// PNG file (--screenshot) and exits. `vramscope view` starts it.
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/duration.h"
#include "formats/live_protocol.h"
#include "formats/trace_reader.h"
#include "ui/allocations_view.h"
#include "ui/call_tree_view.h"
#include "ui/diagnosis_view.h"
#include "ui/fragmentation_view.h"
#include "ui/input_script.h"
#include "ui/live_feed.h"
#include "ui/memory_map_view.h"
#include "ui/palette.h"
#include "ui/png_capture.h"
#include "ui/timeline_view.h"
#include "ui/viewer_model.h"

namespace vramscope::ui {
namespace {

constexpr const char* kUsage =
    "usage: vramscope view TRACE|--attach [SOCKET|PID] [--screenshot OUT.png] [--view NAME]\n"
    "                            [--at TIME] [--size WxH]\n"
    "                            [--by category|site] [--select N] [--input STEPS]\n"
    "                            [--bench-frames N]\n"
    "\n"
    "Opens a trace in a window: a vramscope trace (.vstrace), a PyTorch memory\n"
    "snapshot or a torch.profiler trace.\n"
    "\n"
    "options:\n"
    "  --attach [SOCKET|PID] follow a job started with 'vramscope run --live' as its\n"
    "                        events arrive: the newest such job of this user, or the\n"
    "                        one with this socket or process id\n"
    "  --screenshot OUT.png  render one view to a PNG file and exit; it needs a\n"
    "                        display, so run it under xvfb-run where there is none\n"
    "  --view NAME           the view to render: timeline (the default), memorymap\n"
    "                        (address x time), fragmentation (the segments at the\n"
    "                        selected moment, else at the peak), allocations (the\n"
    "                        table, largest first), calltree (live bytes by call path\n"
    "                        at the moment) or diagnosis (out-of-memory verdicts,\n"
    "                        leaks, advice)\n"
    "  --by category|site    colour the timeline and the memory map by category (the\n"
    "                        default) or by site (the timeline: its top 8 sites)\n"
    "  --at TIME             select the moment TIME after the trace's start (500ms, 2.5s)\n"
    "  --select N            select allocation number N (the table's # column): it is\n"
    "                        marked in the timeline, the memory map and the table\n"
    "  --size WxH            the window's size in pixels (default 1280x720)\n"
    "  --input STEPS         with --screenshot: drive the views with the mouse and keys\n"
    "                        first, a frame a step, separated by ';': move X Y,\n"
    "                        press left|right, release left|right, wheel N, key 1-6,\n"
    "                        shift on|off, drag X1 Y1 X2 Y2 [right]; the picture is\n"
    "                        then the whole window, tabs included, the mouse where\n"
    "                        the steps left it\n"
    "  --bench-frames N      zoom and pan through N frames in a hidden window, print\n"
    "                        how long the trace took to open and the frames to build\n"
    "  -h, --help            show this help\n";

constexpr int kMaxSide = 16384;
constexpr int kAttachWaitSeconds = 60;  // a headless --attach gives up when nothing comes

enum class View { Timeline, MemoryMap, Fragmentation, Allocations, CallTree, Diagnosis };

struct Options {
  std::string trace;
  std::optional<std::string> attach;  // "" for the newest job
  std::optional<std::string> screenshot;
  View view = View::Timeline;
  int width = 1280;
  int height = 720;
  std::optional<uint64_t> at_ns;
  std::optional<size_t> select;  // 1-based, as the table numbers them
  bool by_site = false;
  std::vector<InputFrame> input;  // --input
  int bench_frames = 0;
};

struct UsageError {
  std::string message;
};

std::optional<std::pair<int, int>> parse_size(std::string_view text) {
  size_t x = text.find('x');
  if (x == std::string_view::npos || x == 0 || x + 1 == text.size()) return std::nullopt;
  auto number = [](std::string_view digits) -> std::optional<int> {
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    int value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    return value;
  };
  auto w = number(text.substr(0, x)), h = number(text.substr(x + 1));
  if (!w || !h || *w < 200 || *h < 120 || *w > kMaxSide || *h > kMaxSide) return std::nullopt;
  return std::pair{*w, *h};
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError{std::string(arg) + " needs a value"};
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--screenshot") {
      o.screenshot = value();
    } else if (arg == "--view") {
      std::string name = value();
      if (name == "timeline") {
        o.view = View::Timeline;
      } else if (name == "fragmentation") {
        o.view = View::Fragmentation;
      } else if (name == "memorymap") {
        o.view = View::MemoryMap;
      } else if (name == "calltree") {
        o.view = View::CallTree;
      } else if (name == "allocations") {
        o.view = View::Allocations;
      } else if (name == "diagnosis") {
        o.view = View::Diagnosis;
      } else {
        throw UsageError{"unknown view '" + name +
                         "' (views: timeline, memorymap, fragmentation, allocations, calltree, diagnosis)"};
      }
    } else if (arg == "--by") {
      std::string by = value();
      if (by != "category" && by != "site") throw UsageError{"--by " + by + ": give 'category' or 'site'"};
      o.by_site = by == "site";
    } else if (arg == "--select") {
      std::string text = value();
      char* end = nullptr;
      long n = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || n < 1) {
        throw UsageError{"--select " + text + ": give an allocation's number (1 is the first)"};
      }
      o.select = static_cast<size_t>(n);
    } else if (arg == "--at") {
      std::string text = value();
      o.at_ns = parse_duration(text);
      if (!o.at_ns) throw UsageError{"--at " + text + ": give a time with its unit (500ms, 2.5s)"};
    } else if (arg == "--attach") {
      o.attach = i + 1 < argc && argv[i + 1][0] != '-' ? argv[++i] : "";
    } else if (arg == "--input") {
      try {
        o.input = parse_input_script(value());
      } catch (const std::invalid_argument& e) {
        throw UsageError{e.what()};
      }
      if (o.input.empty()) throw UsageError{"--input: no steps"};
    } else if (arg == "--bench-frames") {
      std::string text = value();
      char* end = nullptr;
      long n = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || n < 1 || n > 1'000'000) {
        throw UsageError{"--bench-frames " + text + ": give a number of frames from 1 to 1000000"};
      }
      o.bench_frames = static_cast<int>(n);
    } else if (arg == "--size") {
      std::string text = value();
      auto size = parse_size(text);
      if (!size) {
        throw UsageError{"--size " + text + ": give WIDTHxHEIGHT in pixels, from 200x120 to " +
                         std::to_string(kMaxSide) + "x" + std::to_string(kMaxSide)};
      }
      o.width = size->first;
      o.height = size->second;
    } else if (!arg.empty() && arg[0] == '-') {
      throw UsageError{"unknown option " + std::string(arg)};
    } else if (o.trace.empty()) {
      o.trace = arg;
    } else {
      throw UsageError{"one trace at a time (got " + o.trace + " and " + std::string(arg) + ")"};
    }
  }
  if (o.attach && !o.trace.empty()) throw UsageError{"a trace or --attach, not both"};
  if (o.trace.empty() && !o.attach) {
    throw UsageError{"which trace? (vramscope view TRACE, or --attach to a job run with --live)"};
  }
  if (o.attach && o.bench_frames) throw UsageError{"--bench-frames opens a trace file, not a live job"};
  if (o.screenshot && o.bench_frames) throw UsageError{"--screenshot or --bench-frames, not both"};
  if (!o.input.empty() && !o.screenshot) throw UsageError{"--input goes with --screenshot"};
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// --bench-frames: frame i zooms to 2^-(i mod 24) of the trace and pans across it.
void bench_step(TimelineWindow& window, const analysis::Timeline& timeline, int frame) {
  const TimelineWindow all = TimelineWindow::whole(timeline);
  window = all;
  window.zoom(std::ldexp(1.0, -(frame % 24)), 0.0, timeline);
  const double across = std::fmod(frame * 0.618034, 1.0);  // spread over the trace, never twice the same
  window.pan(across * static_cast<double>(all.to_ns - all.from_ns) /
                 static_cast<double>(window.to_ns - window.from_ns),
             timeline);
}

// How long each frame took to build (ImGui's frame and draw lists, the
// viewer's columns), without the GPU's drawing.
class FrameTimes {
 public:
  void record(double seconds) { times_.push_back(seconds); }
  size_t count() const { return times_.size(); }
  void print(double load_seconds, int frames, int width, int height) {
    // The first frame builds the font atlas: left out.
    std::vector<double> t(times_.begin() + 1, times_.end());
    std::sort(t.begin(), t.end());
    auto percentile = [&](double p) {
      return t[std::min(t.size() - 1, static_cast<size_t>(p * t.size()))] * 1e3;
    };
    std::printf(
        "opened in %.2f s; %d frames of %dx%d, zoomed and panned: build time p50 %.2f ms, p90 %.2f ms, "
        "p99 %.2f ms, max %.2f ms\n",
        load_seconds, frames, width, height, percentile(0.50), percentile(0.90), percentile(0.99),
        t.back() * 1e3);
  }

 private:
  std::vector<double> times_;
};

// One scripted frame's mouse and keys, over what the backend read from GLFW.
// Each scripted frame lasts 1/60 s, however long it took to draw: a double
// click is two clicks within 0.3 s of ImGui's clock, and a loaded machine
// must not turn it into two single ones.
void apply_input(const InputFrame& input) {
  ImGuiIO& io = ImGui::GetIO();
  io.DeltaTime = 1.0f / 60.0f;
  io.MousePos = input.x < 0 ? ImVec2(-FLT_MAX, -FLT_MAX) : ImVec2(input.x, input.y);
  io.MouseDown[ImGuiMouseButton_Left] = input.left;
  io.MouseDown[ImGuiMouseButton_Right] = input.right;
  io.MouseWheel = input.wheel;
  io.KeyShift = input.shift;
  for (int key = GLFW_KEY_1; key <= GLFW_KEY_9; ++key)
    io.KeysDown[key] = input.key == '1' + (key - GLFW_KEY_1);
}

std::string glfw_error;
void remember_glfw_error(int, const char* description) { glfw_error = description; }

// A moment shown from the diagnosis: selected, in a tenth of the trace around it.
void show_moment(TimelineWindow& window, const analysis::Timeline& timeline, uint64_t time_ns) {
  window.centre_on(static_cast<double>(time_ns), 0.1, timeline);
  window.selected_ns = time_ns;
}

// What the user chose in the views, kept across frames.
struct Choices {
  CallTreeChoice tree;
  MapTexture map_raster;  // the memory map's, for wide windows of a large map
  AllocationsTable table;
  bool by_site = false;  // the timeline's bands by site, else by category
};

// An allocation shown from the table: its lifetime filling the middle half of the timeline.
void show_allocation_span(TimelineWindow& window, const analysis::Timeline& timeline, const MapRect& r) {
  const double span = static_cast<double>(std::max<uint64_t>(1, timeline.end_ns - timeline.start_ns));
  const double lifetime =
      static_cast<double>(std::max<uint64_t>(TimelineWindow::kMinSpanNs, r.to_ns - r.from_ns));
  window.centre_on(static_cast<double>(r.from_ns) + lifetime / 2, std::min(1.0, lifetime * 2 / span),
                   timeline);
}

// "colour by" for the timeline and the map: a line above them when interactive.
float draw_colour_choice(Choices& choices, float x, float y) {
  ImGui::SetCursorPos({x + TimelineLayout::kLeft, y + 2});
  ImGui::TextUnformatted("colour by");
  ImGui::SameLine();
  if (ImGui::RadioButton("category", !choices.by_site)) choices.by_site = false;
  ImGui::SameLine();
  if (ImGui::RadioButton("site", choices.by_site)) choices.by_site = true;
  return ImGui::GetFrameHeightWithSpacing() + 2;
}

// Draws `view` into the canvas at (x, y); `interactive`: the mouse acts on
// it. A Show button of the diagnosis, or a double-clicked row of the table,
// switches `view` to the timeline.
void draw_view(View& view, ViewerModel& model, TimelineWindow& window, Choices& choices, float x, float y,
               float width, float height, bool interactive) {
  ImDrawList& draw = *ImGui::GetWindowDrawList();
  switch (view) {
    case View::Timeline: {
      if (interactive) {
        const float line = draw_colour_choice(choices, x, y);
        y += line;
        height -= line;
      }
      const TimelineLevels* bands = choices.by_site ? model.site_levels(!interactive) : &model.levels;
      draw_timeline(model, bands ? *bands : model.levels, window, draw, x, y, width, height);
      if (!bands) {
        draw.AddText({x + TimelineLayout::kLeft + 8, y + TimelineLayout::kTop + 8}, kAxisText.packed(),
                     "computing the timeline by site...");
      }
      if (interactive)
        handle_timeline_input(model, bands ? *bands : model.levels, window, x, y, width, height, true);
      break;
    }
    case View::MemoryMap:
      if (interactive) {
        const float line = draw_colour_choice(choices, x, y);
        y += line;
        height -= line;
      }
      draw_memory_map(model, choices.by_site, choices.map_raster, window, draw, x, y, width, height);
      if (interactive) {
        handle_timeline_input(model, model.levels, window, x, y, width, height, false);
        handle_memory_map_input(model, window, x, y, width, height);
      }
      break;
    case View::Fragmentation:
      draw_fragmentation(model, window.selected_ns.value_or(default_moment(model)), draw, x, y, width,
                         height);
      break;
    case View::Allocations:
      if (draw_allocations(model, choices.table, window, x, y, width, height, interactive)) {
        if (const MapRect* r = selected_allocation(model, window))
          show_allocation_span(window, model.timeline, *r);
        view = View::Timeline;
      }
      break;
    case View::CallTree:
      draw_call_tree(model, choices.tree, window.selected_ns.value_or(default_moment(model)), x, y, width,
                     height, interactive);
      break;
    case View::Diagnosis: {
      const DiagnosisAction action = draw_diagnosis(model, x, y, width, height);
      if (action.moment) {
        show_moment(window, model.timeline, *action.moment);
        view = View::Timeline;
      } else if (action.leaked_site) {
        // The table, filtered to the site, of what is live at the end, largest first.
        AllocationsTable& table = choices.table;
        std::snprintf(table.filter, sizeof table.filter, "%s", action.leaked_site->c_str());
        table.live_at_moment = true;
        table.in_range = false;
        table.sort = AllocationColumn::Size;
        table.ascending = false;
        window.selected_ns = model.timeline.end_ns;
        view = View::Allocations;
      }
      break;
    }
  }
}

// One window that fills the canvas: the views as tabs when interactive, else
// `view` alone (a screenshot is the view, nothing around it).
void draw_frame(ViewerModel* model, View& view, bool& switched, TimelineWindow& window, Choices& choices,
                const std::string& error, const std::string& live_status, int width, int height,
                bool interactive) {
  ImGui::SetNextWindowPos({0, 0});
  ImGui::SetNextWindowSize({static_cast<float>(width), static_cast<float>(height)});
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, {0, 0});
  ImGui::Begin("vramscope", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoBackground |
                   ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus);
  if (model) {
    float top = 0;
    static constexpr std::pair<View, const char*> kTabs[] = {
        {View::Timeline, "Timeline"},           {View::MemoryMap, "Memory map"},
        {View::Fragmentation, "Fragmentation"}, {View::Allocations, "Allocations"},
        {View::CallTree, "Call tree"},          {View::Diagnosis, "Diagnosis"}};
    // Keys 1 to 6 choose the tabs in their order (not while typing in a filter).
    for (int n = 0; interactive && !ImGui::GetIO().WantTextInput && n < 6; ++n) {
      if (ImGui::IsKeyPressed(GLFW_KEY_1 + n, false)) {
        view = kTabs[n].first;
        switched = true;
      }
    }
    if (interactive && ImGui::BeginTabBar("views")) {
      // A view chosen by a button last frame is selected once; then the tabs choose.
      const View wanted = view;
      for (const auto& [tab, name] : kTabs) {
        const ImGuiTabItemFlags flags = tab == wanted && switched ? ImGuiTabItemFlags_SetSelected : 0;
        if (ImGui::BeginTabItem(name, nullptr, flags)) {
          if (!switched) view = tab;
          ImGui::EndTabItem();
        }
      }
      switched = false;
      ImGui::EndTabBar();
      top = ImGui::GetCursorPosY();
    }
    const View before = view;
    draw_view(view, *model, window, choices, 0, top, static_cast<float>(width),
              static_cast<float>(height) - top, interactive);
    switched = view != before;
  } else {
    ImGui::SetCursorPos({16, 16});
    ImGui::TextColored({1.0f, 0.4f, 0.4f, 1.0f}, "%s", error.c_str());
  }
  if (!live_status.empty() && interactive) {
    const float wide = ImGui::CalcTextSize(live_status.c_str()).x;
    ImGui::GetWindowDrawList()->AddText({static_cast<float>(width) - wide - 8, 3}, kAxisText.packed(),
                                        live_status.c_str());
  }
  ImGui::End();
  ImGui::PopStyleVar();
}

// The socket --attach names: a path, a process id in the live directory, or
// the newest job there. Throws std::runtime_error when there is none.
std::string attach_socket(const std::string& given) {
  const std::string directory = live::default_directory();
  if (!given.empty() &&
      std::all_of(given.begin(), given.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return live::socket_path(directory, std::stol(given));
  }
  if (!given.empty()) return given;
  std::string newest = live::newest_socket(directory);
  if (newest.empty()) {
    throw std::runtime_error("no job to attach to in " + directory +
                             ": start one with 'vramscope run --live -- COMMAND'");
  }
  return newest;
}

// Whether the window shows all of `model`'s trace (nothing zoomed).
bool shows_whole(const std::optional<ViewerModel>& model, const TimelineWindow& shown) {
  if (!model) return true;
  const TimelineWindow whole = TimelineWindow::whole(model->timeline);
  return shown.from_ns == whole.from_ns && shown.to_ns == whole.to_ns;
}

int run(const Options& o) {
  // The trace first: a screenshot of one that cannot be read is an error line alone.
  std::optional<ViewerModel> model;
  std::unique_ptr<LiveModel> live;
  std::string error;
  const auto load_start = std::chrono::steady_clock::now();
  try {
    if (o.attach) {
      live = std::make_unique<LiveModel>(attach_socket(*o.attach));
      error = "waiting for the job's first events (" + live->socket() + ")";
    } else {
      model = load_model(o.trace);
    }
  } catch (const std::exception& e) {
    error = e.what();
    std::fprintf(stderr, "vramscope-view: %s\n", error.c_str());
    if (o.attach || o.screenshot || o.bench_frames) return 1;
  }
  const double load_seconds = seconds_since(load_start);
  TimelineWindow shown;
  Choices choices;
  choices.by_site = o.by_site;
  if (model) {
    shown = TimelineWindow::whole(model->timeline);
    if (o.at_ns) shown.selected_ns = model->timeline.start_ns + *o.at_ns;
    if (o.select) {
      const size_t count = model->memory_map().rects.size();
      if (*o.select > count) {
        std::fprintf(stderr, "vramscope-view: --select %zu: the trace has %zu allocation%s on device %u\n",
                     *o.select, count, count == 1 ? "" : "s", model->timeline.device);
        if (o.screenshot || o.bench_frames) return 1;
      } else {
        shown.selected_allocation = *o.select - 1;
      }
    }
  }
  const bool hidden = o.screenshot || o.bench_frames;
  View view = o.view;
  bool switched = true;  // the tab of --view selected at first
  FrameTimes bench;

  glfwSetErrorCallback(remember_glfw_error);
  if (!glfwInit()) {
    std::fprintf(stderr, "vramscope-view: no display to open a window on (%s)%s\n", glfw_error.c_str(),
                 hidden ? "; without one, run it under xvfb-run" : "");
    return 1;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  if (hidden) glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
  std::string title = "vramscope - " + (live ? "live " + live->socket() : o.trace);
  GLFWwindow* window = glfwCreateWindow(o.width, o.height, title.c_str(), nullptr, nullptr);
  if (!window) {
    std::fprintf(stderr, "vramscope-view: cannot open a window with OpenGL 3.3 (%s)\n", glfw_error.c_str());
    glfwTerminate();
    return 1;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(1);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // nothing written where the viewer was started
  ImGui::StyleColorsDark();
  // Crisp edges: a band or a line is its colour, pixel for pixel (the tests read them).
  ImGui::GetStyle().AntiAliasedLines = false;
  ImGui::GetStyle().AntiAliasedFill = false;
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 330");

  int status = 0;
  // A screenshot is the second frame (the first lays out the windows), or
  // the second after the scripted input.
  const bool scripted = !o.input.empty();
  const int shot_frame = 1 + static_cast<int>(o.input.size()) + (scripted ? 1 : 0);
  int first_frame = 0;  // a live screenshot counts from the first trace that came
  const auto started = std::chrono::steady_clock::now();
  for (int frame = 0; !glfwWindowShouldClose(window); ++frame) {
    if (live) {
      const bool following = shows_whole(model, shown);
      const bool first = !model;
      if (live->update(model)) {
        if (following) {
          const TimelineWindow whole = TimelineWindow::whole(model->timeline);
          shown.from_ns = whole.from_ns;
          shown.to_ns = whole.to_ns;
        }
        // What the views keep of the last trace goes with it.
        choices.table.rows_key.reset();
        choices.map_raster.release();
        if (first) first_frame = frame;
      }
      if (!model) error = "waiting for the job's first events: " + live->status();
      if (!model && hidden) {
        if (live->exhausted()) {
          std::fprintf(stderr, "vramscope-view: %s\n", live->status().c_str());
          status = 1;
          break;
        }
        if (seconds_since(started) > kAttachWaitSeconds) {
          std::fprintf(stderr, "vramscope-view: nothing came from %s in %d s\n", live->socket().c_str(),
                       kAttachWaitSeconds);
          status = 1;
          break;
        }
        glfwWaitEventsTimeout(0.02);
        continue;
      }
    }
    // The memory map (the leak marks, the map, the table) is collected in
    // the background once a trace is open; a picture waits for it.
    bool map_ready = true;
    if (model) {
      model->start_memory_map();
      map_ready = model->poll_memory_map();
      if (o.screenshot && !map_ready) map_ready = (model->memory_map(), true);
    }
    if (hidden) {
      glfwPollEvents();
    } else if ((live && !live->finished()) || !map_ready ||
               (choices.by_site && model && !model->site_levels(false))) {
      glfwWaitEventsTimeout(0.1);  // something is on its way
    } else {
      glfwWaitEvents();
    }
    if (o.bench_frames && model) bench_step(shown, model->timeline, frame);
    const auto build_start = std::chrono::steady_clock::now();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    if (scripted) {
      // After the script the mouse stays where it ended (a tooltip shows); keys and the wheel are let go.
      InputFrame input = o.input[std::min(static_cast<size_t>(frame), o.input.size() - 1)];
      if (frame >= static_cast<int>(o.input.size())) input.key = 0, input.wheel = 0;
      apply_input(input);
    }
    ImGui::NewFrame();
    int width = 0, height = 0;
    glfwGetFramebufferSize(window, &width, &height);
    draw_frame(model ? &*model : nullptr, view, switched, shown, choices, error, live ? live->status() : "",
               width, height, !hidden || scripted);
    ImGui::Render();
    if (o.bench_frames) {
      bench.record(seconds_since(build_start));
      if (static_cast<int>(bench.count()) >= o.bench_frames + 1) {
        bench.print(load_seconds, o.bench_frames, width, height);
        break;
      }
    }
    if (o.bench_frames)
      continue;  // the frame is built; drawing it is the GPU's (under Xvfb, Mesa's on the CPU)
    glViewport(0, 0, width, height);
    glClearColor(kBackground.r / 255.0f, kBackground.g / 255.0f, kBackground.b / 255.0f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    if (o.screenshot && frame - first_frame == shot_frame) {
      if (live) {
        std::printf("drew %llu events from %s; %s\n",
                    static_cast<unsigned long long>(model->report.counts.events), live->socket().c_str(),
                    live->finished() ? "the job had ended" : "the job was running");
      }
      try {
        save_framebuffer_png(*o.screenshot, width, height);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "vramscope-view: %s\n", e.what());
        status = 1;
      }
      break;
    }
    glfwSwapBuffers(window);
  }

  choices.map_raster.release();
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return status;
}

}  // namespace
}  // namespace vramscope::ui

int main(int argc, char** argv) {
  using namespace vramscope::ui;
  try {
    return run(parse_options(argc, argv));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "vramscope view: %s\n", e.message.c_str());
    return 2;
  }
}
