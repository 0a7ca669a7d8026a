// fuzz_train: a whole training case (architecture, loss, optimizer, lr sequence, data, scalar)
// decoded from the bytes, run through the library's trainer and judged by the suite's own
// properties: the eta = 0 freeze always, and one more property the bytes choose.
// A violation, a crash, UB or an exception other than zerolr::Error from a valid case is a
// finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"

namespace {

void judge(const zerolr::Verdict& v, const zerolr::Case& c) {
  if (v.applicable && !v.holds())
    zerolr::fuzz::fail("property " + v.property + ": " + v.first_violation(),
                       "case: " + zerolr::describe(c) + "\n==zerolr-fuzz== reproduce: " + zerolr::to_token(c));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider p(data, size);
  static const std::vector<std::string> names = zerolr::property_names();
  const std::string extra = names[p.ConsumeIntegralInRange<std::size_t>(0, names.size() - 1)];
  zerolr::Case c;
  try {
    c = zerolr::fuzz::consume_case(p);
  } catch (const zerolr::Error&) {
    return -1;  // the bytes describe an invalid case: not added to the corpus
  }
  // The case must survive its own token (the form every finding is reported in).
  const std::string token = zerolr::to_token(c);
  if (zerolr::to_token(zerolr::parse_token(token)) != token)
    zerolr::fuzz::fail("a case's token does not round-trip", "token: " + token);
  try {
    judge(zerolr::prop_freeze(c), c);
    if (extra != "freeze") judge(zerolr::run_property(extra, c), c);
  } catch (const zerolr::Error& e) {
    zerolr::fuzz::fail(std::string("a property threw on a valid case: ") + e.what(),
                       "case: " + zerolr::describe(c) + "\n==zerolr-fuzz== reproduce: " + token);
  }
  return 0;
}
