#pragma once
/// \file
/// A small, fully specified random number generator. The standard library's
/// distributions are implementation-defined, so zerolr derives every random value from
/// splitmix64 bits with formulas written here: a seed reproduces the same run anywhere.

#include <cstdint>

namespace zerolr {

/// splitmix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by a Weyl sequence.
/// ensures: the sequence depends on the seed only.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : state_(seed) {}

  /// The next 64 random bits.
  std::uint64_t next_u64();

  /// Uniform in [0, 1), with 53 random bits.
  double uniform();

  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [0, n). requires: n > 0. Unbiased (rejection sampling).
  std::uint64_t below(std::uint64_t n);

  /// Standard normal by Box-Muller (the second value is discarded, so no hidden state).
  double normal();

  /// A new independent stream, derived from this one's next output.
  Rng split() { return Rng(next_u64() ^ 0x9E3779B97F4A7C15ULL); }

  std::uint64_t state() const { return state_; }

 private:
  std::uint64_t state_;
};

/// Mixes a key into a seed: stateless hashing for per-element randomness (dropout masks).
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t key);

}  // namespace zerolr
