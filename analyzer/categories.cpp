// Category inference: lifetime rules first, then the site function's name.
#include "analyzer/categories.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "analyzer/per_stack.h"

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

// The iteration holding each allocation index, for indices that only grow.
class IterationCursor {
 public:
  explicit IterationCursor(const std::vector<IterationSpan>& iterations) : iterations_(iterations) {
    move_to(0);
  }

  size_t made_in(size_t index) {
    if (index > last_) move_to(index);  // once per iteration: its bounds are kept at hand
    return index >= first_ ? current_ : kNone;
  }
  // The last event of the iteration made_in last found.
  size_t last_event() const { return last_; }

 private:
  void move_to(size_t index) {
    while (current_ < iterations_.size() && iterations_[current_].last_event < index) ++current_;
    bool past_all = current_ == iterations_.size();
    first_ = past_all ? kNone : iterations_[current_].first_event;
    last_ = past_all ? kNone : iterations_[current_].last_event;
  }

  const std::vector<IterationSpan>& iterations_;
  size_t current_ = 0;
  size_t first_ = 0;  // the bounds of iterations_[current_]; kNone past all
  size_t last_ = 0;
};

// The tensors being decided; the loops over them take its bounds once,
// into registers.
class Run {
 public:
  void add(const Lifetime& l, Categorized verdict = {}) { tensors_.push_back(CategorizedTensor{l, verdict}); }
  std::span<CategorizedTensor> tensors() { return tensors_; }
  size_t size() const { return tensors_.size(); }
  bool empty() const { return tensors_.empty(); }
  void clear() { tensors_.clear(); }  // keeps the memory for the next run

 private:
  std::vector<CategorizedTensor> tensors_;
};

class Categorizer {
 public:
  Categorizer(const LifetimeLog& log, const std::vector<IterationSpan>& iterations,
              const SiteFunctions& site_functions)
      : log_(log), iterations_(iterations), site_functions_(site_functions) {}

  void run(const CategoryVisit& visit) {
    visit_ = &visit;
    if (iterations_.empty()) {
      log_.for_each_tensor([&](const Lifetime& l) {
        run_.add(l, by_name_only(l));
        if (run_.size() == kBatch) hand_over();
      });
      hand_over();
      return;
    }
    IterationCursor cursor(iterations_);
    log_.for_each_tensor([&](const Lifetime& l) {
      size_t made = cursor.made_in(l.alloc_index);
      // Tensors made outside every iteration are decided each on its own:
      // their runs may be cut into batches.
      bool full = made == kNone && run_.size() >= kBatch;
      if (!run_.empty() && (made != run_made_ || full)) flush(l.alloc_index);
      run_made_ = made;
      run_.add(l);
    });
    if (!run_.empty()) flush(kNeverFreed);
  }

 private:
  // What the pass knows of a call path, in 4 bytes: one is looked up per tensor.
  struct StackFacts {
    Category hint = Category::Unknown;  // kNoHint where the names suggest nothing
    bool hint_known = false;
    bool kept_asked = false;  // see find_kept_stacks
    bool kept = false;
  };
  static_assert(sizeof(StackFacts) == 4);
  // No word hints at unknown: it stands for no hint.
  static constexpr Category kNoHint = Category::Unknown;

  Category hint(trace::StackId stack) {
    const StackFacts& facts = stacks_[stack];
    return facts.hint_known ? facts.hint : look_up_hint(stack);
  }
  [[gnu::noinline]] Category look_up_hint(trace::StackId stack) {
    Category found = name_hint(site_functions_(stack)).value_or(kNoHint);
    stacks_[stack].hint = found;
    stacks_[stack].hint_known = true;
    return found;
  }
  bool outlives_iterations(const Lifetime& l) const {
    return l.free_index == kNeverFreed || l.free_index > iterations_.back().last_event;
  }

  // A lifetime rule's verdict: high when the function's name (hint) agrees.
  static Categorized rule(Category hint, Category category, Reason reason,
                          Confidence otherwise = Confidence::Medium) {
    return Categorized{category, hint == category ? Confidence::High : otherwise, reason};
  }

  Categorized by_name_only(const Lifetime& l) {
    Category h = hint(l.stack);
    if (h != kNoHint) return Categorized{h, Confidence::Low, Reason::NoIterationsNamed};
    return Categorized{Category::Unknown, Confidence::Low, Reason::NoIterations};
  }

  // Hands the decided tensors to the visitor.
  void hand_over() {
    if (!run_.empty()) (*visit_)(run_.tensors());
    run_.clear();
  }

  // Decides the run of tensors made in one iteration (or between
  // iterations); `next_alloc` is the allocation index of the tensor after it.
  void flush(size_t next_alloc) {
    if (run_made_ != kNone) inside_iteration(run_made_, next_alloc);
    if (run_made_ == 0) find_kept_stacks();
    size_t last = run_made_ == kNone ? 0 : iterations_[run_made_].last_event;  // none is freed inside
    for (CategorizedTensor& t : run_.tensors()) {
      if (t.tensor.free_index > last) across_iterations(t, run_made_);
    }
    hand_over();
  }

  // The run's tensors made and freed inside iteration k, in allocation order.
  void inside_iteration(size_t k, size_t next_alloc_after_run) {
    std::span<CategorizedTensor> run = run_.tensors();
    // For each, the earliest free among the later ones: a later allocation
    // freed first means a stack order (forward, then backward).
    later_free_.resize(run.size());
    size_t* later_free = later_free_.data();  // by position in run
    size_t last = iterations_[k].last_event;  // a tensor freed after it is not inside
    size_t earliest = kNeverFreed;
    size_t last_free = 0;
    size_t first = run.size();
    size_t inside = 0;
    for (size_t j = run.size(); j-- > 0;) {
      size_t free_index = run[j].tensor.free_index;
      if (free_index > last) continue;
      later_free[j] = earliest;
      earliest = std::min(earliest, free_index);
      last_free = std::max(last_free, free_index);
      first = j;
      ++inside;
    }
    for (size_t j = first; j < run.size(); ++j) {
      CategorizedTensor& t = run[j];
      const Lifetime& l = t.tensor;
      if (l.free_index > last) continue;
      Category h = hint(l.stack);
      size_t next_alloc = j + 1 < run.size() ? run[j + 1].tensor.alloc_index : next_alloc_after_run;
      if (h == Category::Workspaces) {
        t.verdict = Categorized{Category::Workspaces, Confidence::High, Reason::WorkspaceNamedInside};
      } else if (j == first && inside > 1 && l.free_index == last_free) {
        t.verdict = rule(h, Category::Inputs, Reason::FirstOfIteration);
      } else if (next_alloc > l.free_index) {
        t.verdict = rule(h, Category::Temporaries, Reason::FreedBeforeNextAlloc, Confidence::High);
      } else if (later_free[j] < l.free_index && h == Category::Inputs) {
        // A batch's labels have an activation's lifetime; the name tells them apart,
        // and they must not move the end of the backward pass.
        t.verdict = Categorized{Category::Inputs, Confidence::Medium, Reason::InputNamedInside};
      } else if (later_free[j] < l.free_index) {
        t.verdict = rule(h, Category::Activations, Reason::StackOrder);
        if (k == 0) backward_end_ = std::max(backward_end_, l.free_index);
      } else {
        t.verdict = rule(h, Category::Temporaries, Reason::NoStackOrder, Confidence::Low);
      }
    }
  }

  void across_iterations(CategorizedTensor& t, size_t made) {
    const Lifetime& l = t.tensor;
    bool before_first = l.alloc_index < iterations_.front().first_event;
    Categorized& out = t.verdict;
    Category h = hint(l.stack);
    bool named_state = h == Category::Gradients || h == Category::OptimizerState;
    if (h == Category::Workspaces) {
      out = Categorized{Category::Workspaces, Confidence::Medium, Reason::WorkspaceNamed};
    } else if (before_first && outlives_iterations(l)) {
      if (named_state) {
        out = Categorized{h, Confidence::Medium, Reason::LiveThroughNamed};
      } else {
        out = rule(h, Category::Parameters, Reason::LiveThrough);
      }
    } else if (made == 0 && outlives_iterations(l) && !stacks_[l.stack].kept) {
      if (backward_end_ == 0) {
        out = named_state
                  ? Categorized{h, Confidence::Medium, Reason::FirstIterationKeptNamed}
                  : Categorized{Category::Unknown, Confidence::Low, Reason::FirstIterationKeptUnplaced};
      } else {
        bool after_backward = l.alloc_index > backward_end_;
        Category by_order = after_backward ? Category::OptimizerState : Category::Gradients;
        if (named_state && h != by_order) {
          // The last gradients of a backward pass come after its last
          // activation free: where the order and the name disagree on
          // which state it is, the name decides.
          out = Categorized{h, Confidence::Medium, Reason::FirstIterationKeptNamed};
        } else {
          out = rule(h, by_order, after_backward ? Reason::KeptAfterBackward : Reason::KeptBeforeBackwardEnd);
        }
      }
    } else if (made != kNone && outlives_iterations(l)) {
      out = Categorized{Category::Unknown, Confidence::Low, Reason::KeptWhereLaterGrows};
    } else if (made != kNone) {
      out = Categorized{Category::Unknown, Confidence::Low, Reason::FreedInLaterIteration};
    } else {
      out = Categorized{Category::Unknown, Confidence::Low, Reason::OutsideIterations};
    }
  }

  // Which call paths of the first iteration's kept tensors (the run being
  // decided) also make, after it, tensors that outlive their iteration: they
  // grow, they are no state. The log is searched only until each is found.
  // A path that allocates nothing after the first iteration is not searched
  // for, and the search ends at the last allocation of those that do: the
  // state a training loop sets up in its first iteration needs no search.
  void find_kept_stacks() {
    size_t left = 0;        // paths asked, not found yet
    size_t search_end = 0;  // the last allocation of any of them
    for (const CategorizedTensor& t : run_.tensors()) {
      StackFacts& facts = stacks_[t.tensor.stack];
      if (!outlives_iterations(t.tensor) || facts.kept_asked) continue;
      facts.kept_asked = true;
      size_t last = log_.last_allocation(t.tensor.stack);
      if (last <= iterations_.front().last_event) continue;
      ++left;
      search_end = std::max(search_end, last);
    }
    if (left == 0) return;
    IterationCursor cursor(iterations_);
    log_.for_each_tensor([&](const Lifetime& l) {
      if (l.alloc_index > search_end) return false;
      size_t made = cursor.made_in(l.alloc_index);
      if (made == kNone || made == 0 || l.free_index <= cursor.last_event()) return true;  // freed inside
      StackFacts& facts = stacks_[l.stack];
      if (!facts.kept_asked || facts.kept) return true;
      facts.kept = true;
      return --left != 0;
    });
  }

  // Tensors handed over at once when nothing groups them.
  static constexpr size_t kBatch = 4096;

  const LifetimeLog& log_;
  const std::vector<IterationSpan>& iterations_;
  const SiteFunctions& site_functions_;
  const CategoryVisit* visit_ = nullptr;
  Run run_;
  size_t run_made_ = kNone;
  PerStack<StackFacts> stacks_;
  std::vector<size_t> later_free_;  // scratch of one run, kept to spare an allocation per iteration
  size_t backward_end_ = 0;         // the first iteration's last free of an activation
};

}  // namespace

void categorize(const LifetimeLog& log, const std::vector<IterationSpan>& iterations,
                const SiteFunctions& site_functions, const CategoryVisit& visit) {
  Categorizer(log, iterations, site_functions).run(visit);
}

}  // namespace vramscope::analysis
