// Category inference: lifetime rules first, then the site function's name.
#include "analyzer/categories.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "analyzer/per_stack.h"
#include "analyzer/stack_resolver.h"
#include "formats/kineto_import.h"

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
    case Reason::NamedByProfiler:
      return "named by torch.profiler's memory timeline";
    case Reason::InsideCuBLAS:
      return "made by cuBLAS for its own use";
    case Reason::InsideCuDNN:
      return "made by cuDNN for its own use";
    case Reason::InsideNCCL:
      return "made by NCCL for its own use";
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

std::optional<Category> named_category(std::string_view function) {
  constexpr std::string_view marker = trace::kNamedCategoryFile;
  if (function.size() <= marker.size() || !function.starts_with(marker) || function[marker.size()] != ' ')
    return std::nullopt;
  function.remove_prefix(marker.size() + 1);
  for (int c = 0; c < kCategoryCount; ++c) {
    if (function == to_string(static_cast<Category>(c))) return static_cast<Category>(c);
  }
  return std::nullopt;
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

// Why a stack through cuBLAS, cuDNN or NCCL is workspace (site_and_callers
// names it "<workspace of> LIBRARY"); nullopt for any other.
std::optional<Reason> library_reason(std::string_view function) {
  if (!function.starts_with(kWorkspaceOf)) return std::nullopt;
  function.remove_prefix(std::min(function.size(), kWorkspaceOf.size() + 1));
  if (function == "cuBLAS") return Reason::InsideCuBLAS;
  if (function == "cuDNN") return Reason::InsideCuDNN;
  if (function == "NCCL") return Reason::InsideNCCL;
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
  // The last index for which made_in gives `made` again, `made` being its
  // last answer: the end of that iteration, or the event before the next
  // one begins; kNone past them all.
  size_t same_until(size_t made) const {
    if (made != kNone) return last_;
    return first_ == kNone ? kNone : first_ - 1;
  }

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
// into registers. Its memory is kept from one run to the next, and a
// tensor is written straight into it: no vector's construct-and-copy.
class Run {
 public:
  // Field by field: `l` was just built in registers, and a copy of the
  // whole struct would read it back from memory in pieces of other widths
  // than were written, which stalls.
  void add(const Lifetime& l, Categorized verdict = {}) {
    if (end_ == capacity_) [[unlikely]]
      grow();
    CategorizedTensor& t = *end_++;  // plain data: the memory holds one already
    t.tensor.alloc_index = l.alloc_index;
    t.tensor.free_index = l.free_index;
    t.tensor.kind = l.kind;
    t.tensor.device = l.device;
    t.tensor.size = l.size;
    t.tensor.stack = l.stack;
    t.verdict = verdict;
  }
  std::span<CategorizedTensor> tensors() { return {memory_.get(), end_}; }
  size_t size() const { return static_cast<size_t>(end_ - memory_.get()); }
  bool empty() const { return end_ == memory_.get(); }
  void clear() { end_ = memory_.get(); }  // nothing to destroy: a tensor is plain data

 private:
  static_assert(std::is_trivially_copyable_v<CategorizedTensor> &&
                std::is_trivially_destructible_v<CategorizedTensor>);
  struct Release {
    void operator()(CategorizedTensor* memory) const { ::operator delete(memory); }
  };

  // Memory left unwritten past the tensors: the first iteration may hold
  // millions, and writing it twice would cost as much as the copy.
  [[gnu::noinline]] void grow() {
    size_t used = size();
    size_t capacity = std::max<size_t>(1024, 2 * used);
    std::unique_ptr<CategorizedTensor, Release> bigger(
        static_cast<CategorizedTensor*>(::operator new(capacity * sizeof(CategorizedTensor))));
    std::uninitialized_copy(memory_.get(), end_, bigger.get());
    memory_ = std::move(bigger);
    end_ = memory_.get() + used;
    capacity_ = memory_.get() + capacity;
  }

  std::unique_ptr<CategorizedTensor, Release> memory_;
  CategorizedTensor* end_ = nullptr;
  CategorizedTensor* capacity_ = nullptr;
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
    // A run ends at the last index made in the same place, or when a run
    // made outside every iteration holds a batch (those tensors are decided
    // each on its own): two comparisons a tensor.
    size_t run_until = 0;
    size_t room = 0;  // tensors the run takes before a batch is full; the first tensor starts a run
    log_.for_each_tensor([&](const Lifetime& l) {
      if (l.alloc_index > run_until || room == 0) [[unlikely]] {
        if (!run_.empty()) flush(l.alloc_index);
        run_made_ = cursor.made_in(l.alloc_index);
        run_until = cursor.same_until(run_made_);
        room = run_made_ == kNone ? kBatch : kNone;
      }
      --room;
      run_.add(l);
    });
    if (!run_.empty()) flush(kNeverFreed);
  }

 private:
  // What the first iteration's kept tensors ask of a call path (see find_kept_stacks).
  struct StackFacts {
    bool kept_asked = false;
    bool kept = false;
  };
  // No word hints at unknown: it stands for no hint.
  static constexpr Category kNoHint = Category::Unknown;
  // A call path's name hint, a byte: one is looked up per tensor.
  struct NameHint {
    static constexpr auto kNotLookedUp = static_cast<Category>(0xff);
    Category category = kNotLookedUp;
  };
  static_assert(sizeof(NameHint) == 1);

  Category hint(trace::StackId stack) {
    Category& h = hints_[stack].category;
    if (h == NameHint::kNotLookedUp) [[unlikely]]
      h = look_up_hint(stack);
    return h;
  }
  [[gnu::noinline]] Category look_up_hint(trace::StackId stack) {
    std::vector<std::string> functions = site_functions_(stack);
    if (!functions.empty()) {
      if (std::optional<Category> named = named_category(functions.front())) {
        named_[stack] = deciding(Reason::NamedByProfiler);
        any_named_ = true;
        return *named;
      }
      if (std::optional<Reason> inside = library_reason(functions.front())) {
        named_[stack] = deciding(*inside);
        any_named_ = true;
        return Category::Workspaces;
      }
    }
    return name_hint(functions).value_or(kNoHint);
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

  // Hands the decided tensors to the visitor; those whose stack names their
  // category take it, whatever the rules said. Every tensor's hint was
  // looked up in deciding it.
  void hand_over() {
    if (any_named_) [[unlikely]] {
      for (CategorizedTensor& t : run_.tensors()) {
        if (uint8_t named = named_.get(t.tensor.stack))
          t.verdict = Categorized{hint(t.tensor.stack), Confidence::High, static_cast<Reason>(named - 1)};
      }
    }
    if (!run_.empty()) (*visit_)(run_.tensors());
    run_.clear();
  }

  // Decides the run of tensors made in one iteration (or between
  // iterations); `next_alloc` is the allocation index of the tensor after it.
  void flush(size_t next_alloc) {
    if (run_made_ == kNone) {
      for (CategorizedTensor& t : run_.tensors()) across_iterations(t, kNone);
    } else {
      decide_iteration(run_made_, next_alloc);
    }
    hand_over();
  }

  // The run's tensors, all made in iteration k. Those made and freed inside
  // it are decided in one pass from the last to the first: for each, the
  // earliest free among the later ones is then known (a later allocation
  // freed first means a stack order: forward, then backward). The others
  // outlive it, and are decided in the same pass but in the first
  // iteration, whose kept tensors wait for its activations.
  void decide_iteration(size_t k, size_t next_alloc_after_run) {
    std::span<CategorizedTensor> run = run_.tensors();
    size_t last = iterations_[k].last_event;  // a tensor freed after it is not inside
    bool first_iteration = k == 0;
    size_t earliest = kNeverFreed;  // among the later tensors freed inside
    size_t last_free = 0;
    size_t first = run.size();  // the first tensor freed inside
    size_t inside = 0;
    size_t next_alloc = next_alloc_after_run;
    for (size_t j = run.size(); j-- > 0;) {
      CategorizedTensor& t = run[j];
      const Lifetime& l = t.tensor;
      if (l.free_index > last) {
        if (!first_iteration) across_iterations(t, k);
      } else {
        t.verdict = inside_verdict(hint(l.stack), l.free_index, next_alloc, earliest);
        earliest = std::min(earliest, l.free_index);
        last_free = std::max(last_free, l.free_index);
        first = j;
        ++inside;
      }
      next_alloc = l.alloc_index;
    }
    // The first allocation of the iteration, freed after every other one:
    // its input batch.
    if (inside > 1 && run[first].tensor.free_index == last_free) {
      Category h = hint(run[first].tensor.stack);
      if (h != Category::Workspaces) run[first].verdict = rule(h, Category::Inputs, Reason::FirstOfIteration);
    }
    if (!first_iteration) return;
    for (const CategorizedTensor& t : run) {
      if (t.verdict.reason == Reason::StackOrder)
        backward_end_ = std::max(backward_end_, t.tensor.free_index);
    }
    find_kept_stacks();
    for (CategorizedTensor& t : run) {
      if (t.tensor.free_index > last) across_iterations(t, k);
    }
  }

  // A tensor freed inside its iteration, but not its first allocation's
  // rule; `earliest_later_free` is the earliest free of the later tensors
  // freed inside.
  static Categorized inside_verdict(Category h, size_t free_index, size_t next_alloc,
                                    size_t earliest_later_free) {
    if (h == Category::Workspaces) {
      return Categorized{Category::Workspaces, Confidence::High, Reason::WorkspaceNamedInside};
    }
    if (next_alloc > free_index) {
      return rule(h, Category::Temporaries, Reason::FreedBeforeNextAlloc, Confidence::High);
    }
    if (earliest_later_free < free_index && h == Category::Inputs) {
      // A batch's labels have an activation's lifetime; the name tells them apart,
      // and they must not move the end of the backward pass.
      return Categorized{Category::Inputs, Confidence::Medium, Reason::InputNamedInside};
    }
    if (earliest_later_free < free_index) return rule(h, Category::Activations, Reason::StackOrder);
    return rule(h, Category::Temporaries, Reason::NoStackOrder, Confidence::Low);
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
  PerStack<NameHint> hints_;
  // Whether a stack decides its tensors' category whatever the rules say: 0
  // no, else 1 + the Reason why.
  static uint8_t deciding(Reason why) { return static_cast<uint8_t>(1 + static_cast<uint8_t>(why)); }
  PerStack<uint8_t> named_;
  bool any_named_ = false;
  size_t backward_end_ = 0;         // the first iteration's last free of an activation
};

}  // namespace

void categorize(const LifetimeLog& log, const std::vector<IterationSpan>& iterations,
                const SiteFunctions& site_functions, const CategoryVisit& visit) {
  Categorizer(log, iterations, site_functions).run(visit);
}

}  // namespace vramscope::analysis
