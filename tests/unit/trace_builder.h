// Builds TraceContents by hand for the analyzer's unit tests, without the
// file reader: strings, Python-style frames, native stacks and events.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/trace_reader.h"

namespace vramscope::testing {

struct FrameSpec {
  std::string function;
  std::string file;
  uint32_t line = 0;
};

class TraceBuilder {
 public:
  TraceBuilder() {
    trace.source = "test.vstrace";
    trace.strings.emplace_back();
    trace.stack_nodes.emplace_back();
    trace.frames.emplace_back();
  }

  trace::StringId string(const std::string& text) {
    trace.strings.push_back(text);
    return trace::StringId{static_cast<uint32_t>(trace.strings.size() - 1)};
  }

  // A stack of non-native frames, listed outermost first (as code reads).
  trace::StackId stack(const std::vector<FrameSpec>& outer_to_inner) {
    trace::StackId parent;
    for (const FrameSpec& spec : outer_to_inner) {
      trace::FrameId frame{static_cast<uint32_t>(trace.frames.size())};
      trace.frames.push_back(trace::Frame{frame, string(spec.function), string(spec.file), spec.line});
      parent = add_node(parent, 0, frame);
    }
    return parent;
  }

  // A stack of native return addresses, listed outermost first.
  trace::StackId native_stack(const std::vector<uint64_t>& outer_to_inner) {
    trace::StackId parent;
    for (uint64_t ip : outer_to_inner) parent = add_node(parent, ip, trace::FrameId{});
    return parent;
  }

  trace::Event& alloc(uint64_t time_ns, uint64_t address, uint64_t size, trace::StackId stack = {},
                      trace::MemoryKind kind = trace::MemoryKind::Device, uint32_t device = 0) {
    trace::Event& e = add(trace::EventType::Alloc, time_ns);
    e.address = address;
    e.size = size;
    e.stack = stack;
    e.kind = kind;
    e.device = device;
    e.api = trace::Api::cuMemAlloc;
    return e;
  }

  trace::Event& free(uint64_t time_ns, uint64_t address, trace::MemoryKind kind = trace::MemoryKind::Device,
                     uint32_t device = 0) {
    trace::Event& e = add(trace::EventType::Free, time_ns);
    e.address = address;
    e.kind = kind;
    e.device = device;
    e.api = trace::Api::cuMemFree;
    return e;
  }

  trace::Event& add(trace::EventType type, uint64_t time_ns) {
    trace::Event e;
    e.type = type;
    e.time_ns = time_ns;
    trace.events.push_back(e);
    return trace.events.back();
  }

  void device(uint32_t ordinal, const std::string& name, uint64_t total_bytes, bool simulated = false) {
    trace.devices.push_back(trace::DeviceInfo{ordinal, name, total_bytes, simulated});
    trace.header.devices = trace.devices;
  }

  trace::TraceContents trace;

 private:
  trace::StackId add_node(trace::StackId parent, uint64_t ip, trace::FrameId frame) {
    trace::StackId id{static_cast<uint32_t>(trace.stack_nodes.size())};
    trace.stack_nodes.push_back(trace::StackNode{id, parent, ip, frame});
    return id;
  }
};

}  // namespace vramscope::testing
