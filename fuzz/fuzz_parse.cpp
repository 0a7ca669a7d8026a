// fuzz_parse: every text parser of the library on arbitrary bytes. The first byte says which
// parser gets the rest ('O' optimizer spec, 'A' architecture, 'L' loss, 'S' schedule, 'C' case
// token, 'V' vector token, 'D'/'F' CSV in double/float whose first line names the target
// column, 'P' a non-finite policy and regime name; any other byte selects one by its value).
// Bad input must give a zerolr::Error; anything else that escapes (std::out_of_range,
// std::bad_alloc, ...), a crash or UB is a finding. Whatever parses must print back to text
// that parses to the same thing.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include "fuzz_common.h"
#include "zerolr/nn/layer.h"
#include "zerolr/nn/loss.h"
#include "zerolr/optim/schedule.h"
#include "zerolr/optim/spec.h"
#include "zerolr/train/csv.h"

namespace {

using zerolr::fuzz::fail;

template <class T>
void csv(const std::string& text) {
  const std::size_t nl = text.find('\n');
  const std::string target = text.substr(0, nl);
  std::istringstream in(nl == std::string::npos ? std::string() : text.substr(nl + 1));
  const zerolr::Dataset<T> d = zerolr::read_csv<T>(in, target, "<fuzz>");
  d.validate();
  if (d.size() < 1) fail("read_csv returned no rows without an error");
  for (zerolr::Index i = 0; i < d.x.size(); ++i)
    if (!std::isfinite(d.x.data()[i])) fail("read_csv returned a non-finite feature");
}

void parse_one(char kind, const std::string& text) {
  switch (kind) {
    case 'O': {
      const zerolr::OptimizerSpec s = zerolr::parse_optimizer_spec(text);
      if (!(zerolr::parse_optimizer_spec(zerolr::to_string(s)) == s))
        fail("optimizer spec does not round-trip", text + " -> " + zerolr::to_string(s));
      break;
    }
    case 'A': {
      const zerolr::Architecture a = zerolr::Architecture::parse(text);
      if (!(zerolr::Architecture::parse(a.to_string()) == a))
        fail("architecture does not round-trip", text + " -> " + a.to_string());
      break;
    }
    case 'L': {
      const zerolr::LossSpec l = zerolr::LossSpec::parse(text);
      if (!(zerolr::LossSpec::parse(l.to_string()) == l)) fail("loss does not round-trip", text + " -> " + l.to_string());
      break;
    }
    case 'S': {
      const zerolr::Schedule s = zerolr::Schedule::parse(text);
      const std::string printed = s.to_string();
      if (zerolr::Schedule::parse(printed).to_string() != printed)
        fail("schedule does not round-trip", text + " -> " + printed);
      for (std::int64_t t : {std::int64_t{0}, std::int64_t{1}, std::int64_t{7}, std::int64_t{1} << 40}) {
        const double f = s.factor(t);
        if (!(f >= 0) || !std::isfinite(f))
          fail("schedule factor is not finite and >= 0", printed + " at t = " + std::to_string(t));
      }
      break;
    }
    case 'C': {
      const zerolr::Case c = zerolr::parse_token(text);
      const std::string token = zerolr::to_token(c);
      if (zerolr::to_token(zerolr::parse_token(token)) != token) fail("case token does not round-trip", token);
      (void)zerolr::describe(c);
      break;
    }
    case 'V': {
      const zerolr::VectorCase vc = zerolr::VectorCase::parse(text);
      if (zerolr::VectorCase::parse(vc.token()).token() != vc.token())
        fail("vector token does not round-trip", vc.token());
      break;
    }
    case 'D':
      csv<double>(text);
      break;
    case 'F':
      csv<float>(text);
      break;
    default: {  // 'P'
      const auto policy = zerolr::parse_non_finite_policy(text);
      if (zerolr::parse_non_finite_policy(zerolr::to_string(policy)) != policy) fail("policy does not round-trip");
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr char kKinds[] = "OALSCVDFP";
  char kind = static_cast<char>(data[0]);
  if (std::strchr(kKinds, kind) == nullptr || kind == '\0') kind = kKinds[data[0] % (sizeof(kKinds) - 1)];
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    parse_one(kind, text);
  } catch (const zerolr::Error&) {
    // Rejected by name: what bad input must give. The regime parser shares the 'P' inputs.
  }
  if (kind == 'P') {
    try {
      (void)zerolr::parse_regime(text);
    } catch (const zerolr::Error&) {
    }
  }
  return 0;
}
