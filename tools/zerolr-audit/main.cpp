// zerolr-audit: audit an optimizer implementation, built in or a plug-in, against the
// properties of lr = 0 and the float128 reference of the rule it claims.
//
//   zerolr-audit (--plugin PATH.so | --optimizer SPEC | --optimizer all) [--cases N] [--seed S]
//                [--steps K] [--json FILE] [--replay FILE] [--timeout-ms T] [--list]
//
// Exit status: 0 no violation; 1 at least one violation; 2 bad usage or a plug-in that cannot
// be used (a one-line reason is printed).
#include <sys/wait.h>
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

namespace {

using namespace zerolr;

// Loads the plug-in once in a child process first: a plug-in that crashes while loading
// must not take the audit down. Returns "" when it loads, or the reason it cannot be used.
std::string probe_plugin(const std::string& path) {
  int fds[2];
  if (::pipe(fds) != 0) return "";
  const pid_t pid = ::fork();
  if (pid < 0) return "";
  if (pid == 0) {
    ::close(fds[0]);
    std::string msg;
    try {
      Plugin p(path);
    } catch (const std::exception& e) {
      msg = e.what();
    }
    if (!msg.empty() && ::write(fds[1], msg.data(), msg.size()) < 0) ::_exit(4);
    ::_exit(msg.empty() ? 0 : 3);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  ssize_t got;
  while ((got = ::read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<std::size_t>(got));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    return "plug-in '" + path + "' crashed while loading (signal " + std::to_string(WTERMSIG(status)) + ")";
  return msg;
}

std::string clip(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

void print_report(const AuditReport& r) {
  std::printf("\n%s%s\n", r.optimizer.c_str(),
              r.claims.empty() ? "" : ("  (claims " + r.claims + ")").c_str());
  std::printf("  %d cases in %.2f s; verdict: %s\n", r.cases, r.seconds, r.passed() ? "pass" : "FAIL");
  std::printf("  worst trajectory error / budget: float64 %.3g%s\n", r.worst_ratio_f64,
              r.has_f32 ? (", float32 " + std::to_string(r.worst_ratio_f32)).c_str() : " (no float path)");
  if (r.findings.empty()) {
    std::printf("  no findings\n");
    return;
  }
  std::printf("  %-14s %-10s %s\n", "property", "class", "finding");
  for (const auto& f : r.findings) {
    std::printf("  %-14s %-10s %s\n", f.property.c_str(), to_string(f.cls).c_str(),
                clip(f.message, 160).c_str());
    std::printf("  %-14s %-10s counterexample: %s\n", "", "", clip(f.counterexample, 200).c_str());
    std::printf("  %-14s %-10s reproduce: %s\n", "", "", clip(f.reproduce, 200).c_str());
  }
}

std::vector<std::string> read_tokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("--replay: cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<std::string> tokens;
  // A JSON report: take every finding's reproduce token.
  if (!text.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos &&
      text[text.find_first_not_of(" \t\r\n")] == '{') {
    try {
      const auto j = nlohmann::json::parse(text);
      for (const auto& f : j.at("findings")) tokens.push_back(f.at("reproduce").get<std::string>());
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

}  // namespace

int main(int argc, char** argv) {
  std::string plugin, optimizer, json_path, replay;
  AuditOptions options;
  bool list = false;
  CLI::App app{
      "Audit an optimizer implementation: what lr = 0 must leave unchanged, and agreement with the "
      "float128 reference of the rule it claims."};
  auto* p_opt = app.add_option("--plugin", plugin, "a plug-in shared library (zerolr/plugin.h)");
  auto* o_opt = app.add_option("--optimizer", optimizer, "a built-in optimizer spec, or 'all'");
  p_opt->excludes(o_opt);
  app.add_option("--cases", options.cases, "number of cases")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--seed", options.seed, "seed of the case generator")->capture_default_str();
  app.add_option("--steps", options.steps, "maximum steps per case")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--json", json_path, "write the report as JSON");
  app.add_option("--replay", replay,
                 "re-run the reproduce tokens in a file (one per line, or a JSON report)");
  app.add_option("--timeout-ms", options.timeout_ms, "per-case timeout")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600000));
  app.add_flag("--list", list, "list the built-in optimizers with their defaults");
  if (const auto status = zerolr::tools::parse_command_line(app, argc, argv, "zerolr-audit")) return *status;
  if (list) {
    for (const auto& line : optimizer_defaults()) std::cout << line << "\n";
    return 0;
  }
  if (plugin.empty() && optimizer.empty()) {
    std::cerr << "zerolr-audit: give --plugin PATH or --optimizer SPEC (or --list)\n";
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
    nlohmann::json all = nlohmann::json::array();
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
      const AuditReport r = run_audit(t, options);
      print_report(r);
      violation = violation || !r.passed();
      all.push_back(nlohmann::json::parse(report_json(r)));
    }
    if (!json_path.empty()) {
      std::ofstream out(json_path);
      if (!out) throw Error("--json: cannot write '" + json_path + "'");
      out << (all.size() == 1 ? all[0] : all).dump(2) << "\n";
    }
    return violation ? 1 : 0;
  } catch (const Error& e) {
    std::cerr << "zerolr-audit: " << e.what() << "\n";
    return 2;
  }
}
