// zerolr-train: train one model at several learning rates from the same initial weights
// and print the test-loss histories side by side, with what stayed bit-identical.
//
//   zerolr-train --arch "input(10),dense(16),relu,dense(1)" --loss bce
//                --optimizer "sgd(momentum=0.9)" --lr 0 --lr 0.01 --epochs 10
//
// Exit status: 0 on success, 2 on bad arguments or bad input (with a one-line reason).
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/cli.h"
#include "zerolr/nn/sequential.h"
#include "zerolr/spec_syntax.h"
#include "zerolr/train/csv.h"
#include "zerolr/train/trainer.h"

namespace {

struct Config {
  std::string arch = "input(10),dense(16),relu,dense(1)";
  std::string loss = "bce";
  std::string optimizer = "sgd(momentum=0.9)";
  std::vector<double> lrs;
  int epochs = 10;
  zerolr::Index batch_size = 16;
  std::uint64_t seed = 1;
  std::string data = "uniform-random-labels";
  std::string csv;
  std::string test_csv;
  std::string target = "y";
  zerolr::Index samples = 200;
  zerolr::Index test_samples = 100;
  std::string scalar = "double";
  std::string schedule = "constant";
  double clip = 0;
  std::string non_finite = "raise";
  bool no_shuffle = false;
  bool drop_last = false;
  std::string json;
};

template <class T>
zerolr::Dataset<T> synthetic(const Config& c, zerolr::Index n, zerolr::Index d, zerolr::Index outputs,
                             std::uint64_t seed) {
  if (c.data == "uniform-random-labels") return zerolr::uniform_random_labels<T>(n, d, seed);
  if (c.data == "regression") return zerolr::regression_toy<T>(n, d, seed);
  if (c.data == "classification") return zerolr::classification_toy<T>(n, d, outputs, seed);
  throw zerolr::SpecError("--data: unknown data set '" + c.data +
                          "' (known: uniform-random-labels, regression, classification)");
}

std::string exact(double v) {
  return zerolr::format_real(v);
}

struct Run {
  double lr;
  zerolr::History<double> history;
  bool params_unchanged;
  bool buffers_unchanged;
};

template <class T>
int run(const Config& c) {
  using namespace zerolr;
  const Architecture arch = Architecture::parse(c.arch);
  const LossSpec loss = LossSpec::parse(c.loss);
  const OptimizerSpec opt_spec = parse_optimizer_spec(c.optimizer);
  TrainOptions options;
  options.epochs = c.epochs;
  options.batch_size = c.batch_size;
  options.shuffle = !c.no_shuffle;
  options.seed = c.seed;
  options.schedule = Schedule::parse(c.schedule);
  options.step.clip_norm = c.clip;
  options.step.non_finite = parse_non_finite_policy(c.non_finite);
  options.drop_last = c.drop_last;

  Dataset<T> train, test;
  if (!c.csv.empty()) {
    train = load_csv<T>(c.csv, c.target);
    test = c.test_csv.empty() ? train : load_csv<T>(c.test_csv, c.target);
  } else {
    train = synthetic<T>(c, c.samples, arch.inputs, arch.outputs(), c.seed);
    test = synthetic<T>(c, c.test_samples, arch.inputs, arch.outputs(), c.seed + 1);
  }

  const Sequential<T> initial(arch, c.seed);
  std::vector<Run> runs;
  for (double lr : c.lrs) {
    Sequential<T> model = initial;
    auto opt = make_optimizer<T>(with_lr(opt_spec, lr));
    Trainer<T> trainer(model, loss, *opt, options);
    const History<T> h = trainer.fit(train, &test);
    Run r{lr, {}, true, true};
    for (const T& v : h.train_loss) r.history.train_loss.push_back(static_cast<double>(v));
    for (const T& v : h.test_loss) r.history.test_loss.push_back(static_cast<double>(v));
    r.history.skipped_steps = h.skipped_steps;
    Sequential<T> before = initial;
    const auto p0 = before.parameters();
    const auto p1 = model.parameters();
    for (std::size_t i = 0; i < p0.size(); ++i)
      r.params_unchanged = r.params_unchanged && *p0[i].value == *p1[i].value;
    const auto b0 = before.buffers();
    const auto b1 = model.buffers();
    for (std::size_t i = 0; i < b0.size(); ++i)
      r.buffers_unchanged = r.buffers_unchanged && *b0[i].value == *b1[i].value;
    runs.push_back(std::move(r));
  }

  const char* type = sizeof(T) == sizeof(float) ? "float32" : "float64";
  std::cout << "model     " << arch.to_string() << "  (" << Sequential<T>(arch, c.seed).parameter_count()
            << " parameters, " << (arch.has_buffers() ? "with" : "no") << " BatchNorm buffers)\n"
            << "loss      " << loss.to_string() << "\n"
            << "optimizer " << to_string(opt_spec) << " (lr replaced per run)\n"
            << "data      " << (c.csv.empty() ? c.data : c.csv) << ": " << train.size() << " train, "
            << test.size() << " test samples; batch " << c.batch_size << (options.shuffle ? ", shuffled" : "")
            << "; " << type << "; seed " << c.seed << "\n\n";
  std::printf("%-6s", "epoch");
  for (const auto& r : runs) std::printf("  %-24s", ("test loss, lr=" + exact(r.lr)).c_str());
  std::printf("\n");
  for (int e = 0; e < c.epochs; ++e) {
    std::printf("%-6d", e + 1);
    for (const auto& r : runs)
      std::printf("  %-24s", exact(r.history.test_loss[static_cast<std::size_t>(e)]).c_str());
    std::printf("\n");
  }
  std::printf("\n");
  nlohmann::json report;
  report["model"] = arch.to_string();
  report["loss"] = loss.to_string();
  report["optimizer"] = to_string(opt_spec);
  report["scalar"] = type;
  report["seed"] = c.seed;
  for (const auto& r : runs) {
    const auto& t = r.history.test_loss;
    double spread = 0;
    bool identical = true;
    for (double v : t) {
      spread = std::max(spread, std::fabs(v - t.front()));
      identical = identical && v == t.front();
    }
    std::printf("lr=%s: test loss %s over %d epochs%s; parameters %s; buffers %s\n", exact(r.lr).c_str(),
                identical ? "bit-identical" : "changed", c.epochs,
                identical ? "" : (" (max |change| " + exact(spread) + ")").c_str(),
                r.params_unchanged ? "unchanged" : "changed",
                arch.has_buffers() ? (r.buffers_unchanged ? "unchanged" : "changed") : "none");
    report["runs"].push_back({{"lr", r.lr},
                              {"test_loss", r.history.test_loss},
                              {"train_loss", r.history.train_loss},
                              {"test_loss_bit_identical", identical},
                              {"parameters_unchanged", r.params_unchanged},
                              {"buffers_unchanged", r.buffers_unchanged}});
  }
  if (!c.json.empty()) {
    std::ofstream out(c.json);
    if (!out) throw Error("--json: cannot write '" + c.json + "'");
    out << report.dump(2) << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{
      "Train one model at several learning rates from the same initial weights and compare the loss "
      "histories."};
  app.add_option("--arch", c.arch, "architecture, e.g. input(10),dense(16),batchnorm,relu,dense(1)")
      ->capture_default_str();
  app.add_option("--loss", c.loss, "mse, bce, cross_entropy or huber(delta=D)")->capture_default_str();
  app.add_option("--optimizer", c.optimizer, "optimizer spec, e.g. adamw(weight_decay=0.01)")
      ->capture_default_str();
  app.add_option("--lr", c.lrs, "learning rate of a run; repeat for several runs (default: 0 and 0.01)");
  app.add_option("--epochs", c.epochs, "epochs")->capture_default_str()->check(CLI::Range(0, 1000000));
  app.add_option("--batch-size", c.batch_size, "minibatch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", c.seed, "seed of the weights, the data and the shuffling")->capture_default_str();
  app.add_option("--data", c.data, "synthetic data: uniform-random-labels, regression, classification")
      ->capture_default_str();
  app.add_option("--csv", c.csv, "training data from a CSV file instead (header row, numeric cells)");
  app.add_option("--test-csv", c.test_csv, "test data from a CSV file (default: the training file)");
  app.add_option("--target", c.target, "the CSV's target column")->capture_default_str();
  app.add_option("--samples", c.samples, "synthetic training samples")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--test-samples", c.test_samples, "synthetic test samples")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--scalar", c.scalar, "float or double")
      ->capture_default_str()
      ->check(CLI::IsMember({"float", "double"}));
  app.add_option("--schedule", c.schedule,
                 "lr schedule, e.g. warmup(steps=10,start_factor=0)+cosine(t_max=100)")
      ->capture_default_str();
  app.add_option("--clip", c.clip, "clip the global gradient norm (0: off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--non-finite", c.non_finite, "raise, skip or apply")
      ->capture_default_str()
      ->check(CLI::IsMember({"raise", "skip", "apply"}));
  app.add_flag("--no-shuffle", c.no_shuffle, "keep the data order");
  app.add_flag("--drop-last", c.drop_last, "drop a last, smaller batch");
  app.add_option("--json", c.json, "also write the histories as JSON to this file");
  if (const auto status = zerolr::tools::parse_command_line(app, argc, argv, "zerolr-train")) return *status;
  if (c.lrs.empty()) c.lrs = {0.0, 0.01};
  try {
    return c.scalar == "float" ? run<float>(c) : run<double>(c);
  } catch (const zerolr::Error& e) {
    std::cerr << "zerolr-train: " << e.what() << "\n";
    return 2;
  }
}
