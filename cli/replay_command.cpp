// `vramscope replay TRACE [--allocator MODEL] [--capacity SIZE] [settings]
// [--fit] [--json FILE]`: the recorded job's requests through a model of an
// allocator: would it fit, and what would a setting save (docs/replay.md).
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "analyzer/replay.h"
#include "analyzer/replay_output.h"
#include "analyzer/replay_scaling.h"
#include "cli/arg_cursor.h"
#include "cli/commands.h"
#include "cli/output_file.h"
#include "formats/any_trace.h"
#include "formats/human_size.h"

namespace vramscope::cli {

namespace {

constexpr const char* kUsage =
    "usage: vramscope replay TRACE [--allocator torch|torch-expandable|cuda-async|exact]\n"
    "                        [--capacity SIZE]\n"
    "                        [--max-split-size SIZE] [--roundup-power2-divisions N|LIST]\n"
    "                        [--garbage-collection-threshold F] [--scale-batch F]\n"
    "                        [--device N] [--fit]\n"
    "                        [--json FILE]\n"
    "\n"
    "Runs the recorded job's requests again through a model of an allocator,\n"
    "in the order and on the streams the job made them, and says whether they\n"
    "fit in the capacity, where they would run out of memory, and how much the\n"
    "allocator would reserve, next to what the recording reserved. The requests\n"
    "are the tensor blocks of an allocator's history (a PyTorch snapshot, a run\n"
    "of a PyTorch job, NVTX annotations); a trace without them replays the job's\n"
    "own device allocations. Exits 0 when every request is served, 1 when the\n"
    "replay runs out of memory.\n"
    "\n"
    "options:\n"
    "  --allocator MODEL      torch (default): PyTorch's caching allocator, as of\n"
    "                         PyTorch 2.5; torch-expandable: the same with\n"
    "                         expandable_segments:True; cuda-async: the CUDA\n"
    "                         driver's pool under backend:cudaMallocAsync (a\n"
    "                         model: the driver's policy is not published);\n"
    "                         exact: every request its bytes and no more (the\n"
    "                         least any allocator could reserve)\n"
    "  --capacity SIZE        the memory the allocator may reserve (e.g. 24GiB;\n"
    "                         default: the device's memory, as the trace says;\n"
    "                         no limit when it does not, as a snapshot)\n"
    "  --max-split-size SIZE  PyTorch's max_split_size_mb (whole MiB, more than 20)\n"
    "  --roundup-power2-divisions N|LIST\n"
    "                         PyTorch's roundup_power2_divisions: a power of two\n"
    "                         for every size, or [256:1,512:2,>:4] (MiB: divisions)\n"
    "  --garbage-collection-threshold F\n"
    "                         PyTorch's garbage_collection_threshold (0 to 1), of\n"
    "                         the capacity\n"
    "  --scale-batch F        estimate a batch F times the recorded one: the\n"
    "                         requests the report calls activations (found\n"
    "                         against the job's iterations) are F times their size\n"
    "  --device N             the device (default: the lowest with requests)\n"
    "  --fit                  also find the smallest capacity that serves every\n"
    "                         request, with these settings, PyTorch's defaults,\n"
    "                         expandable segments, cuda-async and the exact\n"
    "                         allocator (by bisection, to 2 MiB)\n"
    "  --json FILE            also write the result as JSON to FILE; '-' writes it\n"
    "                         to standard output instead of the text\n"
    "  --help                 show this help\n";

struct ReplayOptions {
  std::string trace;
  analysis::AllocatorModel model = analysis::AllocatorModel::Torch;
  analysis::TorchSettings settings;
  bool torch_settings_given = false;
  std::optional<uint64_t> capacity;
  std::optional<uint32_t> device;
  bool fit = false;
  std::optional<double> scale_batch;
  std::optional<std::string> json_path;
};

// A number within (0, most] (or (0, most) when `most_excluded`), or UsageError with `wants`.
double number_value(ArgCursor& cursor, double most, bool most_excluded, const std::string& wants) {
  const std::string flag = cursor.arg();
  const std::string text = cursor.value();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != 0 || !(value > 0 && (most_excluded ? value < most : value <= most)))
    throw UsageError{"replay: " + flag + " wants " + wants + ", not '" + text + "'"};
  return value;
}

uint64_t size_value(ArgCursor& cursor) {
  const std::string flag = cursor.arg();
  const std::string text = cursor.value();
  std::optional<uint64_t> bytes = parse_size(text);
  if (!bytes || *bytes == 0)
    throw UsageError{"replay: bad size '" + text + "' for " + flag + " (e.g. 24GiB)"};
  return *bytes;
}

std::optional<ReplayOptions> parse(const Args& args) {
  ReplayOptions options;
  std::vector<std::string> traces;
  ArgCursor cursor(args, "replay");
  while (cursor.next()) {
    const std::string& arg = cursor.arg();
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg == "--allocator") {
      const std::string text = cursor.value();
      std::optional<analysis::AllocatorModel> model = analysis::parse_model(text);
      if (!model)
        throw UsageError{"replay: --allocator wants torch, torch-expandable, cuda-async or exact, not '" +
                         text + "'"};
      options.model = *model;
    } else if (arg == "--capacity") {
      options.capacity = size_value(cursor);
    } else if (arg == "--max-split-size") {
      options.settings.max_split_size = size_value(cursor);
      if (options.settings.max_split_size <= (uint64_t{20} << 20))
        throw UsageError{"replay: --max-split-size must be more than 20 MiB, as PyTorch requires"};
      if (options.settings.max_split_size % (uint64_t{1} << 20) != 0)
        throw UsageError{
            "replay: --max-split-size must be whole MiB, as PyTorch's max_split_size_mb is, not " +
            format_size(options.settings.max_split_size)};
      options.torch_settings_given = true;
    } else if (arg == "--roundup-power2-divisions") {
      const std::string text = cursor.value();
      std::string error;
      auto divisions = analysis::parse_roundup_divisions(text, error);
      if (!divisions) throw UsageError{"replay: --roundup-power2-divisions " + error};
      options.settings.roundup_power2_divisions = *divisions;
      options.torch_settings_given = true;
    } else if (arg == "--garbage-collection-threshold") {
      options.settings.garbage_collection_threshold =
          number_value(cursor, 1, true, "a fraction between 0 and 1");
      options.torch_settings_given = true;
    } else if (arg == "--device") {
      options.device = static_cast<uint32_t>(cursor.whole_number());
    } else if (arg == "--scale-batch") {
      options.scale_batch = number_value(cursor, 1024, false, "a factor above 0 (e.g. 0.5 or 2)");
    } else if (arg == "--fit") {
      options.fit = true;
    } else if (arg == "--json") {
      options.json_path = cursor.value();
    } else if (cursor.is_option()) {
      cursor.unknown_option();
    } else {
      traces.push_back(arg);
    }
  }
  options.trace = cursor.only_operand(traces, "trace", "vramscope replay TRACE [options]");
  if (!analysis::takes_torch_settings(options.model) && options.torch_settings_given)
    throw UsageError{
        std::string("replay: PyTorch's settings apply to --allocator torch and torch-expandable, not ") +
        analysis::model_name(options.model)};
  return options;
}

}  // namespace

int replay_command(const Args& args) {
  std::optional<ReplayOptions> options = parse(args);
  if (!options) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const trace::TraceContents trace = trace::read_any_trace(options->trace);
  analysis::ReplayInput input;
  try {
    input = analysis::replay_input(trace, options->device);
  } catch (const std::invalid_argument& e) {
    throw UsageError{"replay: " + options->trace + ": " + e.what(), 1};
  }
  std::optional<analysis::ScaledBatch> scaled;
  if (options->scale_batch) {
    scaled = analysis::scale_activations(trace, input, *options->scale_batch);
    if (scaled->scaled == 0) {
      throw UsageError{"replay: --scale-batch: " + options->trace +
                           " shows no activations to scale (they are told by their lifetimes in the job's "
                           "iterations; iterations found: " +
                           scaled->iterations_method + ")",
                       1};
    }
    input = std::move(scaled->input);
  }
  // A snapshot does not say how much memory the device has: no limit then.
  uint64_t capacity = options->capacity.value_or(input.capacity == 0 ? UINT64_MAX : input.capacity);
  analysis::ReplayReport report;
  report.trace = options->trace;
  for (const trace::DeviceInfo& d : trace.devices) {
    if (d.ordinal == input.device)
      report.device_name = d.total_bytes > 0 ? d.name + ", " + format_size(d.total_bytes) : d.name;
  }
  report.input = &input;
  report.settings = options->settings;
  if (scaled) {
    report.batch_scale = *options->scale_batch;
    report.scaled_allocations = scaled->scaled;
    report.scaled_bytes_before = scaled->bytes_before;
    report.scaled_bytes_after = scaled->bytes_after;
  }
  report.result = analysis::replay(input, options->model, options->settings, capacity);
  if (options->fit) {
    const analysis::TorchSettings defaults;
    const std::string settings = analysis::settings_text(options->settings);
    if (analysis::takes_torch_settings(options->model) && !settings.empty()) {
      report.fits.push_back({std::string(analysis::model_name(options->model)) + " (" + settings + ")",
                             analysis::smallest_capacity(input, options->model, options->settings)});
    }
    using analysis::AllocatorModel;
    const std::pair<AllocatorModel, const char*> with_defaults[] = {
        {AllocatorModel::Torch, "torch (PyTorch's defaults)"},
        {AllocatorModel::TorchExpandable, "torch-expandable (expandable_segments:True)"},
        {AllocatorModel::CudaAsync, "cuda-async (backend:cudaMallocAsync)"},
        {AllocatorModel::Exact, "exact"},
    };
    for (const auto& [model, setting] : with_defaults)
      report.fits.push_back({setting, analysis::smallest_capacity(input, model, defaults)});
  }
  const int status = report.result.oom ? 1 : 0;
  if (options->json_path) {
    write_output(*options->json_path, json_text(analysis::replay_json(report)));
    if (*options->json_path == "-") return status;
  }
  const std::string text = analysis::replay_text(report);
  print_text(text);
  return status;
}

}  // namespace vramscope::cli
