// `vramscope import FILE [-o TRACE]`: a PyTorch memory snapshot or a
// torch.profiler trace, written as a vramscope trace.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "analyzer/text_layout.h"
#include "cli/arg_cursor.h"
#include "cli/commands.h"
#include "cli/output_file.h"
#include "cli/trace_inputs.h"
#include "formats/human_size.h"
#include "formats/trace_contents_writer.h"

namespace vramscope::cli {

namespace {

constexpr const char* kUsage =
    "usage: vramscope import FILE [-o TRACE]\n"
    "\n"
    "Reads what another tool recorded and writes it as a vramscope trace, which\n"
    "every command reads. 'report', 'check' and 'timeline' read these files\n"
    "directly too; import once to keep the converted trace.\n"
    "\n"
    "FILE is one of:\n"
    "  a PyTorch memory snapshot   torch.cuda.memory._dump_snapshot(...) pickle,\n"
    "                              2023 or current schema; read as data only, no\n"
    "                              code in it is ever run\n"
    "  a torch.profiler trace      .json or .json.gz from export_chrome_trace or\n"
    "                              tensorboard_trace_handler, with profile_memory=True\n"
    "  a raw memory timeline       .raw.json[.gz] from export_memory_timeline\n"
    "\n"
    "options:\n"
    "  -o, --output TRACE  where to write (default: FILE with .vstrace for its extension)\n"
    "  --help              show this help\n";

struct ImportOptions {
  std::string input;
  std::string output;
};

std::optional<ImportOptions> parse(const Args& args) {
  ImportOptions options;
  std::vector<std::string> inputs;
  ArgCursor cursor(args, "import");
  while (cursor.next()) {
    const std::string& arg = cursor.arg();
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg == "-o" || arg == "--output") {
      options.output = cursor.value();
    } else if (cursor.is_option()) {
      cursor.unknown_option();
    } else {
      inputs.push_back(arg);
    }
  }
  options.input = cursor.only_operand(inputs, "file", "vramscope import FILE [-o TRACE]");
  if (options.output.empty()) {
    std::filesystem::path out(options.input);
    // "x.pt.trace.json.gz" becomes "x.vstrace": every extension goes.
    std::string stem = out.filename().string();
    stem = stem.substr(0, stem.find('.') == 0 ? stem.size() : stem.find('.'));
    options.output = (out.parent_path() / (stem + ".vstrace")).string();
  }
  if (options.output == options.input)
    throw UsageError{"import: the output would overwrite the input: give -o"};
  return options;
}

}  // namespace

int import_command(const Args& args) {
  std::optional<ImportOptions> options = parse(args);
  if (!options) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (trace::trace_form(options->input) == trace::TraceForm::Vramscope) {
    // A vramscope trace, or nothing vramscope reads: the reader says which.
    trace::read_trace_file(options->input);
    throw UsageError{"import: " + options->input + " is a vramscope trace already", 1};
  }
  trace::TraceContents trace = trace::read_any_trace(options->input);
  try {
    trace::write_trace_file(trace, options->output);
  } catch (const std::runtime_error& e) {
    throw UsageError{std::string("import: ") + e.what(), 1};
  }
  std::error_code error;
  uint64_t bytes = std::filesystem::file_size(options->output, error);
  print_text("vramscope: wrote " + analysis::text::one_line(options->output) + " (" +
             std::to_string(trace.events.count()) + " events, " + format_size(error ? 0 : bytes) + ")\n");
  return 0;
}

}  // namespace vramscope::cli
