// Category inference: lifetime rules first, then the site function's name.
#include "analyzer/categories.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

namespace vramscope::analysis {

std::string_view to_string(Category category) {
  switch (category) {
    case Category::Parameters:
      return "parameters";
    case Category::Gradients:
      return "gradients";
    case Category::OptimizerState:
      return "optimizer state";
    case Category::Activations:
      return "activations";
    case Category::Temporaries:
      return "temporaries";
    case Category::Inputs:
      return "inputs";
    case Category::Workspaces:
      return "workspaces";
    case Category::Unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view to_string(Confidence confidence) {
  switch (confidence) {
    case Confidence::High:
      return "high";
    case Confidence::Medium:
      return "medium";
    case Confidence::Low:
      return "low";
  }
  return "low";
}

namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

// Words in a function name and what they suggest, first match wins.
std::optional<Category> word_hint(std::string function) {
  std::transform(function.begin(), function.end(), function.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  struct Hint {
    const char* word;
    Category category;
  };
  static constexpr Hint hints[] = {
      {"workspace", Category::Workspaces}, {"grad", Category::Gradients},     {"optim", Category::OptimizerState},
      {"param", Category::Parameters},     {"weight", Category::Parameters},  {"activation", Category::Activations},
      {"input", Category::Inputs},         {"batch", Category::Inputs},
  };
  for (const Hint& hint : hints) {
    if (function.find(hint.word) != std::string::npos) return hint.category;
  }
  return std::nullopt;
}

// The hint of the innermost of `functions` that has one.
std::optional<Category> name_hint(const std::vector<std::string>& functions) {
  for (const std::string& function : functions) {
    if (auto hint = word_hint(function)) return hint;
  }
  return std::nullopt;
}

// The iteration holding event `index`, or kNone.
size_t iteration_of(const std::vector<IterationSpan>& iterations, size_t index) {
  auto after = std::upper_bound(iterations.begin(), iterations.end(), index,
                                [](size_t i, const IterationSpan& s) { return i < s.first_event; });
  if (after == iterations.begin()) return kNone;
  size_t k = static_cast<size_t>(after - iterations.begin()) - 1;
  return index <= iterations[k].last_event ? k : kNone;
}

class Categorizer {
 public:
  Categorizer(const std::vector<Lifetime>& lifetimes, const std::vector<IterationSpan>& iterations,
              const SiteFunctions& site_functions)
      : lifetimes_(lifetimes), iterations_(iterations), result_(lifetimes.size()), hints_(lifetimes.size()) {
    for (size_t i = 0; i < lifetimes.size(); ++i) {
      hints_[i] = name_hint(site_functions(lifetimes[i].stack));
      made_in_.push_back(iteration_of(iterations, lifetimes[i].alloc_index));
      freed_in_.push_back(lifetimes[i].free_index == kNeverFreed ? kNone
                                                                 : iteration_of(iterations, lifetimes[i].free_index));
    }
    inside_.resize(iterations.size());
    for (size_t i = 0; i < lifetimes.size(); ++i) {
      if (made_in_[i] != kNone && made_in_[i] == freed_in_[i]) inside_[made_in_[i]].push_back(i);
    }
  }

  std::vector<Categorized> run() {
    if (iterations_.empty()) {
      for (size_t i = 0; i < lifetimes_.size(); ++i) by_name_only(i);
      return result_;
    }
    for (size_t k = 0; k < iterations_.size(); ++k) inside_iteration(k);
    for (size_t i = 0; i < lifetimes_.size(); ++i) {
      if (!decided(i)) across_iterations(i);
    }
    return result_;
  }

 private:
  bool decided(size_t i) const { return !result_[i].reason.empty(); }
  bool hint_is(size_t i, Category c) const { return hints_[i] && *hints_[i] == c; }
  bool outlives_iterations(size_t i) const { return lifetimes_[i].free_index > iterations_.back().last_event; }

  // A lifetime rule's verdict: high when the function's name agrees.
  void set(size_t i, Category category, std::string_view reason, Confidence otherwise = Confidence::Medium) {
    result_[i] = Categorized{category, hint_is(i, category) ? Confidence::High : otherwise, reason};
  }

  void by_name_only(size_t i) {
    if (hints_[i]) {
      result_[i] = Categorized{*hints_[i], Confidence::Low, "no iterations found; its function's name suggests it"};
    } else {
      result_[i] = Categorized{Category::Unknown, Confidence::Low, "no iterations found"};
    }
  }

  // Allocations made and freed inside iteration k, in allocation order.
  void inside_iteration(size_t k) {
    const std::vector<size_t>& inside = inside_[k];
    // Earliest free among the allocations made after each one: a later
    // allocation freed first means a stack order (forward, then backward).
    std::vector<size_t> later_free(inside.size(), kNeverFreed);
    for (size_t j = inside.size(); j-- > 1;) {
      later_free[j - 1] = std::min(later_free[j], lifetimes_[inside[j]].free_index);
    }
    size_t last_free = 0;
    for (size_t i : inside) last_free = std::max(last_free, lifetimes_[i].free_index);
    for (size_t j = 0; j < inside.size(); ++j) {
      size_t i = inside[j];
      const Lifetime& l = lifetimes_[i];
      size_t next_alloc = i + 1 < lifetimes_.size() ? lifetimes_[i + 1].alloc_index : kNeverFreed;
      if (hint_is(i, Category::Workspaces)) {
        result_[i] = Categorized{Category::Workspaces, Confidence::High,
                                 "its function's name says workspace; freed inside its iteration"};
      } else if (j == 0 && inside.size() > 1 && l.free_index == last_free) {
        set(i, Category::Inputs, "the first allocation of its iteration, freed after every other one");
      } else if (next_alloc > l.free_index) {
        set(i, Category::Temporaries, "freed before any other allocation was made", Confidence::High);
      } else if (later_free[j] < l.free_index) {
        set(i, Category::Activations, "made early in its iteration, freed after a later allocation (stack order)");
        if (k == 0) backward_end_ = std::max(backward_end_, l.free_index);
      } else {
        set(i, Category::Temporaries, "freed inside its iteration, in no stack order", Confidence::Low);
      }
    }
  }

  void across_iterations(size_t i) {
    const Lifetime& l = lifetimes_[i];
    size_t made = made_in_[i];
    bool before_first = l.alloc_index < iterations_.front().first_event;
    if (hint_is(i, Category::Workspaces)) {
      result_[i] = Categorized{Category::Workspaces, Confidence::Medium, "its function's name says workspace"};
    } else if (before_first && outlives_iterations(i)) {
      if (hint_is(i, Category::Gradients) || hint_is(i, Category::OptimizerState)) {
        result_[i] = Categorized{*hints_[i], Confidence::Medium,
                                 "made before the first iteration and live through all; its function's name says so"};
      } else {
        set(i, Category::Parameters, "made before the first iteration and live through all");
      }
    } else if (made == 0 && outlives_iterations(i) && !kept_later(l.stack)) {
      if (backward_end_ == 0) {
        if (hint_is(i, Category::Gradients) || hint_is(i, Category::OptimizerState)) {
          result_[i] = Categorized{*hints_[i], Confidence::Medium,
                                   "made in the first iteration and kept; its function's name says so"};
        } else {
          result_[i] = Categorized{Category::Unknown, Confidence::Low,
                                   "made in the first iteration and kept; no activations to place it by"};
        }
      } else if (l.alloc_index > backward_end_) {
        set(i, Category::OptimizerState, "made in the first iteration after its backward pass, and kept");
      } else {
        set(i, Category::Gradients, "made in the first iteration before its backward pass ended, and kept");
      }
    } else if (made != kNone && outlives_iterations(i)) {
      result_[i] = Categorized{Category::Unknown, Confidence::Low,
                               "kept from an iteration whose call path allocates again in later ones"};
    } else if (made != kNone) {
      result_[i] = Categorized{Category::Unknown, Confidence::Low, "made in one iteration, freed in a later one"};
    } else {
      result_[i] = Categorized{Category::Unknown, Confidence::Low, "made outside the iterations"};
    }
  }

  // Whether the call path `stack` also makes, after the first iteration,
  // allocations that outlive their iteration: then it grows, it is no state.
  bool kept_later(trace::StackId stack) {
    if (!kept_stacks_) {
      kept_stacks_.emplace();
      for (size_t i = 0; i < lifetimes_.size(); ++i) {
        if (made_in_[i] != kNone && made_in_[i] > 0 && freed_in_[i] != made_in_[i]) {
          kept_stacks_->insert(lifetimes_[i].stack.value);
        }
      }
    }
    return kept_stacks_->count(stack.value) > 0;
  }

  const std::vector<Lifetime>& lifetimes_;
  const std::vector<IterationSpan>& iterations_;
  std::vector<Categorized> result_;
  std::vector<std::optional<Category>> hints_;
  std::vector<size_t> made_in_;   // iteration index or kNone
  std::vector<size_t> freed_in_;  // iteration index or kNone
  std::vector<std::vector<size_t>> inside_;  // per iteration: made and freed in it
  size_t backward_end_ = 0;  // the first iteration's last free of an activation
  std::optional<std::set<uint32_t>> kept_stacks_;
};

}  // namespace

std::vector<Categorized> categorize(const std::vector<Lifetime>& lifetimes,
                                    const std::vector<IterationSpan>& iterations, const SiteFunctions& site_functions) {
  return Categorizer(lifetimes, iterations, site_functions).run();
}

}  // namespace vramscope::analysis
