// Puts iterations, categories (totals, at each peak, per peak site) and
// growth leaks into the report.
#pragma once

#include <map>
#include <string>

#include "analyzer/iterations.h"
#include "analyzer/lifetimes.h"
#include "analyzer/peak_tracker.h"
#include "analyzer/report.h"
#include "analyzer/stack_resolver.h"

namespace vramscope::analysis {

// Call after report.devices is filled.
void add_iterations_and_categories(Report& report, const FoundIterations& iterations, const LifetimeLog& log,
                                   const std::map<uint32_t, PeakMoment>& peaks, StackResolver& stacks);

}  // namespace vramscope::analysis
