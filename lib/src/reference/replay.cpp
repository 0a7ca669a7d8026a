// Lockstep replay of a training run in the reference type, and its drift report.
#include "zerolr/reference/replay.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "zerolr/reference/bounds.h"
#include "zerolr/reference/lift.h"
#include "zerolr/reference/oracle.h"
#include "zerolr/reference/step_check.h"
#include "zerolr/scalar/reference_distance.h"
#include "zerolr/spec_syntax.h"
#include "zerolr/train/trainer.h"

namespace zerolr {

namespace {

template <class T>
Matrix<T> flatten(const std::vector<ParamRef<T>>& params) {
  Index n = 0;
  for (const auto& p : params) n += p.value->size();
  Matrix<T> out(n, 1);
  Index k = 0;
  for (const auto& p : params)
    for (Index i = 0; i < p.value->size(); ++i) out(k++, 0) = p.value->data()[i];
  return out;
}

template <class T>
Matrix<T> rows(const Matrix<T>& m, Index start, Index count) {
  return m.middleRows(start, count);
}

}  // namespace

namespace {

// The replay in the reference scalar R (reference/oracle.h picks it).
template <class T, class R>
DriftRun replay_drift_in(const DriftCase& c) {
  if (c.steps < 1) throw SpecError("drift: steps must be at least 1");
  if (c.batch_size < 1 || c.samples < 1) throw SpecError("drift: samples and batch_size must be at least 1");
  for (double lr : c.lrs)
    if (!(lr >= 0) || !std::isfinite(lr)) throw SpecError("drift: every lr must be finite and >= 0");

  Sequential<T> model(c.arch, c.seed);
  const Dataset<T> data = regression_toy<T>(c.samples, c.arch.inputs, c.seed + 1);
  if (loss_target_columns(c.loss, c.arch.outputs()) != data.y.cols())
    throw ShapeError("drift: the regression data has 1 target column; loss " + c.loss.to_string() +
                     " with this architecture needs " +
                     std::to_string(loss_target_columns(c.loss, c.arch.outputs())));
  Sequential<R> ref_model = lift<R>(model);
  const Dataset<R> ref_data = lift<R>(data);

  auto opt = make_optimizer<T>(c.optimizer);
  auto ref_opt = make_optimizer<R>(c.optimizer);
  TrainOptions options;
  options.batch_size = c.batch_size;
  Trainer<T> trainer(model, c.loss, *opt, options);
  Trainer<R> ref_trainer(ref_model, c.loss, *ref_opt, options);

  DriftRun run;
  run.scalar = sizeof(T) == sizeof(float) ? "float32" : "float64";
  const Index bs = std::min(c.batch_size, c.samples);
  const Index blocks = (c.samples + bs - 1) / bs;
  for (std::int64_t k = 0; k < c.steps; ++k) {
    const Index start = (k % blocks) * bs;
    const Index count = std::min(bs, c.samples - start);
    const double lr_spec = c.lrs.empty() ? base_lr(c.optimizer)
                                         : c.lrs[static_cast<std::size_t>(std::min<std::int64_t>(
                                               k, static_cast<std::int64_t>(c.lrs.size()) - 1))];
    const T lr = static_cast<T>(lr_spec);
    const Matrix<T> xb = rows(data.x, start, count), yb = rows(data.y, start, count);
    // The forward bound and the per-step check need the state before the step.
    Sequential<T> before_model = model;
    const auto before_opt = opt->clone();
    std::vector<Matrix<T>> w_prev;
    for (const auto& p : model.parameters()) w_prev.push_back(*p.value);

    const T loss = trainer.step(xb, yb, lr);
    const R ref_loss = ref_trainer.step(lift<R>(xb), lift<R>(yb), R(lr));

    Sequential<R> exact_model = lift<R>(before_model);
    const BoundedForward<T> bf = bounded_forward(before_model, xb, Mode::Train, &c.loss, &yb);
    const R exact_loss =
        loss_value(c.loss, exact_model.forward(lift<R>(xb), Mode::Train), lift<R>(yb));
    StepCheck sc;
    const auto params = model.parameters();
    for (std::size_t t = 0; t < params.size(); ++t)
      merge(sc, check_step(*before_opt, t, w_prev[t].data(), params[t].grad->data(), params[t].value->size(),
                           lr, params[t].value->data()));
    const ErrorSummary w =
        summarize_errors<T>(flatten(model.parameters()), to_float128(flatten(ref_model.parameters())), ZeroMode::Value);
    DriftPoint p;
    p.step = k + 1;
    p.lr = static_cast<double>(lr);
    p.loss = static_cast<double>(loss);
    p.loss_reference = static_cast<double>(ref_loss);
    p.loss_rel_error = relative_error<T>(loss, to_float128(ref_loss));
    p.weight_max_rel_error = w.max_rel;
    p.weight_median_rel_error = w.median_rel;
    p.weight_max_ulp = w.max_ulp;
    p.weight_median_ulp = w.median_ulp;
    p.loss_bound_ratio =
        bf.loss_bound > 0 ? static_cast<double>(abs(R(bf.loss) - exact_loss)) / bf.loss_bound : 0.0;
    p.step_max_ratio = sc.max_ratio;
    p.step_median_ratio = sc.median_ratio;
    run.points.push_back(p);
  }
  return run;
}

}  // namespace

template <class T>
DriftRun replay_drift(const DriftCase& c) {
  return oracle::with_reference([&]<class R>() { return replay_drift_in<T, R>(c); });
}

template DriftRun replay_drift<float>(const DriftCase&);
template DriftRun replay_drift<double>(const DriftCase&);

std::string drift_text(const DriftCase& c, const std::vector<DriftRun>& runs, std::int64_t every) {
  std::ostringstream out;
  out << "model " << c.arch.to_string() << ", loss " << c.loss.to_string() << ", optimizer "
      << to_string(c.optimizer) << ", " << c.steps << " steps, " << c.samples << " samples, batch "
      << c.batch_size << ", seed " << c.seed << "\n";
  out << "relative errors against the reference replay (max and median over all weights);\n"
      << "loss/bnd: this step's loss error over its rigorous forward bound (<= 1 when correct);\n"
      << "step/bgt: the worst weight's step error over the per-step budget, from the same state (<= 1)\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-8s %6s  %-10s %-10s %-10s %-9s %-9s %-10s %-10s\n", "scalar", "step",
                "loss rel", "w max rel", "w med rel", "w max ulp", "w med ulp", "loss/bnd", "step/bgt");
  out << line;
  for (const auto& r : runs)
    for (const auto& p : r.points) {
      if (p.step % every != 0 && p.step != 1 && p.step != static_cast<std::int64_t>(r.points.size()))
        continue;
      std::snprintf(
          line, sizeof line, "%-8s %6lld  %-10.2e %-10.2e %-10.2e %-9llu %-9llu %-10.2e %-10.2e\n",
          r.scalar.c_str(), static_cast<long long>(p.step), p.loss_rel_error, p.weight_max_rel_error,
          p.weight_median_rel_error, static_cast<unsigned long long>(p.weight_max_ulp),
          static_cast<unsigned long long>(p.weight_median_ulp), p.loss_bound_ratio, p.step_max_ratio);
      out << line;
    }
  return out.str();
}

std::string drift_svg(const DriftCase& c, const std::vector<DriftRun>& runs) {
  // Log-scale plot: y from 1e-18 to 1; exact zeros are drawn on the bottom edge.
  const double w = 760, h = 420, left = 70, right = 190, top = 40, bottom = 50;
  const double lo = -18, hi = 0;
  const double steps = static_cast<double>(std::max<std::int64_t>(c.steps, 1));
  auto x_of = [&](double s) { return left + (w - left - right) * (s / steps); };
  auto y_of = [&](double v) {
    double e = v > 0 && std::isfinite(v) ? std::log10(v) : (std::isinf(v) ? hi : lo);
    e = std::clamp(e, lo, hi);
    return top + (h - top - bottom) * (hi - e) / (hi - lo);
  };
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
       "fill=\"white\"/>\n";
  s << "<text x=\"" << left << "\" y=\"22\" font-size=\"14\">Relative error against the reference replay: "
    << optimizer_name(c.optimizer) << ", lr " << format_real(base_lr(c.optimizer)) << ", " << c.steps
    << " steps</text>\n";
  for (int e = static_cast<int>(lo); e <= static_cast<int>(hi); e += 3) {
    const double y = y_of(std::pow(10.0, e));
    s << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << w - right << "\" y2=\"" << y
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 8 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">1e"
      << e << "</text>\n";
  }
  s << "<line x1=\"" << left << "\" y1=\"" << h - bottom << "\" x2=\"" << w - right << "\" y2=\""
    << h - bottom << "\" stroke=\"black\"/>\n<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left
    << "\" y2=\"" << h - bottom << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double st = steps * i / 4;
    s << "<text x=\"" << x_of(st) << "\" y=\"" << h - bottom + 18 << "\" text-anchor=\"middle\">"
      << static_cast<long long>(st) << "</text>\n";
  }
  s << "<text x=\"" << (left + w - right) / 2 << "\" y=\"" << h - 12
    << "\" text-anchor=\"middle\">step</text>\n";
  struct Series {
    const char* label;
    double DriftPoint::*field;
    const char* dash;
  };
  const Series series[] = {{"weights, max", &DriftPoint::weight_max_rel_error, ""},
                           {"weights, median", &DriftPoint::weight_median_rel_error, "2,3"},
                           {"loss", &DriftPoint::loss_rel_error, "6,3"}};
  const char* colours[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd"};
  int legend = 0;
  for (std::size_t r = 0; r < runs.size(); ++r)
    for (const auto& se : series) {
      s << "<polyline fill=\"none\" stroke=\"" << colours[r % 4] << "\" stroke-width=\"1.5\"";
      if (*se.dash) s << " stroke-dasharray=\"" << se.dash << "\"";
      s << " points=\"";
      for (const auto& p : runs[r].points)
        s << x_of(static_cast<double>(p.step)) << "," << y_of(p.*se.field) << " ";
      s << "\"/>\n";
      const double ly = top + 10 + 18 * legend++;
      s << "<line x1=\"" << w - right + 10 << "\" y1=\"" << ly << "\" x2=\"" << w - right + 40 << "\" y2=\""
        << ly << "\" stroke=\"" << colours[r % 4] << "\" stroke-width=\"1.5\"";
      if (*se.dash) s << " stroke-dasharray=\"" << se.dash << "\"";
      s << "/>\n<text x=\"" << w - right + 45 << "\" y=\"" << ly + 4 << "\">" << runs[r].scalar << " "
        << se.label << "</text>\n";
    }
  s << "</svg>\n";
  return s.str();
}

}  // namespace zerolr
