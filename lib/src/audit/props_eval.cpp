// Properties about what the model computes: the test loss at lr = 0, the order of the
// training losses, and permutation symmetries of the forward pass.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "audit/run.h"
#include "zerolr/audit/properties.h"
#include "zerolr/reference/bounds.h"
#include "zerolr/reference/lift.h"
#include "zerolr/reference/oracle.h"
#include "zerolr/scalar/reference.h"

namespace zerolr {

namespace {

// The loss of the same weights in exact arithmetic, as far as the reference resolves it
// (within oracle::kUnit per operation: reference/oracle.h).
template <class T>
Reference exact_loss(const Sequential<T>& model, const Matrix<T>& x, const Matrix<T>& y, const LossSpec& loss,
                     Mode mode) {
  return oracle::with_reference([&]<class R>() {
    Sequential<T> copy = model;
    Sequential<R> ref = lift<R>(copy);
    return to_float128(loss_value(loss, ref.forward(lift<R>(x), mode), lift<R>(y)));
  });
}

template <class T>
T eval_loss(Sequential<T> model, const Dataset<T>& d, const LossSpec& loss) {
  return loss_value(loss, model.forward(d.x, Mode::Eval), d.y);
}

// The start the two test-loss properties share: every lr 0, running statistics or none as
// `buffers` asks; the case's run, or nothing when the verdict is already settled (not
// applicable, or the rule itself fails).
template <class T>
std::optional<CaseRun<T>> frozen_run(Verdict& v, const Case& c, const OptimizerFactory<T>& make,
                                     bool buffers) {
  if (!c.all_lr_zero() || c.arch.has_buffers() != buffers) {
    v.applicable = false;
    return std::nullopt;
  }
  if (!rule_freezes(v, c)) return std::nullopt;
  if (stop_at_rule_failure<T>(v, c, make)) return std::nullopt;
  CaseRun<T> r = run_case<T>(c, make);
  tag_run(v, c, r);
  if (r.non_finite) {
    v.applicable = false;
    return std::nullopt;
  }
  return r;
}

// ---- test_loss_frozen --------------------------------------------------------------------

template <class T>
Verdict test_loss_frozen(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "test_loss_frozen";
  std::optional<CaseRun<T>> run = frozen_run(v, c, make, /*buffers=*/false);
  if (!run) return v;
  CaseRun<T>& r = *run;
  const T base = eval_loss(r.initial, r.test, c.loss);
  for (std::size_t e = 0; e < r.history.test_loss.size(); ++e) {
    const T l = r.history.test_loss[e];
    if (!same_bits(l, base)) {
      v.findings.push_back(
          {FindingClass::Violation, "the Eval-mode test loss after epoch " + std::to_string(e + 1) + " is " +
                                        text(l) + ", not the initial model's " + text(base) +
                                        " (bits differ) at lr = 0" + first_moved(r.initial, r.model)});
      break;
    }
  }
  return v;
}

// ---- test_loss_tracks_buffers ------------------------------------------------------------

template <class T>
Verdict test_loss_tracks_buffers(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "test_loss_tracks_buffers";
  std::optional<CaseRun<T>> run = frozen_run(v, c, make, /*buffers=*/true);
  if (!run) return v;
  CaseRun<T>& r = *run;
  compare_parameters(r, v, FindingClass::Violation, "at lr = 0 after " + std::to_string(r.steps) + " steps");
  bool moved = false;
  auto b0 = r.initial.buffers(), b1 = r.model.buffers();
  for (std::size_t t = 0; t < b0.size(); ++t)
    for (Index i = 0; i < b0[t].value->size(); ++i)
      moved = moved || !same_bits(b0[t].value->data()[i], b1[t].value->data()[i]);
  v.tags.push_back(moved ? "buffers moved" : "buffers unchanged");
  const T base = eval_loss(r.initial, r.test, c.loss);
  const T last = r.history.test_loss.empty() ? base : r.history.test_loss.back();
  v.tags.push_back(same_bits(last, base) ? "test loss unchanged" : "test loss changed");

  Sequential<T> restored = r.model;
  auto rb = restored.buffers();
  for (std::size_t t = 0; t < b0.size(); ++t) *rb[t].value = *b0[t].value;
  const T back = eval_loss(restored, r.test, c.loss);
  if (!same_bits(back, base))
    v.findings.push_back({FindingClass::Violation,
                          "with the initial buffers put back, the trained model's Eval-mode test loss is " +
                              text(back) + ", not the initial model's " + text(base) + " (bits differ)" +
                              first_moved(r.initial, r.model)});
  return v;
}

// ---- train_loss_order --------------------------------------------------------------------

template <class T>
Verdict train_loss_order(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "train_loss_order";
  if (!c.all_lr_zero() || !c.shuffle || c.arch.has_buffers() || has_active_dropout(c.arch) || c.epochs < 2 ||
      !rule_freezes(v, c)) {
    v.applicable = false;
    return v;
  }
  CaseRun<T> r = run_case<T>(c, make);
  tag_run(v, c, r);
  if (r.non_finite) {
    v.applicable = false;
    return v;
  }
  for (T l : r.history.train_loss)
    if (!std::isfinite(static_cast<double>(l))) {
      v.applicable = false;
      v.tags.push_back("non-finite loss");
      return v;
    }
  const auto order = trainer_order(c);
  const Index n = r.train.size(), bs = c.batch_size;
  const double N = static_cast<double>(n);
  const double B = std::ceil(N / static_cast<double>(bs));
  std::vector<double> bound;
  std::vector<Reference> ref;
  for (int e = 0; e < c.epochs; ++e) {
    const auto& o = order[static_cast<std::size_t>(e)];
    double per_batch = 0, magnitude = 0;
    T weighted(0);
    Reference ref_weighted(0);
    for (Index start = 0; start < n; start += bs) {
      const Index rows = std::min(bs, n - start);
      const Matrix<T> xb = gather_rows(r.train.x, o, start, rows),
                      yb = gather_rows(r.train.y, o, start, rows);
      Sequential<T> m = r.initial;
      const BoundedForward<T> bf = bounded_forward(m, xb, Mode::Train, &c.loss, &yb);
      weighted += bf.loss * T(rows);
      per_batch += static_cast<double>(rows) / N * bf.loss_bound;
      magnitude += static_cast<double>(rows) * std::abs(static_cast<double>(bf.loss)) / N;
      ref_weighted +=
          exact_loss(r.initial, xb, yb, c.loss, Mode::Train) * Reference(static_cast<double>(rows));
    }
    const double b = (per_batch + gamma_of<T>(B + 1) * magnitude +
                      (B + 2) * static_cast<double>(std::numeric_limits<T>::denorm_min())) *
                     (1 + 0x1p-40);
    bound.push_back(b);
    ref.push_back(ref_weighted / Reference(N));
    const T mean = weighted / T(n);
    if (!same_bits(mean, r.history.train_loss[static_cast<std::size_t>(e)]))
      v.findings.push_back({FindingClass::Note, "epoch " + std::to_string(e + 1) + "'s training loss " +
                                                    text(r.history.train_loss[static_cast<std::size_t>(e)]) +
                                                    " is not the recomputed " + text(mean) +
                                                    first_moved(r.initial, r.model)});
  }
  bool differ = false;
  for (int e = 1; e < c.epochs; ++e) {
    const auto E = static_cast<std::size_t>(e);
    const double a = static_cast<double>(r.history.train_loss[0]),
                 x = static_cast<double>(r.history.train_loss[E]);
    differ = differ || !same_bits(r.history.train_loss[0], r.history.train_loss[E]);
    // |a - x| is exact in double for float; for double it is rounded up by at most one ulp.
    const double diff = std::abs(a - x) * (sizeof(T) == sizeof(double) ? 1 - 0x1p-53 : 1.0);
    if (diff > bound[0] + bound[E])
      v.findings.push_back({FindingClass::Violation,
                            "at lr = 0 the training loss of epoch " + std::to_string(e + 1) + " is " +
                                text(x) + " but epoch 1's is " + text(a) + ": they differ by " +
                                format_real(std::abs(a - x)) +
                                ", more than the sum of their rigorous bounds " + format_real(bound[0]) +
                                " + " + format_real(bound[E]) + first_moved(r.initial, r.model)});
    const Reference scale = std::max(abs(ref[0]), abs(ref[E]));
    // The reference's own error: its epoch sums (B + 1 terms and a division, each op within
    // oracle::kUnit), and its losses, which the working bounds bound when scaled from T's unit
    // roundoff to the reference's (the same analysis with kUnit per operation and 2 kUnit per
    // function, both within kLibmUlps of kUnit).
    const Reference tol = std::max(Reference((B + 4) * oracle::kUnit) * scale,
                                   Reference((bound[0] + bound[E]) * oracle::kUnit / unit_roundoff<T>()));
    if (abs(ref[0] - ref[E]) > tol)
      v.findings.push_back({FindingClass::Violation,
                            "the reference replay's training loss of epoch " + std::to_string(e + 1) + " (" +
                                format_real(static_cast<double>(ref[E])) + ") differs from epoch 1's (" +
                                format_real(static_cast<double>(ref[0])) + ") by " +
                                format_real(static_cast<double>(abs(ref[0] - ref[E]))) +
                                ", above the reference's own error" + first_moved(r.initial, r.model)});
  }
  v.tags.push_back(differ ? "train losses differ in bits" : "train losses bit-identical");
  return v;
}

// ---- metamorphic -------------------------------------------------------------------------

bool elementwise(LayerKind k) {
  return k == LayerKind::ReLU || k == LayerKind::LeakyReLU || k == LayerKind::Tanh ||
         k == LayerKind::Sigmoid || k == LayerKind::Softplus;
}

/// The first Dense layer followed, through elementwise activations, BatchNorm1d and
/// LayerNorm only, by another Dense: {first, second}, or {-1, -1}.
std::pair<Index, Index> permutable_pair(const Architecture& a) {
  const auto L = static_cast<Index>(a.layers.size());
  for (Index i = 0; i < L; ++i) {
    if (a.layers[static_cast<std::size_t>(i)].kind != LayerKind::Dense) continue;
    for (Index j = i + 1; j < L; ++j) {
      const LayerKind k = a.layers[static_cast<std::size_t>(j)].kind;
      if (k == LayerKind::Dense) return {i, j};
      if (!(elementwise(k) || k == LayerKind::BatchNorm1d || k == LayerKind::LayerNorm)) break;
    }
  }
  return {-1, -1};
}

/// Reverses the hidden units between layers i and j: rows of W_i and b_i, the per-feature
/// parameters and buffers of the norms in between, and the columns of W_j.
template <class T>
void reverse_units(Sequential<T>& m, Index i, Index j) {
  for (Index l = i; l < j; ++l) {
    std::vector<ParamRef<T>> ps;
    std::vector<BufferRef<T>> bs;
    m.layer(l).collect_parameters(ps, "");
    m.layer(l).collect_buffers(bs, "");
    for (auto& p : ps) *p.value = p.value->colwise().reverse().eval();
    for (auto& b : bs) *b.value = b.value->colwise().reverse().eval();
  }
  std::vector<ParamRef<T>> ps;
  m.layer(j).collect_parameters(ps, "");
  *ps[0].value = ps[0].value->rowwise().reverse().eval();  // weight: out x hidden
}

template <class T>
void compare_bounded(Verdict& v, Sequential<T> a, const Matrix<T>& xa, const Matrix<T>& ya, Sequential<T> b,
                     const Matrix<T>& xb, const Matrix<T>& yb, const LossSpec& loss,
                     const std::string& what) {
  const BoundedForward<T> fa = bounded_forward(a, xa, Mode::Eval, &loss, &ya);
  const BoundedForward<T> fb = bounded_forward(b, xb, Mode::Eval, &loss, &yb);
  const double la = static_cast<double>(fa.loss), lb = static_cast<double>(fb.loss);
  if (!std::isfinite(fa.loss_bound + fb.loss_bound) || !std::isfinite(la) || !std::isfinite(lb)) {
    v.tags.push_back("unbounded");
    return;
  }
  const double diff = std::abs(la - lb) * (sizeof(T) == sizeof(double) ? 1 - 0x1p-53 : 1.0);
  if (diff > (fa.loss_bound + fb.loss_bound) * (1 + 0x1p-40))
    v.findings.push_back({FindingClass::Violation, what + ": the Eval-mode test loss is " + text(fb.loss) +
                                                       " against " + text(fa.loss) + ", a difference of " +
                                                       format_real(std::abs(la - lb)) + " above the bounds " +
                                                       format_real(fa.loss_bound) + " + " +
                                                       format_real(fb.loss_bound)});
}

template <class T>
Verdict metamorphic(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "metamorphic";
  c.validate();
  const auto [i, j] = permutable_pair(c.arch);
  const bool perm = i >= 0 && c.arch.layers[static_cast<std::size_t>(i)].units >= 2;
  const bool reorder = c.test.size() >= 2;
  if (!perm && !reorder) {
    v.applicable = false;
    return v;
  }
  v.tags.push_back(to_string(c.scalar));
  if (c.arch.has_buffers()) v.tags.push_back("batchnorm");
  const Dataset<T> test = to_scalar<T>(c.test);
  Sequential<T> model(c.arch, c.model_seed);
  if (perm) {
    v.tags.push_back("permutation");
    Sequential<T> permuted = model;
    reverse_units(permuted, i, j);
    compare_bounded(
        v, model, test.x, test.y, permuted, test.x, test.y, c.loss,
        "reversing the hidden units of layers " + std::to_string(i) + " and " + std::to_string(j));
    // Training commutes with the permutation: at lr = 0 without buffers a correct optimizer
    // leaves both models as they are, so the bounds above still apply after the run.
    if (c.all_lr_zero() && !c.arch.has_buffers()) {
      CaseRun<T> a = run_case<T>(c, make);
      CaseRun<T> b = run_case<T>(c, make, &permuted);
      if (a.non_finite || b.non_finite) {
        v.tags.push_back("non-finite gradient");
      } else {
        v.tags.push_back("trained at lr = 0");
        const auto before = v.findings.size();
        compare_bounded(v, a.model, test.x, test.y, b.model, test.x, test.y, c.loss,
                        "after training both at lr = 0, reversing the hidden units of layers " +
                            std::to_string(i) + " and " + std::to_string(j));
        if (v.findings.size() > before) {
          Sequential<T> expect = a.model;
          reverse_units(expect, i, j);
          v.findings.back().message += first_moved(expect, b.model);
        }
      }
    }
  }
  if (reorder) {
    v.tags.push_back("reorder");
    const Matrix<T> rx = test.x.colwise().reverse(), ry = test.y.colwise().reverse();
    compare_bounded(v, model, test.x, test.y, model, rx, ry, c.loss,
                    "reversing the order of the test samples");
  }
  return v;
}

}  // namespace

std::vector<std::vector<Index>> trainer_order(const Case& c) {
  return epoch_orders(train_options(c), c.train.size(), c.epochs);
}

Verdict prop_test_loss_frozen(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? test_loss_frozen<float>(c, f.f32) : test_loss_frozen<double>(c, f.f64);
}
Verdict prop_test_loss_tracks_buffers(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? test_loss_tracks_buffers<float>(c, f.f32)
                                   : test_loss_tracks_buffers<double>(c, f.f64);
}
Verdict prop_train_loss_order(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? train_loss_order<float>(c, f.f32) : train_loss_order<double>(c, f.f64);
}
Verdict prop_metamorphic(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? metamorphic<float>(c, f.f32) : metamorphic<double>(c, f.f64);
}

}  // namespace zerolr
