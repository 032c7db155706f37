// Category inference: lifetime rules first, then the site function's name.
#include "analyzer/categories.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <unordered_map>
#include <unordered_set>

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

std::string_view to_string(Reason reason) {
  switch (reason) {
    case Reason::NoIterations:
      return "no iterations found";
    case Reason::NoIterationsNamed:
      return "no iterations found; its function's name suggests it";
    case Reason::WorkspaceNamedInside:
      return "its function's name says workspace; freed inside its iteration";
    case Reason::FirstOfIteration:
      return "the first allocation of its iteration, freed after every other one";
    case Reason::InputNamedInside:
      return "its function's name says input or batch; freed after later allocations of its iteration";
    case Reason::FreedBeforeNextAlloc:
      return "freed before any other allocation was made";
    case Reason::StackOrder:
      return "made early in its iteration, freed after a later allocation (stack order)";
    case Reason::NoStackOrder:
      return "freed inside its iteration, in no stack order";
    case Reason::WorkspaceNamed:
      return "its function's name says workspace";
    case Reason::LiveThroughNamed:
      return "made before the first iteration and live through all; its function's name says so";
    case Reason::LiveThrough:
      return "made before the first iteration and live through all";
    case Reason::FirstIterationKeptNamed:
      return "made in the first iteration and kept; its function's name says so";
    case Reason::FirstIterationKeptUnplaced:
      return "made in the first iteration and kept; no activations to place it by";
    case Reason::KeptAfterBackward:
      return "made in the first iteration after its backward pass, and kept";
    case Reason::KeptBeforeBackwardEnd:
      return "made in the first iteration before its backward pass ended, and kept";
    case Reason::KeptWhereLaterGrows:
      return "kept from an iteration whose call path allocates again in later ones";
    case Reason::FreedInLaterIteration:
      return "made in one iteration, freed in a later one";
    case Reason::OutsideIterations:
      return "made outside the iterations";
  }
  return "";
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

class Categorizer {
 public:
  Categorizer(const LifetimeLog& log, const std::vector<IterationSpan>& iterations,
              const SiteFunctions& site_functions)
      : log_(log), iterations_(iterations), site_functions_(site_functions) {}

  void run(const CategoryVisit& visit) {
    visit_ = &visit;
    if (iterations_.empty()) {
      log_.for_each_tensor([&](const Lifetime& l) { visit(l, by_name_only(l)); });
      return;
    }
    find_kept_stacks();
    size_t made_cursor = 0;
    log_.for_each_tensor([&](const Lifetime& l) {
      size_t made = made_in(l.alloc_index, made_cursor);
      if (!run_.empty() && made != run_made_) flush(l.alloc_index);
      Entry entry{l, made, freed_in(l.free_index, made), {}};
      if (made == kNone) {  // made outside every iteration: nothing to compare it with
        across_iterations(entry);
        visit(entry.l, entry.verdict);
        return;
      }
      run_made_ = made;
      run_.push_back(entry);
    });
    if (!run_.empty()) flush(kNeverFreed);
  }

 private:
  struct Entry {
    Lifetime l;
    size_t made;   // iteration index or kNone
    size_t freed;  // iteration index or kNone
    Categorized verdict;
  };

  // The iteration holding `index`, for indices that only grow: `cursor`
  // remembers how far the previous call got.
  size_t made_in(size_t index, size_t& cursor) const {
    while (cursor < iterations_.size() && iterations_[cursor].last_event < index) ++cursor;
    return cursor < iterations_.size() && iterations_[cursor].first_event <= index ? cursor : kNone;
  }

  // The iteration holding a free, most often the one that made it.
  size_t freed_in(size_t index, size_t made) const {
    if (index == kNeverFreed) return kNone;
    if (made != kNone && index <= iterations_[made].last_event) return made;
    auto after = std::upper_bound(iterations_.begin(), iterations_.end(), index,
                                  [](size_t i, const IterationSpan& s) { return i < s.first_event; });
    if (after == iterations_.begin()) return kNone;
    size_t k = static_cast<size_t>(after - iterations_.begin()) - 1;
    return index <= iterations_[k].last_event ? k : kNone;
  }

  const std::optional<Category>& hint(trace::StackId stack) {
    if (last_hint_ != nullptr && stack.value == last_hint_stack_) return *last_hint_;
    auto [slot, inserted] = hints_.try_emplace(stack.value);
    if (inserted) slot->second = name_hint(site_functions_(stack));
    last_hint_stack_ = stack.value;
    last_hint_ = &slot->second;  // map entries stay where they are
    return slot->second;
  }
  bool hint_is(const Entry& e, Category c) {
    const std::optional<Category>& h = hint(e.l.stack);
    return h && *h == c;
  }
  bool outlives_iterations(const Lifetime& l) const {
    return l.free_index == kNeverFreed || l.free_index > iterations_.back().last_event;
  }

  // A lifetime rule's verdict: high when the function's name agrees.
  void set(Entry& e, Category category, Reason reason, Confidence otherwise = Confidence::Medium) {
    e.verdict = Categorized{category, hint_is(e, category) ? Confidence::High : otherwise, reason};
  }

  Categorized by_name_only(const Lifetime& l) {
    if (const std::optional<Category>& h = hint(l.stack)) {
      return Categorized{*h, Confidence::Low, Reason::NoIterationsNamed};
    }
    return Categorized{Category::Unknown, Confidence::Low, Reason::NoIterations};
  }

  // Decides the run of tensors made in one iteration (or between
  // iterations); `next_alloc` is the allocation index of the tensor after it.
  void flush(size_t next_alloc) {
    std::vector<bool>& decided = decided_;  // kept between runs: one run per iteration
    decided.assign(run_.size(), false);
    if (run_made_ != kNone) inside_iteration(run_made_, next_alloc, decided);
    for (size_t j = 0; j < run_.size(); ++j) {
      if (!decided[j]) across_iterations(run_[j]);
    }
    for (const Entry& e : run_) (*visit_)(e.l, e.verdict);
    run_.clear();
  }

  // The run's tensors made and freed inside iteration k, in allocation order.
  void inside_iteration(size_t k, size_t next_alloc_after_run, std::vector<bool>& decided) {
    std::vector<size_t>& inside = inside_;  // positions in run_
    inside.clear();
    for (size_t j = 0; j < run_.size(); ++j) {
      if (run_[j].freed == k) inside.push_back(j);
    }
    // Earliest free among the allocations made after each one: a later
    // allocation freed first means a stack order (forward, then backward).
    std::vector<size_t>& later_free = later_free_;
    later_free.assign(inside.size(), kNeverFreed);
    for (size_t j = inside.size(); j-- > 1;) {
      later_free[j - 1] = std::min(later_free[j], run_[inside[j]].l.free_index);
    }
    size_t last_free = 0;
    for (size_t j : inside) last_free = std::max(last_free, run_[j].l.free_index);
    for (size_t j = 0; j < inside.size(); ++j) {
      Entry& e = run_[inside[j]];
      const Lifetime& l = e.l;
      decided[inside[j]] = true;
      size_t next_alloc =
          inside[j] + 1 < run_.size() ? run_[inside[j] + 1].l.alloc_index : next_alloc_after_run;
      if (hint_is(e, Category::Workspaces)) {
        e.verdict = Categorized{Category::Workspaces, Confidence::High, Reason::WorkspaceNamedInside};
      } else if (j == 0 && inside.size() > 1 && l.free_index == last_free) {
        set(e, Category::Inputs, Reason::FirstOfIteration);

      } else if (next_alloc > l.free_index) {
        set(e, Category::Temporaries, Reason::FreedBeforeNextAlloc, Confidence::High);
      } else if (later_free[j] < l.free_index && hint_is(e, Category::Inputs)) {
        // A batch's labels have an activation's lifetime; the name tells them apart,
        // and they must not move the end of the backward pass.
        e.verdict = Categorized{Category::Inputs, Confidence::Medium, Reason::InputNamedInside};
      } else if (later_free[j] < l.free_index) {
        set(e, Category::Activations, Reason::StackOrder);
        if (k == 0) backward_end_ = std::max(backward_end_, l.free_index);
      } else {
        set(e, Category::Temporaries, Reason::NoStackOrder, Confidence::Low);
      }
    }
  }

  void across_iterations(Entry& e) {
    const Lifetime& l = e.l;
    size_t made = e.made;
    bool before_first = l.alloc_index < iterations_.front().first_event;
    Categorized& out = e.verdict;
    const std::optional<Category>& h = hint(l.stack);
    bool named_state = h && (*h == Category::Gradients || *h == Category::OptimizerState);
    if (hint_is(e, Category::Workspaces)) {
      out = Categorized{Category::Workspaces, Confidence::Medium, Reason::WorkspaceNamed};
    } else if (before_first && outlives_iterations(l)) {
      if (named_state) {
        out = Categorized{*h, Confidence::Medium, Reason::LiveThroughNamed};
      } else {
        set(e, Category::Parameters, Reason::LiveThrough);
      }
    } else if (made == 0 && outlives_iterations(l) && !kept_stacks_.count(l.stack.value)) {
      if (backward_end_ == 0) {
        out = named_state
                  ? Categorized{*h, Confidence::Medium, Reason::FirstIterationKeptNamed}
                  : Categorized{Category::Unknown, Confidence::Low, Reason::FirstIterationKeptUnplaced};
      } else if (l.alloc_index > backward_end_) {
        set(e, Category::OptimizerState, Reason::KeptAfterBackward);
      } else {
        set(e, Category::Gradients, Reason::KeptBeforeBackwardEnd);
      }
    } else if (made != kNone && outlives_iterations(l)) {
      out = Categorized{Category::Unknown, Confidence::Low, Reason::KeptWhereLaterGrows};
    } else if (made != kNone) {
      out = Categorized{Category::Unknown, Confidence::Low, Reason::FreedInLaterIteration};
    } else {
      out = Categorized{Category::Unknown, Confidence::Low, Reason::OutsideIterations};
    }
  }

  // The call paths that also make, after the first iteration, allocations
  // that outlive their iteration: they grow, they are no state.
  void find_kept_stacks() {
    size_t cursor = 0;
    log_.for_each_tensor([&](const Lifetime& l) {
      size_t made = made_in(l.alloc_index, cursor);
      if (made != kNone && made > 0 && freed_in(l.free_index, made) != made)
        kept_stacks_.insert(l.stack.value);
    });
  }

  const LifetimeLog& log_;
  const std::vector<IterationSpan>& iterations_;
  const SiteFunctions& site_functions_;
  const CategoryVisit* visit_ = nullptr;
  std::vector<Entry> run_;
  size_t run_made_ = kNone;
  std::unordered_map<uint32_t, std::optional<Category>> hints_;  // by stack
  uint32_t last_hint_stack_ = 0;
  const std::optional<Category>* last_hint_ = nullptr;
  // Scratch of one run, kept to spare an allocation per iteration.
  std::vector<bool> decided_;
  std::vector<size_t> inside_;
  std::vector<size_t> later_free_;
  size_t backward_end_ = 0;  // the first iteration's last free of an activation
  std::unordered_set<uint32_t> kept_stacks_;
};

}  // namespace

void categorize(const LifetimeLog& log, const std::vector<IterationSpan>& iterations,
                const SiteFunctions& site_functions, const CategoryVisit& visit) {
  Categorizer(log, iterations, site_functions).run(visit);
}

}  // namespace vramscope::analysis
