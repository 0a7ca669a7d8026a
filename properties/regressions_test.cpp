// Replays every saved counterexample in regressions/ through its property.
// File format (regressions/README.md): line 1 the property name, line 2 the case token.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "zerolr/audit/case.h"
#include "zerolr/audit/properties.h"

namespace {

std::vector<std::filesystem::path> regression_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(ZEROLR_REGRESSIONS_DIR))
    if (e.is_regular_file() && e.path().extension() == ".token") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Regressions, EverySavedCaseHoldsUnderItsProperty) {
  const auto files = regression_files();
  ASSERT_FALSE(files.empty()) << "no .token files in " << ZEROLR_REGRESSIONS_DIR;
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    std::ifstream in(path);
    std::string property, token;
    ASSERT_TRUE(std::getline(in, property) && std::getline(in, token)) << "needs two lines";
    const zerolr::Case c = zerolr::parse_token(token);
    const zerolr::Verdict v = zerolr::run_property(property, c);
    std::cout << "[ replay   ] " << path.filename().string() << ": " << property << " on "
              << zerolr::describe(c) << "\n";
    EXPECT_TRUE(v.applicable) << property << " does not apply to " << zerolr::describe(c);
    EXPECT_TRUE(v.holds()) << property << ": " << v.first_violation() << "\n  " << zerolr::describe(c);
  }
}

}  // namespace
