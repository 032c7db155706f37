// Opens a trace for the viewer: the report and the timeline, side by side.
#include "ui/viewer_model.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <map>

#include "analyzer/analysis.h"
#include "analyzer/live_stacks.h"
#include "formats/any_trace.h"

namespace vramscope::ui {

namespace {

// The device the timeline shows: the one with the highest peak.
uint32_t busiest_device(const analysis::Report& report) {
  uint32_t device = 0;
  uint64_t peak = 0;
  for (const analysis::DeviceReport& d : report.devices) {
    if (d.peak.bytes > peak || (peak == 0 && d.ordinal < device)) {
      peak = d.peak.bytes;
      device = d.ordinal;
    }
  }
  return device;
}

}  // namespace

ViewerModel load_model(const std::string& path, size_t timeline_buckets) {
  ViewerModel model;
  model.path = path;
  analysis::TimelineQuery query;
  query.by = analysis::TimelineGrouping::Category;
  query.buckets = timeline_buckets;
  query.on_tensors = [&model](std::span<const analysis::CategorizedTensor> tensors) {
    model.tensor_categories.add(tensors);
  };
  trace::TraceContents trace;
  model.from_file = trace::trace_form(path) == trace::TraceForm::Vramscope;
  if (model.from_file) {
    // The report and the timeline at once, on two cores, each with a read of
    // its own (a trace file's walks share state): the timeline's of the
    // lowest device, the one a job of one GPU has.
    std::future<analysis::Timeline> timeline = std::async(std::launch::async, [&] {
      trace = trace::read_trace_file(path);  // checked: later walks need no first walk
      return analysis::compute_timeline(trace, query);
    });
    std::exception_ptr failed;
    try {
      model.report = analysis::analyze_trace_file(path);
    } catch (...) {
      failed = std::current_exception();
    }
    model.timeline = timeline.get();  // waits, and throws the read's error first
    if (failed) std::rethrow_exception(failed);
    if (!model.report.devices.empty() && busiest_device(model.report) != model.timeline.device) {
      query.device = busiest_device(model.report);
      model.tensor_categories = {};
      model.timeline = analysis::compute_timeline(trace, query);
    }
  } else {
    trace = trace::read_any_trace(path);
    model.report = analysis::analyze_trace(trace);
    if (!model.report.devices.empty()) query.device = busiest_device(model.report);
    model.timeline = analysis::compute_timeline(trace, query);
  }
  model.trace = std::move(trace);
  model.levels = TimelineLevels(model.timeline);
  // The levels hold the values now; the timeline keeps its facts and names.
  model.timeline.allocated.buckets = {};
  model.timeline.reserved.buckets = {};
  for (analysis::TimelineSeries& group : model.timeline.groups) group.buckets = {};
  return model;
}

const analysis::DeviceFragmentationMap& ViewerModel::fragmentation_at(uint64_t time_ns) {
  if (fragmentation_time_ != time_ns) {
    fragmentation_ = analysis::fragmentation_at(trace, timeline.device, time_ns);
    fragmentation_time_ = time_ns;
  }
  return fragmentation_;
}

const CallTreeNode& ViewerModel::call_tree(bool leaked, bool bottom_up, uint64_t time_ns) {
  const auto key = std::make_tuple(leaked, bottom_up, leaked ? 0 : time_ns);
  if (call_tree_key_ == key) return call_tree_;
  analysis::BytesByStack live;
  if (leaked) {
    std::map<uint32_t, analysis::LiveStacks> at_exit = analysis::live_at_exit(trace);
    auto device = at_exit.find(timeline.device);
    if (device != at_exit.end()) live = std::move(device->second.stacks);
  } else {
    live = analysis::live_at(trace, timeline.device, time_ns).stacks;
  }
  call_tree_ = build_call_tree(live, stacks(), bottom_up);
  call_tree_key_ = key;
  return call_tree_;
}

analysis::StackResolver& ViewerModel::stacks() {
  if (!stacks_) {
    symbolizer_ = std::make_unique<analysis::Symbolizer>(trace.modules);
    stacks_ = std::make_unique<analysis::StackResolver>(trace, *symbolizer_);
  }
  return *stacks_;
}

const MemoryMap& ViewerModel::memory_map() {
  if (!memory_map_) {
    start_memory_map();
    memory_map_ = memory_map_job_.get();
  }
  return *memory_map_;
}

template <typename Work>
auto ViewerModel::in_background(Work work) -> std::future<decltype(work(trace))> {
  return std::async(std::launch::async, [this, work] {
    if (!from_file) return work(static_cast<const trace::TraceContents&>(trace));
    const trace::TraceContents read = trace::read_trace_file(path);  // checked, as the model's
    return work(read);
  });
}

void ViewerModel::start_memory_map() {
  if (memory_map_ || memory_map_job_.valid()) return;
  // A symbolizer of its own too: the window's thread goes on using the model's.
  memory_map_job_ = in_background([this](const trace::TraceContents& walked) {
    analysis::Symbolizer symbolizer(walked.modules);
    analysis::StackResolver resolver(walked, symbolizer);
    return collect_memory_map(walked, timeline.device, timeline.end_ns, resolver, tensor_categories);
  });
}

bool ViewerModel::poll_memory_map() {
  if (!memory_map_ && memory_map_job_.valid() &&
      memory_map_job_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    memory_map_ = memory_map_job_.get();
  }
  return memory_map_.has_value();
}

const TimelineLevels* ViewerModel::site_levels(bool wait) {
  if (site_levels_) return &*site_levels_;
  if (timeline.bucket_count == 0) {  // no memory on the device: by site shows none either
    site_levels_ = levels;
    return &*site_levels_;
  }
  if (!site_levels_job_.valid()) {
    analysis::TimelineQuery query;
    query.by = analysis::TimelineGrouping::Site;
    query.top = kTopSites;
    query.device = timeline.device;
    query.buckets = std::max<size_t>(1, timeline.bucket_count);
    site_levels_job_ = in_background([query](const trace::TraceContents& walked) {
      return TimelineLevels(analysis::compute_timeline(walked, query));
    });
  }
  if (!wait && site_levels_job_.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    return nullptr;
  site_levels_ = site_levels_job_.get();
  return &*site_levels_;
}

uint64_t default_moment(const ViewerModel& model) {
  for (const analysis::DeviceReport& device : model.report.devices) {
    if (device.ordinal == model.timeline.device) return device.peak.time_ns;
  }
  return model.timeline.start_ns;
}

}  // namespace vramscope::ui
