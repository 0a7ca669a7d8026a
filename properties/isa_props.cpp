// zerolr/kernels.h promises the same bits on every instruction set. tests/nn/kernels_test.cpp
// checks each kernel against a scalar loop; this property checks whole training runs over
// the suite's full case space (every layer kind, optimizer, regime, lr shape and non-finite
// policy, float and double): every parameter, buffer, loss and error message must be
// identical under each supported ISA. On a CPU with only the generic set it checks what it
// can, that two runs give the same bits, and tags the cases "one ISA" so the report says so.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gen/case_gen.h"
#include "zerolr/kernels.h"
#include "zerolr/train/trainer.h"

namespace {

using namespace zerolr;

// Everything a run leaves behind, as bits.
struct Outcome {
  std::vector<std::uint64_t> bits;  ///< parameters, buffers, then the loss histories
  std::string error;                ///< what fit() threw, if anything (the Raise policy)

  bool operator==(const Outcome&) const = default;
};

// A NaN counts as one value: IEEE 754 leaves the payload and sign of a NaN result open, and
// x86 FMA forms propagate different operands' NaNs (kernels.h promises bits of numbers).
template <class T>
void append_bits(std::vector<std::uint64_t>& out, const T* v, Index n) {
  for (Index i = 0; i < n; ++i) {
    std::uint64_t b = 0;
    if (std::isnan(v[i]))
      b = ~std::uint64_t{0};
    else
      std::memcpy(&b, v + i, sizeof(T));
    out.push_back(b);
  }
}

template <class T>
Outcome train(const Case& c) {
  Sequential<T> model(c.arch, c.model_seed);
  auto opt = make_optimizer<T>(with_lr(c.optimizer, 1.0));
  Trainer<T> trainer(model, c.loss, *opt, train_options(c));
  const Dataset<T> training{c.train.x.cast<T>(), c.train.y.cast<T>(), {}, ""};
  const Dataset<T> test{c.test.x.cast<T>(), c.test.y.cast<T>(), {}, ""};
  Outcome o;
  History<T> h;
  try {
    h = trainer.fit(training, &test);
  } catch (const std::exception& e) {
    o.error = e.what();
    // The message prints a NaN gradient with its sign, which is not a number's bit either.
    for (std::size_t at = o.error.find("-nan"); at != std::string::npos; at = o.error.find("-nan", at))
      o.error.erase(at, 1);
  }
  for (const auto& p : model.parameters()) append_bits(o.bits, p.value->data(), p.value->size());
  for (const auto& b : model.buffers()) append_bits(o.bits, b.value->data(), b.value->size());
  append_bits(o.bits, h.train_loss.data(), static_cast<Index>(h.train_loss.size()));
  append_bits(o.bits, h.test_loss.data(), static_cast<Index>(h.test_loss.size()));
  return o;
}

Outcome train_any(const Case& c) { return c.scalar == Scalar::Float ? train<float>(c) : train<double>(c); }

void check_same_bits_on_every_isa(const Case& c) {
  std::vector<kernels::Isa> isas = kernels::supported_isas();
  if (isas.size() == 1) {
    RC_TAG("one ISA: run-to-run determinism only");
    isas.push_back(isas.front());
  }
  const kernels::Isa saved = kernels::active_isa();
  std::vector<Outcome> runs;
  for (kernels::Isa isa : isas) {
    kernels::set_isa(isa);
    runs.push_back(train_any(c));
  }
  kernels::set_isa(saved);
  RC_TAG(c.scalar == Scalar::Float ? "float" : "double", runs.front().error.empty() ? "completed" : "raised");
  for (std::size_t k = 1; k < runs.size(); ++k) {
    if (runs[k] == runs.front()) continue;
    std::size_t at = 0;
    while (at < runs[k].bits.size() && at < runs.front().bits.size() && runs[k].bits[at] == runs.front().bits[at])
      ++at;
    RC_FAIL(kernels::to_string(isas[k]) + " and " + kernels::to_string(isas.front()) + " differ (first at word " +
            std::to_string(at) + " of " + std::to_string(runs.front().bits.size()) + "; errors '" + runs[k].error +
            "' and '" + runs.front().error + "') on\n  " + describe(c) + "\n  token: " + to_token(c));
  }
}

}  // namespace

/// Every case the suite generates, with finite data.
RC_GTEST_PROP(Isa, EveryInstructionSetTrainsToTheSameBits, ()) {
  zerolr::gen::CaseOptions o;
  o.max_train = 24;
  check_same_bits_on_every_isa(*zerolr::gen::genCase(o));
}

/// Cases with NaN and infinity in the data, under every non-finite policy.
RC_GTEST_PROP(Isa, EveryInstructionSetTrainsToTheSameBitsWithNonFiniteData, ()) {
  zerolr::gen::CaseOptions o;
  o.max_train = 24;
  check_same_bits_on_every_isa(*zerolr::gen::genNonFiniteCase(o));
}
