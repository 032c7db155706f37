// What each tensor is for (parameters, gradients, optimizer state, ...),
// inferred from its lifetime relative to the iterations; the name of the
// function that allocated it is a second opinion. The rules are in docs/report.md.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/iterations.h"
#include "analyzer/lifetimes.h"

namespace vramscope::analysis {

enum class Category { Parameters, Gradients, OptimizerState, Activations, Temporaries, Inputs, Workspaces, Unknown };
inline constexpr int kCategoryCount = 8;
std::string_view to_string(Category category);

enum class Confidence { High, Medium, Low };
std::string_view to_string(Confidence confidence);

struct Categorized {
  Category category = Category::Unknown;
  Confidence confidence = Confidence::Low;
  std::string_view reason;  // a fixed sentence
};

// The names of a stack's site function and of its nearest callers, innermost
// first: searched for words like "grad" (an allocator's own function is
// often the site; the caller says what the memory is for).
using SiteFunctions = std::function<std::vector<std::string>(trace::StackId)>;

// One result per lifetime, in the same order. `lifetimes` in allocation order.
std::vector<Categorized> categorize(const std::vector<Lifetime>& lifetimes,
                                    const std::vector<IterationSpan>& iterations, const SiteFunctions& site_functions);

}  // namespace vramscope::analysis
