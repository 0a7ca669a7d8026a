// zerolr-audit: audit an optimizer implementation, built in or a plug-in, against the
// properties of lr = 0 and the exact reference of the rule it claims.
//
//   zerolr-audit (--plugin PATH.so | --optimizer SPEC | --optimizer all | --worker 'COMMAND' |
//                 --python 'module.Class(kwargs)' [--python-path DIR]... [--claims SPEC|none])
//                [--cases N] [--seed S] [--steps K] [--json FILE] [--junit FILE] [--replay FILE]
//                [--timeout-ms T] [--list [--json]]
//
// Exit status: 0 no violation; 1 at least one violation; 2 bad usage, or a plug-in or worker
// that cannot be used (a one-line reason is printed).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/cli.h"
#include "zerolr/audit/audit.h"
#include "zerolr/audit/plugin_loader.h"
#include "zerolr/audit/sandbox.h"
#include "zerolr/audit/worker.h"

namespace {

using namespace zerolr;

// Loads the plug-in once in a child process first (the audit's own sandbox): a plug-in that
// crashes while loading must not take the audit down. Returns "" when it loads, or the reason
// it cannot be used.
std::string probe_plugin(const std::string& path) {
  const IsolatedResult r = run_isolated(
      [&]() -> std::string {
        try {
          Plugin p(path);
          return "";
        } catch (const std::exception& e) {
          return e.what();
        }
      },
      30000);
  if (r.outcome != IsolatedResult::Outcome::Returned)
    return "plug-in '" + path + "' " + r.describe() + " while loading";
  return r.output;
}

/// Every rule with its keys, defaults and ranges.
void print_catalog() {
  for (const RuleInfo& rule : rule_catalog()) {
    std::string spec = rule.name + "(";
    for (std::size_t i = 0; i < rule.keys.size(); ++i)
      spec += (i ? "," : "") + rule.keys[i].name + "=" + rule.keys[i].default_value;
    std::cout << spec << ")" << (rule.freezes_at_lr0 ? "" : "    [moves at lr = 0 by its own definition]")
              << "\n";
    for (const KeyInfo& k : rule.keys) std::cout << "    " << k.name << " in " << k.range << "\n";
  }
}

std::string clip(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

std::vector<std::string> read_tokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("--replay: cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<std::string> tokens;
  // A JSON report: take every finding's reproduce token.
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) {
    try {
      const auto j = nlohmann::json::parse(text);
      for (const auto& report : j.is_array() ? j : nlohmann::json::array({j}))
        for (const auto& f : report.at("findings")) tokens.push_back(f.at("reproduce").get<std::string>());
    } catch (const std::exception& e) {
      throw Error("--replay: '" + path + "' is not a zerolr-audit JSON report: " + e.what());
    }
  } else {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty() && line[0] != '#') tokens.push_back(line);
    }
  }
  if (tokens.empty()) throw Error("--replay: '" + path + "' holds no reproduce token");
  return tokens;
}

void write_file(const std::string& option, const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw Error(option + ": cannot write '" + path + "'");
  out << text;
  if (!out) throw Error(option + ": cannot write '" + path + "'");
}

}  // namespace

int main(int argc, char** argv) {
  std::string plugin, optimizer, worker, python, claims, json_path, junit_path, replay;
  std::vector<std::string> python_path;
  AuditOptions options;
  bool list = false;
  CLI::App app{
      "Audit an optimizer implementation: what lr = 0 must leave unchanged, and agreement with the "
      "exact reference (double-double, float128 where its range ends) of the rule it claims."};
  auto* p_opt = app.add_option("--plugin", plugin, "a plug-in shared library (zerolr/plugin.h)");
  auto* o_opt = app.add_option("--optimizer", optimizer, "a built-in optimizer spec, or 'all'");
  auto* w_opt = app.add_option(
      "--worker", worker, "a worker command line (docs/worker-protocol.md), run as sh -c 'exec COMMAND'");
  auto* y_opt =
      app.add_option("--python", python,
                     "a Python optimizer, 'module.Class(KEY=VALUE,...)' (torch.optim.Adam(...) or your "
                     "own Optimizer subclass), served by zerolr's Python worker");
  auto* pp_opt =
      app.add_option("--python-path", python_path, "a directory for the worker's sys.path (repeatable)");
  auto* c_opt = app.add_option("--claims", claims,
                               "with --python: the rule the optimizer claims (a spec), or 'none' (default: "
                               "read from torch.optim's own classes)");
  int hello_timeout_ms = 60000;
  app.add_option("--hello-timeout-ms", hello_timeout_ms, "how long a worker may take to start and say hello")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600000));
  pp_opt->needs(y_opt);
  c_opt->needs(y_opt);
  p_opt->excludes(o_opt)->excludes(w_opt)->excludes(y_opt);
  o_opt->excludes(w_opt)->excludes(y_opt);
  w_opt->excludes(y_opt);
  app.add_option("--cases", options.cases, "number of cases")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--seed", options.seed, "seed of the case generator")->capture_default_str();
  app.add_option("--steps", options.steps, "maximum steps per case")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  auto* j_opt = app.add_option("--json", json_path,
                               "write the report as JSON to FILE (with --list: print the catalog as JSON)")
                    ->expected(0, 1);
  app.add_option("--junit", junit_path, "write the report as JUnit XML (a testcase per property)");
  app.add_option("--replay", replay,
                 "re-run the reproduce tokens in a file (one per line, or a JSON report)");
  app.add_option("--timeout-ms", options.timeout_ms, "per-case timeout")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600000));
  app.add_flag(
      "--list", list,
      "list the built-in optimizers with their keys, defaults and ranges (with --json: as JSON on stdout)");
  app.footer(
      "Python: the worker runs in ZEROLR_PYTHON if set, else in " ZEROLR_AUDIT_PYTHON
      ".\nExit status: 0 no violation, 1 a violation, 2 bad usage or an implementation that cannot be used.");
  if (const auto status = zerolr::tools::parse_command_line(app, argc, argv, "zerolr-audit")) return *status;
  if (list) {
    if (j_opt->count() > 0 && !json_path.empty()) {
      std::cerr << "zerolr-audit: --list --json prints the catalog on standard output; it takes no FILE\n";
      return 2;
    }
    if (j_opt->count() > 0)
      std::cout << rules_json() << "\n";
    else
      print_catalog();
    return 0;
  }
  if (j_opt->count() > 0 && json_path.empty()) {
    std::cerr << "zerolr-audit: --json needs a FILE to write the report to\n";
    return 2;
  }
  if (plugin.empty() && optimizer.empty() && worker.empty() && python.empty()) {
    std::cerr << "zerolr-audit: give --plugin PATH, --optimizer SPEC, --worker COMMAND or --python SPEC (or "
                 "--list)\n";
    return 2;
  }
  try {
    std::vector<AuditTarget> targets;
    if (!plugin.empty()) {
      const std::string why = probe_plugin(plugin);
      if (!why.empty()) {
        std::cerr << "zerolr-audit: " << why << "\n";
        return 2;
      }
      targets.push_back(plugin_target(plugin));
    } else if (!worker.empty() || !python.empty()) {
      std::optional<std::string> claimed;
      if (!claims.empty()) claimed = claims;
      WorkerCommand command =
          !worker.empty() ? shell_command(worker) : python_worker_command(python, python_path, claimed);
      command.hello_timeout_ms = hello_timeout_ms;
      targets.push_back(worker_target(command));
    } else if (optimizer == "all") {
      for (const auto& line : optimizer_defaults())
        targets.push_back(builtin_target(parse_optimizer_spec(line)));
    } else {
      targets.push_back(builtin_target(parse_optimizer_spec(optimizer)));
    }
    if (!replay.empty()) {
      bool violation = false;
      for (const auto& token : read_tokens(replay))
        for (const auto& t : targets) {
          const auto found = replay_token(t, token, options);
          std::printf("%s: %s\n", t.name.c_str(), clip(token, 120).c_str());
          if (found.empty()) std::printf("  no findings\n");
          for (const auto& f : found) {
            std::printf("  %-12s %-10s %s\n", f.property.c_str(), to_string(f.cls).c_str(),
                        f.message.c_str());
            violation = violation || f.cls == FindingClass::Violation;
          }
        }
      return violation ? 1 : 0;
    }
    const bool tty = ::isatty(STDERR_FILENO);
    std::vector<AuditReport> reports;
    bool violation = false;
    for (const auto& t : targets) {
      options.progress = [&](int done, int total) {
        if (tty) {
          const int width = 30, filled = width * done / total;
          std::fprintf(stderr, "\r%-24s [%s%s] %d/%d", clip(t.name, 24).c_str(),
                       std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(), done,
                       total);
          if (done == total) std::fprintf(stderr, "\n");
        } else if (done == total || done % 50 == 0) {
          std::fprintf(stderr, "%s: %d/%d cases\n", t.name.c_str(), done, total);
        }
      };
      reports.push_back(run_audit(t, options));
      std::fputs(report_text(reports.back()).c_str(), stdout);
      std::fflush(stdout);
      violation = violation || !reports.back().passed();
    }
    if (!json_path.empty()) {
      nlohmann::json all = nlohmann::json::array();
      for (const auto& r : reports) all.push_back(nlohmann::json::parse(report_json(r)));
      write_file("--json", json_path, (all.size() == 1 ? all[0] : all).dump(2) + "\n");
    }
    if (!junit_path.empty()) write_file("--junit", junit_path, report_junit(reports));
    return violation ? 1 : 0;
  } catch (const Error& e) {
    std::cerr << "zerolr-audit: " << e.what() << "\n";
    return 2;
  }
}
