// What each tensor is for (parameters, gradients, optimizer state, ...),
// inferred from its lifetime relative to the iterations; the name of the
// function that allocated it is a second opinion. The rules are in docs/report.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/iterations.h"
#include "analyzer/lifetimes.h"

namespace vramscope::analysis {

enum class Category : uint8_t {
  Parameters,
  Gradients,
  OptimizerState,
  Activations,
  Temporaries,
  Inputs,
  Workspaces,
  Unknown
};
inline constexpr int kCategoryCount = 8;
std::string_view to_string(Category category);

enum class Confidence : uint8_t { High, Medium, Low };
std::string_view to_string(Confidence confidence);

// Why a tensor got its category: one fixed sentence each.
enum class Reason : uint8_t {
  NamedByProfiler,  // a frame names it (see named_category): no rule applies
  // Made by a library for its own use (kWorkspaceOf): no rule applies.
  InsideCuBLAS,
  InsideCuDNN,
  InsideNCCL,
  NoIterations,
  NoIterationsNamed,
  WorkspaceNamedInside,
  FirstOfIteration,
  InputNamedInside,
  FreedBeforeNextAlloc,
  StackOrder,
  NoStackOrder,
  WorkspaceNamed,
  LiveThroughNamed,
  LiveThrough,
  FirstIterationKeptNamed,
  FirstIterationKeptUnplaced,
  KeptAfterBackward,
  KeptBeforeBackwardEnd,
  KeptWhereLaterGrows,
  FreedInLaterIteration,
  OutsideIterations,
};
std::string_view to_string(Reason reason);

struct Categorized {
  Category category = Category::Unknown;
  Confidence confidence = Confidence::Low;
  Reason reason = Reason::NoIterations;
};
static_assert(sizeof(Categorized) == 3);

// The category a site function names, as a torch.profiler memory timeline's
// import names each tensor's (trace::kNamedCategoryFile, a space, a category
// name); nullopt for any other function.
std::optional<Category> named_category(std::string_view function);

// The names of a stack's site function and of its nearest callers, innermost
// first: searched for words like "grad" (an allocator's own function is
// often the site; the caller says what the memory is for).
using SiteFunctions = std::function<std::vector<std::string>(trace::StackId)>;

struct CategorizedTensor {
  Lifetime tensor;
  Categorized verdict;
};

// visit(tensors) with each tensor of the log and its category, in
// allocation order, a batch at a time (an iteration's tensors, or a few
// thousand made outside iterations): one call per batch, not per tensor.
// No iteration ends between two allocations of one batch.
// Tensors are decided an iteration at a time, so nothing is kept per
// tensor: a long run has hundreds of millions.
using CategoryVisit = std::function<void(std::span<const CategorizedTensor>)>;
void categorize(const LifetimeLog& log, const std::vector<IterationSpan>& iterations,
                const SiteFunctions& site_functions, const CategoryVisit& visit);

}  // namespace vramscope::analysis
