// zerolr-claims: tests the claims of the article this project started from
// (../shared/seeds/) with the suite's own properties, and prints the README's table.
//
//   zerolr-claims [--cases N]
//
// Every verdict comes from running properties (lib/audit) on generated cases; nothing is
// hard-coded but the claims' wording and which property tests each. The last column is the
// same claim measured on PyTorch itself (python3 -m zerolr.torch_claims: torch.nn models, an
// ordinary torch training loop). Exit status: 0 when the table was produced, 2 on bad
// arguments or when the PyTorch measurement cannot run.
#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "common/cli.h"
#include "zerolr/audit/properties.h"
#include "zerolr/audit/worker.h"
#include "zerolr/optim/rules/adam.h"
#include "zerolr/random.h"
#include "zerolr/spec_syntax.h"
#include "zerolr/train/trainer.h"

namespace {

using namespace zerolr;

// The decoupled decay of tensorflow/addons#2282: not multiplied by lr.
struct LrBlindDecay {
  template <class T>
  static void apply(double wd, T, rule::VecMap<T> p, Vector<T>&) {
    if (wd != 0) p.array() = p.array() * static_cast<T>(1 - wd);
  }
};
using LrBlindAdamW = AdamFamilyRule<AdamWSettings, LrBlindDecay>;

// Every registered rule at its defaults whose documented algorithm freezes at lr = 0 (the
// article's claims are about those; the rules that move at lr = 0 by their own definition
// get a row of their own).
std::vector<std::string> freezing_optimizers() {
  std::vector<std::string> out;
  for (const std::string& text : optimizer_defaults())
    if (freezes_at_lr0(parse_optimizer_spec(text))) out.push_back(text);
  return out;
}
const std::vector<std::string> kOptimizers = freezing_optimizers();
const char* kPlainArchs[] = {"input(6),dense(8),relu,dense(1)",
                             "input(6),dense(16),tanh,dropout(p=0.3),dense(1)",
                             "input(6),dense(8),layernorm,sigmoid,dense(1)"};
const char* kBatchNormArchs[] = {"input(6),dense(8),batchnorm,relu,dense(1)",
                                 "input(6),batchnorm(momentum=0.5),dense(4),tanh,dense(1)"};

Case make_case(const std::string& arch, const std::string& opt, Regime regime, Scalar scalar,
               std::uint64_t seed, std::vector<double> lrs = {0.0}, int epochs = 5) {
  Case c;
  c.scalar = scalar;
  c.arch = Architecture::parse(arch);
  c.loss = LossSpec::parse("bce");
  c.optimizer = parse_optimizer_spec(opt);
  c.lrs = std::move(lrs);
  c.epochs = epochs;
  c.batch_size = 8;
  c.shuffle = true;
  c.model_seed = seed;
  c.shuffle_seed = seed + 1;
  c.regime = regime;
  c.train = make_data(regime, 30, 6, c.loss, 1, scalar, seed + 2);
  c.test = make_data(regime, 20, 6, c.loss, 1, scalar, seed + 3);
  return c;
}

struct Row {
  Row(std::string c, std::string p, std::string v, std::string e)
      : claim(std::move(c)), property(std::move(p)), verdict(std::move(v)), evidence(std::move(e)) {}
  std::string claim, property, verdict, evidence;
  std::string torch_key;  ///< the claim's entry in zerolr.torch_claims' JSON
};

struct Tally {
  int judged = 0, held = 0;
  std::string counterexample;
  void add(const Verdict& v, const Case& c) {
    if (!v.applicable) return;
    ++judged;
    if (v.holds()) {
      ++held;
    } else if (counterexample.empty()) {
      counterexample = v.first_violation() + " [" + describe(c) + "]";
    }
  }
  std::string summary() const { return std::to_string(held) + "/" + std::to_string(judged) + " cases hold"; }
};

template <class T>
std::vector<T> test_losses(const Case& c) {
  Sequential<T> model(c.arch, c.model_seed);
  auto opt = make_optimizer<T>(with_lr(c.optimizer, 1.0));
  Trainer<T> trainer(model, c.loss, *opt, train_options(c));
  Dataset<T> train{c.train.x.cast<T>(), c.train.y.cast<T>(), {}, ""};
  Dataset<T> test{c.test.x.cast<T>(), c.test.y.cast<T>(), {}, ""};
  return trainer.fit(train, &test).test_loss;
}

std::vector<Row> evaluate(int cases) {
  std::vector<Row> rows;
  const Scalar scalars[] = {Scalar::Float, Scalar::Double};

  {  // Parameters freeze.
    Tally lib, blind;
    Factories broken = Factories::library();
    broken.f32 = [](const OptimizerSpec& s) {
      return std::make_unique<RuleOptimizer<float, LrBlindAdamW>>(std::get<AdamWSettings>(s));
    };
    broken.f64 = [](const OptimizerSpec& s) {
      return std::make_unique<RuleOptimizer<double, LrBlindAdamW>>(std::get<AdamWSettings>(s));
    };
    for (int k = 0; k < cases; ++k)
      for (const std::string& opt : kOptimizers)
        for (Regime r : kFiniteRegimes) {
          const Case c = make_case(k % 2 ? kBatchNormArchs[(k / 2) % 2] : kPlainArchs[(k / 2) % 3], opt, r,
                                   scalars[k % 2], 100 + k);
          lib.add(prop_freeze(c), c);
        }
    for (int k = 0; k < cases; ++k) {
      const Case c =
          make_case(kPlainArchs[k % 3], "adamw(weight_decay=0.01)", Regime::Normal, scalars[k % 2], 200 + k);
      blind.add(prop_freeze(c, broken), c);
    }
    rows.push_back({"\"No weight updates occur; the model's parameters remain frozen\"", "freeze",
                    lib.held == lib.judged && blind.held < blind.judged
                        ? "holds for PyTorch semantics; fails for lr-blind decoupled decay"
                        : "see evidence",
                    "built-in optimizers: " + lib.summary() +
                        "; AdamW whose decay ignores lr (tensorflow/addons#2282): " + blind.summary() +
                        ", e.g. " + blind.counterexample});
    rows.back().torch_key = "freeze";
  }
  {  // Rules that move at lr = 0 by their own definition (freezes_at_lr0 is false).
    std::string evidence, names;
    bool every_rule_moves = true;
    for (const std::string& text : optimizer_defaults()) {
      const OptimizerSpec spec = parse_optimizer_spec(text);
      if (freezes_at_lr0(spec)) continue;
      int moved = 0, judged = 0;
      std::string example;
      // Every step at lr = 0, and lr = 0 after a step at lr > 0 (a schedule that falls to zero).
      for (int k = 0; k < cases; ++k)
        for (const std::vector<double>& lrs : {std::vector<double>{0.0}, std::vector<double>{0.05, 0.0}}) {
          const Case c = make_case(kPlainArchs[k % 3], text, Regime::Normal, scalars[k % 2], 250 + k, lrs, 2);
          const Verdict v = prop_freeze(c);
          if (!v.applicable) continue;
          ++judged;
          for (const auto& f : v.findings)
            if (f.cls == FindingClass::Rule) {
              ++moved;
              if (example.empty()) example = f.message + " [" + describe(c) + "]";
              break;
            }
        }
      every_rule_moves = every_rule_moves && moved > 0;
      names += (names.empty() ? "" : " and ") + optimizer_name(spec);
      evidence += (evidence.empty() ? "" : "; ") + optimizer_name(spec) + ": " + std::to_string(moved) + "/" +
                  std::to_string(judged) +
                  " runs move at lr = 0, each step as the rule's reference does, e.g. " + example;
    }
    rows.push_back(
        {"\"a learning rate of zero effectively disables the gradient descent optimization process\"",
         "freeze (class rule)",
         every_rule_moves ? "fails for " + names + ", by their own definitions" : "see evidence", evidence});
    rows.back().torch_key = "freeze";
  }
  {  // The test loss remains constant.
    Tally plain, bn;
    for (int k = 0; k < cases; ++k)
      for (const std::string& opt : kOptimizers) {
        const Case p = make_case(kPlainArchs[k % 3], opt, Regime::Normal, scalars[k % 2], 300 + k);
        plain.add(run_property("test_loss_frozen", p), p);
      }
    int changed = 0, judged = 0;
    std::string example;
    for (int k = 0; k < cases; ++k)
      for (const std::string& opt : kOptimizers) {
        const Case c = make_case(kBatchNormArchs[k % 2], opt, Regime::Normal, scalars[k % 2], 400 + k);
        bn.add(run_property("test_loss_tracks_buffers", c), c);
        const auto h = c.scalar == Scalar::Float ? [&] {
          std::vector<double> out;
          for (float v : test_losses<float>(c)) out.push_back(v);
          return out;
        }()
                                                  : test_losses<double>(c);
        ++judged;
        if (h.front() != h.back()) {
          ++changed;
          if (example.empty())
            example = "epoch 1 " + format_real(h.front()) + ", epoch " + std::to_string(h.size()) + " " +
                      format_real(h.back()) + " [" + describe(c) + "]";
        }
      }
    rows.push_back(
        {"\"The test loss remains constant ... regardless of the number of epochs\"",
         "test_loss_frozen, test_loss_tracks_buffers",
         changed > 0 ? "fails with BatchNorm in Train mode; holds without running statistics" : "holds",
         "no BatchNorm: " + plain.summary() + " bit-identical; BatchNorm: test loss changed in " +
             std::to_string(changed) + "/" + std::to_string(judged) +
             " runs while every parameter stayed frozen (" + bn.summary() +
             " of 'the loss is a function of the buffers alone'), e.g. " + example});
    rows.back().torch_key = "test_loss_frozen";
  }
  {  // Fluctuations are numerical precision.
    Tally order;
    for (int k = 0; k < cases; ++k)
      for (const std::string& opt : kOptimizers)
        for (Regime r : {Regime::Normal, Regime::WideRange, Regime::NotFloat}) {
          // No Dropout here: its masks change the training loss legitimately.
          const Case c = make_case(k % 2 ? kPlainArchs[0] : kPlainArchs[2], opt, r, scalars[k % 2], 500 + k);
          order.add(run_property("train_loss_order", c), c);
        }
    rows.push_back(
        {"\"Any perceived fluctuations are ... attributable to numerical precision\"",
         "train_loss_order, test_loss_tracks_buffers",
         "holds for the training loss without BatchNorm; fails with BatchNorm",
         "epoch training losses at lr = 0 differ only within their rigorous rounding bounds (" +
             order.summary() +
             "); the BatchNorm test-loss changes above are changes of the model (its buffers), not "
             "rounding: they persist in exact arithmetic"});
    rows.back().torch_key = "fluctuations";
  }
  {  // A constant test loss confirms the training loop.
    Tally state;
    for (int k = 0; k < cases; ++k)
      for (const std::string& opt : kOptimizers) {
        Case c =
            make_case(kPlainArchs[0], opt, Regime::Normal, scalars[k % 2], 600 + k, {0.0, 0.0, 0.0, 0.01}, 1);
        state.add(run_property("state_advances", c), c);
      }
    // Adam after 3 epochs at lr = 0, then an epoch at 0.01, against that epoch from scratch.
    // Minibatches of 10 of 30 samples in a fixed order, so both runs see the same batches in
    // the last epoch, and the 9 zero-lr steps fill Adam's moments with other batches'
    // gradients. (With one full batch the gradient would be constant at lr = 0, and Adam's
    // bias correction would make the warm-up vanish in exact arithmetic: a difference there
    // would be rounding only, so this demonstration does not use it.)
    Case warm =
        make_case(kPlainArchs[0], "adam", Regime::Normal, Scalar::Double, 700, {0.0, 0.0, 0.0, 0.01}, 1);
    warm.batch_size = 10;
    warm.shuffle = false;
    warm.epochs = 4;
    Case cold = warm;
    cold.lrs = {0.01};
    cold.epochs = 1;
    const double a = test_losses<double>(warm).back(), b = test_losses<double>(cold).back();
    // Far above rounding: the two runs differ in exact arithmetic, not in the last bits.
    const bool differs = std::abs(a - b) > 1e-9 * std::abs(b);
    rows.push_back(
        {"\"A constant test loss ... confirms that the training loop is correctly implemented\"",
         "state_advances", differs ? "fails: the optimizer state advances at lr = 0" : "inconclusive",
         "step counters and moments advance through zero-lr steps exactly as the reference says (" +
             state.summary() + "); so three epochs at lr = 0 change Adam's next steps: test loss " +
             format_real(a) + " after the zero warm-up vs " + format_real(b) + " without it"});
    rows.back().torch_key = "state_advances";
  }
  {  // Adam reduces the noise.
    int identical = 0, judged = 0;
    for (int k = 0; k < cases; ++k)
      for (const char* arch : {kPlainArchs[0], kBatchNormArchs[0]}) {
        const Case s = make_case(arch, "sgd", Regime::Normal, Scalar::Float, 800 + k);
        Case a = s;
        a.optimizer = parse_optimizer_spec("adam");
        ++judged;
        identical += test_losses<float>(s) == test_losses<float>(a);
      }
    rows.push_back(
        {"\"Adam ... may reduce numerical noise\" at lr = 0", "freeze (Adam vs SGD histories)",
         identical == judged ? "fails: the histories are bit-identical" : "see evidence",
         std::to_string(identical) + "/" + std::to_string(judged) +
             " float32 runs give bit-identical test-loss histories with Adam and with SGD, with and "
             "without BatchNorm: at lr = 0 the optimizer never touches the weights, so there is no "
             "optimizer noise to reduce"});
    rows.back().torch_key = "adam_vs_sgd";
  }
  {  // w_new = w_old.
    Tally nf;
    int poisoned = 0;
    std::string example;
    for (int k = 0; k < cases; ++k)
      for (const std::string& opt : kOptimizers) {
        Case c = make_case(kPlainArchs[0], opt, Regime::NonFinite, scalars[k % 2], 900 + k, {0.0}, 1);
        c.policy = NonFinitePolicy::Apply;
        const Verdict v = run_property("non_finite", c);
        nf.add(v, c);
        for (const auto& f : v.findings)
          if (f.cls == FindingClass::Hazard) {
            ++poisoned;
            if (example.empty()) example = f.message;
            break;
          }
      }
    rows.push_back(
        {"\"When eta = 0 ... w_new = w_old\"", "non_finite",
         poisoned > 0 ? "fails for non-finite gradients" : "holds",
         std::to_string(poisoned) + " of " + std::to_string(nf.judged) +
             " runs with a NaN or inf in the data poison the weights at lr = 0 when the step is applied "
             "(0 * NaN = NaN), e.g. " +
             example + "; zerolr's default policy raises instead and leaves the weights untouched"});
    rows.back().torch_key = "non_finite";
  }
  return rows;
}

/// The same claims measured on PyTorch itself: python3 -m zerolr.torch_claims (python/zerolr),
/// torch.nn models trained by an ordinary torch loop, in the interpreter that has torch.
nlohmann::json torch_evidence() {
  const std::string text = run_command(python_module_command("zerolr.torch_claims", {"--seed", "1"}), 600000);
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(std::string("zerolr.torch_claims printed no JSON: ") + e.what());
  }
}

std::string torch_column(const nlohmann::json& torch, const std::string& key) {
  if (!torch.contains(key)) throw Error("zerolr.torch_claims has no entry '" + key + "'");
  const auto& c = torch[key];
  std::string text = c.at("verdict").get<std::string>() + " " + c.at("evidence").get<std::string>();
  for (std::size_t p = text.find('|'); p != std::string::npos; p = text.find('|', p + 2))
    text.replace(p, 1, "\\|");
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int cases = 4;
  CLI::App app{"Test the article's claims about lr = 0 with zerolr's properties and print the table."};
  app.add_option("--cases", cases, "cases per configuration")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  if (const auto status = zerolr::tools::parse_command_line(app, argc, argv, "zerolr-claims")) return *status;
  try {
    const auto rows = evaluate(cases);
    const nlohmann::json torch = torch_evidence();
    const std::string version =
        torch.contains("torch_version") ? torch["torch_version"].get<std::string>() : "";
    std::cout << "| claim | property | verdict (measured) | evidence | PyTorch " << version
              << " (torch.nn models, an ordinary training loop at lr = 0) |\n|---|---|---|---|---|\n";
    for (const auto& r : rows)
      std::cout << "| " << r.claim << " | " << r.property << " | " << r.verdict << " | " << r.evidence
                << " | " << torch_column(torch, r.torch_key) << " |\n";
  } catch (const Error& e) {
    std::cerr << "zerolr-claims: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
