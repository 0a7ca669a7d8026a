// The audit's reports: JSON (the machine-readable record), JUnit XML (for CI dashboards) and
// the text zerolr-audit prints.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "audit/parts.h"

namespace zerolr {

namespace {

std::string clip(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

std::string xml(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XML 1.0 allows no control characters but tab and newlines.
        out += (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t') ? ' ' : ch;
    }
  }
  return out;
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

/// A ratio as JSON: a number, or the string "inf" (a NaN against a finite value), which JSON
/// numbers cannot hold.
nlohmann::json ratio(double r) {
  return std::isfinite(r) ? nlohmann::json(r) : nlohmann::json("inf");
}

}  // namespace

bool AuditReport::passed() const {
  for (const auto& f : findings)
    if (f.cls == FindingClass::Violation) return false;
  return true;
}

std::string report_json(const AuditReport& r) {
  nlohmann::json j;
  j["verdict"] = r.passed() ? "pass" : "fail";
  j["optimizer"] = r.optimizer;
  j["claims"] = r.claims.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.claims);
  j["cases"] = r.cases;
  j["skipped"] = r.skipped;
  j["seconds"] = r.seconds;
  j["unchecked"] = r.unchecked;
  j["notes"] = r.notes;
  j["findings"] = nlohmann::json::array();
  for (const auto& f : r.findings)
    j["findings"].push_back({{"property", f.property},
                             {"class", to_string(f.cls)},
                             {"message", f.message},
                             {"counterexample", f.counterexample},
                             {"reproduce", f.reproduce},
                             {"count", f.count}});
  j["drift"] = {
      {"budget",
       "trajectory budget (reference/budget.h): per step 32 u (|w| + |absolute-run update| + "
       "condition) plus 32 u_double times the condition in the coefficients, times the rule's "
       "amplification, summed over steps, plus 128 (u/u_wide) times the same run's error in the "
       "next wider type"},
      {"worst_ratio_float64", ratio(r.worst_ratio_f64)}};
  if (r.has_f32) j["drift"]["worst_ratio_float32"] = ratio(r.worst_ratio_f32);
  return j.dump(2);
}

std::string report_junit(const std::vector<AuditReport>& reports) {
  int tests = 0, failures = 0;
  std::string suites;
  for (const auto& r : reports) {
    // A testcase per property: every vector property, the model freeze, and any property a
    // finding names (the checks under which crashes and hangs are reported).
    std::vector<std::string> names = vector_property_names();
    names.push_back("freeze(model)");
    for (const auto& f : r.findings)
      if (std::find(names.begin(), names.end(), f.property) == names.end()) names.push_back(f.property);
    int suite_failures = 0;
    std::string cases;
    for (const auto& name : names) {
      std::string failure, out;
      for (const auto& f : r.findings) {
        if (f.property != name) continue;
        const std::string detail =
            f.message + "\ncounterexample: " + f.counterexample + "\nreproduce: " + f.reproduce;
        if (f.cls == FindingClass::Violation && failure.empty())
          failure = "      <failure type=\"violation\" message=\"" + xml(f.message) + "\">" + xml(detail) +
                    "</failure>\n";
        else
          out += to_string(f.cls) + ": " + detail + "\n";
      }
      if (!failure.empty()) ++suite_failures;
      cases += "    <testcase classname=\"" + xml(r.optimizer) + "\" name=\"" + xml(name) + "\">\n" +
               failure + (out.empty() ? "" : "      <system-out>" + xml(out) + "</system-out>\n") +
               "    </testcase>\n";
    }
    tests += static_cast<int>(names.size());
    failures += suite_failures;
    suites += "  <testsuite name=\"" + xml(r.optimizer) + "\" tests=\"" + std::to_string(names.size()) +
              "\" failures=\"" + std::to_string(suite_failures) + "\" errors=\"0\" skipped=\"0\" time=\"" +
              format("%.3f", r.seconds) + "\">\n    <properties>\n      <property name=\"claims\" value=\"" +
              xml(r.claims) + "\"/>\n      <property name=\"cases\" value=\"" + std::to_string(r.cases) +
              "\"/>\n    </properties>\n" + cases + "  </testsuite>\n";
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"zerolr-audit\" tests=\"" +
         std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\">\n" + suites +
         "</testsuites>\n";
}

std::string report_text(const AuditReport& r) {
  std::string s = "\n" + r.optimizer + (r.claims.empty() ? "" : "  (claims " + r.claims + ")") + "\n";
  s += "  " + std::to_string(r.cases) + " cases in " + format("%.2f", r.seconds) + " s";
  if (r.skipped > 0) s += " (" + std::to_string(r.skipped) + " skipped after repeated hangs)";
  s += "; verdict: " + std::string(r.passed() ? "pass" : "FAIL") + "\n";
  s += "  worst trajectory error / budget: float64 " + format("%.3g", r.worst_ratio_f64) +
       (r.has_f32 ? ", float32 " + format("%f", r.worst_ratio_f32) : std::string(" (no float path)")) + "\n";
  for (const auto& u : r.unchecked) s += "  unchecked option: " + u + "\n";
  for (const auto& n : r.notes) s += "  note: " + n + "\n";
  if (r.findings.empty()) return s + "  no findings\n";
  char line[512];
  std::snprintf(line, sizeof line, "  %-14s %-10s %s\n", "property", "class", "finding");
  s += line;
  for (const auto& f : r.findings) {
    const std::string message =
        f.message + (f.count > 1 ? " (seen " + std::to_string(f.count) + " times)" : "");
    std::snprintf(line, sizeof line, "  %-14s %-10s %s\n", f.property.c_str(), to_string(f.cls).c_str(),
                  clip(message, 160).c_str());
    s += line;
    std::snprintf(line, sizeof line, "  %-14s %-10s counterexample: %s\n", "", "",
                  clip(f.counterexample, 200).c_str());
    s += line;
    std::snprintf(line, sizeof line, "  %-14s %-10s reproduce: %s\n", "", "", clip(f.reproduce, 200).c_str());
    s += line;
  }
  return s;
}

}  // namespace zerolr
