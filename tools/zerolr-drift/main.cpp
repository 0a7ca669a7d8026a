// zerolr-drift: train a small model in float32 and float64, replay both runs step for step in
// the exact reference (double-double, float128 where its range ends), and report how far each drifts: a table, JSON, and an SVG plot.
//
//   zerolr-drift --optimizer adam --steps 100 --json drift.json --svg drift.svg
//
// Exit status: 0 on success, 2 on bad arguments or a bad spec (with a one-line reason).
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/cli.h"
#include "zerolr/reference/oracle.h"
#include "zerolr/reference/replay.h"

int main(int argc, char** argv) {
  using namespace zerolr;
  std::string arch = "input(8),dense(32),tanh,dense(32),tanh,dense(1)";
  std::string loss = "mse";
  std::string optimizer = "adam(lr=0.001)";
  std::vector<double> lrs;
  std::int64_t steps = 100, every = 10;
  Index samples = 64, batch = 16;
  std::uint64_t seed = 1;
  std::string json_path, svg_path;

  CLI::App app{"Replay a float32 and a float64 training run in the exact reference and report the drift."};
  app.add_option("--arch", arch, "architecture spec")->capture_default_str();
  app.add_option("--loss", loss, "loss spec (the data is the regression toy: one target)")
      ->capture_default_str();
  app.add_option("--optimizer", optimizer, "optimizer spec")->capture_default_str();
  app.add_option("--lr", lrs, "explicit lr of each step (the last one repeats); default: the spec's lr");
  app.add_option("--steps", steps, "training steps")->capture_default_str()->check(CLI::Range(1, 1000000));
  app.add_option("--samples", samples, "training samples")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch-size", batch, "batch size (consecutive blocks)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "seed of the weights and the data")->capture_default_str();
  app.add_option("--every", every, "print every N-th step")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--json", json_path, "write the report as JSON");
  app.add_option("--svg", svg_path, "write the plot as SVG");
  if (const auto status = zerolr::tools::parse_command_line(app, argc, argv, "zerolr-drift")) return *status;
  try {
    DriftCase c;
    c.arch = Architecture::parse(arch);
    c.loss = LossSpec::parse(loss);
    c.optimizer = parse_optimizer_spec(optimizer);
    c.lrs = lrs;
    c.steps = steps;
    c.samples = samples;
    c.batch_size = batch;
    c.seed = seed;
    const std::vector<DriftRun> runs{replay_drift<float>(c), replay_drift<double>(c)};
    std::cout << drift_text(c, runs, every);
    if (!json_path.empty()) {
      nlohmann::json j;
      j["model"] = c.arch.to_string();
      j["loss"] = c.loss.to_string();
      j["optimizer"] = to_string(c.optimizer);
      j["steps"] = c.steps;
      j["samples"] = c.samples;
      j["batch_size"] = c.batch_size;
      j["seed"] = c.seed;
      j["reference"] = oracle::float128_only() ? "float128 (113-bit significand)" : "double-double (106 bits), float128 where its range ends";
      for (const auto& r : runs) {
        nlohmann::json jr;
        jr["scalar"] = r.scalar;
        for (const auto& p : r.points)
          jr["steps"].push_back({{"step", p.step},
                                 {"lr", p.lr},
                                 {"loss", p.loss},
                                 {"loss_reference", p.loss_reference},
                                 {"loss_rel_error", p.loss_rel_error},
                                 {"weight_max_rel_error", p.weight_max_rel_error},
                                 {"weight_median_rel_error", p.weight_median_rel_error},
                                 {"weight_max_ulp", p.weight_max_ulp},
                                 {"weight_median_ulp", p.weight_median_ulp},
                                 {"loss_bound_ratio", p.loss_bound_ratio},
                                 {"step_max_ratio", p.step_max_ratio},
                                 {"step_median_ratio", p.step_median_ratio}});
        j["runs"].push_back(jr);
      }
      std::ofstream out(json_path);
      if (!out) throw Error("--json: cannot write '" + json_path + "'");
      out << j.dump(2) << "\n";
    }
    if (!svg_path.empty()) {
      std::ofstream out(svg_path);
      if (!out) throw Error("--svg: cannot write '" + svg_path + "'");
      out << drift_svg(c, runs);
    }
  } catch (const Error& e) {
    std::cerr << "zerolr-drift: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
