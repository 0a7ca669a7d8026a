// exp, expm1, log, log1p, tanh and pow in double-double (zerolr/scalar/double_double.h).
//
// Each function is built from the basic operations (each within 7u^2 or 15u^2, u = 2^-53) and
// double's libm only for a first approximation that a double-double correction then fixes:
//
//   reduction: x = (64 m + j) ln2/64 + r, |j| <= 32, |r| <= ln2/128, with ln2/64 as three
//       doubles (N ln2/64's first two parts are exact products, so r carries no error from
//       the reduction beyond 2^-150).
//   expm1(r) for |r| <= ln2/128: its Taylor series (expm1_taylor).
//   exp(x) = 2^m (T_j + T_j expm1(r)), T_j = 2^(j/64) from a table (400-bit MPFR, rounded
//       to double-double).
//   expm1(x) for |x| <= ln2/2: (T_j - 1) + T_j expm1(r), T_j - 1 tabulated too; for larger
//       |x|: exp(x) - 1 (no cancellation: exp(x) >= 1.41 or <= 0.71).
//   log(x) for x outside (1/2, 2): one Newton step y = y0 + t - t^2/2, t = x exp(-y0) - 1,
//       from y0 = log(double x); inside: log1p(x - 1), x - 1 being exact.
//   log1p(x) for -1/2 < x < 1: one Newton step on expm1 from y0 = log1p(double x):
//       y = y0 + (x - e)/(1 + e), e = expm1(y0); elsewhere log(1 + x), which is exact for
//       x <= -1/2 (Sterbenz) and >= 2 for x >= 1 (so log never comes back here). Near -1 the
//       Newton step would divide e's error by 1 + x.
//   tanh(x) = e / (e + 2), e = expm1(2|x|), with x's sign; |x| > 40 gives +-1 exactly
//       (1 - tanh(40) < 2^-114).
//   pow(a, b) = exp(b log a); negative a only for integral b.
//
// Measured against float128 (tests/scalar/double_double_test.cpp): every function within
// dd::kFunctionError = 2^-100 relative (pow within 2^-100 (1 + |b log a|)). A finite argument
// whose result leaves the safe range counts a range exit; NaN and infinite arguments and
// domain errors (log(0), log(-1)) give IEEE's answer, as float128 does, without one.

#include <cmath>

#include "zerolr/scalar/double_double.h"

namespace zerolr {
namespace {

using DD = DoubleDouble;

constexpr double kLn2[3] = {0x1.62e42fefa39efp-1, 0x1.abc9e3b39803fp-56, 0x1.7b57a079a1934p-111};
// 1/k! as double-double (hi, lo), k = 0 .. 11, from 400-bit MPFR.
constexpr double kInvFact[12][2] = {
    {1, 0},
    {1, 0},
    {0x1p-1, 0},
    {0x1.5555555555555p-3, 0x1.5555555555555p-57},
    {0x1.5555555555555p-5, 0x1.5555555555555p-59},
    {0x1.1111111111111p-7, 0x1.1111111111111p-63},
    {0x1.6c16c16c16c17p-10, -0x1.f49f49f49f49fp-65},
    {0x1.a01a01a01a01ap-13, 0x1.a01a01a01a01ap-73},
    {0x1.a01a01a01a01ap-16, 0x1.a01a01a01a01ap-76},
    {0x1.71de3a556c734p-19, -0x1.c154f8ddc6cp-73},
    {0x1.27e4fb7789f5cp-22, 0x1.cbbc05b4fa99ap-76},
    {0x1.ae64567f544e4p-26, -0x1.c062e06d1f209p-80},
};
// ln2/64 as three doubles (400-bit MPFR); N ln2/64's first two parts are exact products.
constexpr double kLn2By64[3] = {0x1.62e42fefa39efp-7, 0x1.abc9e3b39803fp-62, 0x1.7b57a079a1934p-117};
// 2^(j/64) for j = -32 .. 32
constexpr double kExp2[65][2] = {
    {0x1.6a09e667f3bcdp-1, -0x1.bdd3413b26456p-55},
    {0x1.6dfb23c651a2fp-1, -0x1.bbe3a683c88abp-58},
    {0x1.71f75e8ec5f74p-1, -0x1.16e4786887a99p-56},
    {0x1.75feb564267c9p-1, -0x1.0245957316dd3p-55},
    {0x1.7a11473eb0187p-1, -0x1.41577ee04992fp-56},
    {0x1.7e2f336cf4e62p-1, 0x1.05d02ba15797ep-57},
    {0x1.82589994cce13p-1, -0x1.d4c1dd41532d8p-55},
    {0x1.868d99b4492edp-1, -0x1.fc6f89bd4f6bap-55},
    {0x1.8ace5422aa0dbp-1, 0x1.6e9f156864b27p-55},
    {0x1.8f1ae99157736p-1, 0x1.5cc13a2e3976cp-56},
    {0x1.93737b0cdc5e5p-1, -0x1.75fc781b57ebcp-58},
    {0x1.97d829fde4e5p-1, -0x1.d185b7c1b85d1p-55},
    {0x1.9c49182a3f09p-1, 0x1.c7c46b071f2bep-57},
    {0x1.a0c667b5de565p-1, -0x1.359495d1cd533p-55},
    {0x1.a5503b23e255dp-1, -0x1.d2f6edb8d41e1p-55},
    {0x1.a9e6b5579fdbfp-1, 0x1.0fac90ef7fd31p-55},
    {0x1.ae89f995ad3adp-1, 0x1.7a1cd345dcc81p-55},
    {0x1.b33a2b84f15fbp-1, -0x1.2805e3084d708p-58},
    {0x1.b7f76f2fb5e47p-1, -0x1.5584f7e54ac3bp-57},
    {0x1.bcc1e904bc1d2p-1, 0x1.23dd07a2d9e84p-56},
    {0x1.c199bdd85529cp-1, 0x1.11065895048ddp-56},
    {0x1.c67f12e57d14bp-1, 0x1.2884dff483cadp-55},
    {0x1.cb720dcef9069p-1, 0x1.503cbd1e949dbp-57},
    {0x1.d072d4a07897cp-1, -0x1.cbc3743797a9cp-55},
    {0x1.d5818dcfba487p-1, 0x1.2ed02d75b3707p-56},
    {0x1.da9e603db3285p-1, 0x1.c2300696db532p-55},
    {0x1.dfc97337b9b5fp-1, -0x1.1a5cd4f184b5cp-55},
    {0x1.e502ee78b3ff6p-1, 0x1.39e8980a9cc8fp-56},
    {0x1.ea4afa2a490dap-1, -0x1.e9c23179c2893p-55},
    {0x1.efa1bee615a27p-1, 0x1.dc7f486a4b6bp-55},
    {0x1.f50765b6e454p-1, 0x1.9d3e12dd8a18bp-55},
    {0x1.fa7c1819e90d8p-1, 0x1.74853f3a5931ep-56},
    {0x1p+0, 0x0p+0},
    {0x1.02c9a3e778061p+0, -0x1.19083535b085dp-56},
    {0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55},
    {0x1.0874518759bc8p+0, 0x1.186be4bb284ffp-57},
    {0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54},
    {0x1.0e3ec32d3d1a2p+0, 0x1.03a1727c57b53p-59},
    {0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54},
    {0x1.1429aaea92dep+0, -0x1.32fbf9af1369ep-54},
    {0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55},
    {0x1.1a35beb6fcb75p+0, 0x1.e5b4c7b4968e4p-55},
    {0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54},
    {0x1.2063b88628cd6p+0, 0x1.dc775814a8495p-55},
    {0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54},
    {0x1.26b4565e27cddp+0, 0x1.2bd339940e9d9p-55},
    {0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55},
    {0x1.2d285a6e4030bp+0, 0x1.0024754db41d5p-54},
    {0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55},
    {0x1.33c08b26416ffp+0, 0x1.32721843659a6p-54},
    {0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54},
    {0x1.3a7db34e59ff7p+0, -0x1.5e436d661f5e3p-56},
    {0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55},
    {0x1.4160a21f72e2ap+0, -0x1.ef3691c309278p-58},
    {0x1.44e086061892dp+0, 0x1.89b7a04ef80dp-59},
    {0x1.486a2b5c13cdp+0, 0x1.3c1a3b69062fp-56},
    {0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56},
    {0x1.4f9b2769d2ca7p+0, -0x1.4b309d25957e3p-54},
    {0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55},
    {0x1.56f4736b527dap+0, 0x1.9bb2c011d93adp-54},
    {0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54},
    {0x1.5e76f15ad2148p+0, 0x1.ba6f93080e65ep-54},
    {0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54},
    {0x1.6623882552225p+0, -0x1.bb60987591c34p-54},
    {0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54},
};
// 2^(j/64) - 1 for j = -32 .. 32
constexpr double kExp2m1[65][2] = {
    {-0x1.2bec333018867p-2, 0x1.08b2fb1366ea9p-57},
    {-0x1.2409b8735cba2p-2, -0x1.bbe3a683c88abp-58},
    {-0x1.1c1142e274118p-2, -0x1.16e4786887a99p-56},
    {-0x1.14029537b306fp-2, 0x1.fb74d519d2459p-56},
    {-0x1.0bdd71829fcf2p-2, -0x1.41577ee04992fp-56},
    {-0x1.03a199261633cp-2, 0x1.05d02ba15797ep-57},
    {-0x1.f69d99accc7b6p-3, 0x1.59f115f56694p-58},
    {-0x1.e5c9992edb44ep-3, 0x1.c83b21584a2e1p-62},
    {-0x1.d4c6af7557c93p-3, 0x1.ba7c55a192c9cp-57},
    {-0x1.c39459baa2327p-3, -0x1.467d8ba38d128p-57},
    {-0x1.b23213cc8e86cp-3, -0x1.75fc781b57ebcp-58},
    {-0x1.a09f58086c6c2p-3, 0x1.73d241f23d17bp-58},
    {-0x1.8edb9f5703dcp-3, 0x1.c7c46b071f2bep-57},
    {-0x1.7ce6612886a6dp-3, -0x1.aca4ae8e6a997p-58},
    {-0x1.6abf137076a8ep-3, 0x1.684892395f0f8p-58},
    {-0x1.58652aa180903p-3, 0x1.f5921deffa626p-60},
    {-0x1.45d819a94b14bp-3, 0x1.e8734d1773206p-57},
    {-0x1.331751ec3a814p-3, -0x1.2805e3084d708p-58},
    {-0x1.20224341286e4p-3, -0x1.5584f7e54ac3bp-57},
    {-0x1.0cf85bed0f8b7p-3, -0x1.b845f0ba4c2f7p-57},
    {-0x1.f332113d56b1fp-4, 0x1.1065895048dd3p-60},
    {-0x1.cc0768d4175a6p-4, 0x1.4426ffa41e566p-58},
    {-0x1.a46f918837cb7p-4, -0x1.5f8685c2d6c49p-58},
    {-0x1.7c695afc3b424p-4, 0x1.a1e45e4342b1cp-58},
    {-0x1.53f391822dbc7p-4, 0x1.76816bad9b837p-59},
    {-0x1.2b0cfe1266bd4p-4, -0x1.ee7fcb492566dp-58},
    {-0x1.01b466423250ap-4, -0x1.a5cd4f184b5b9p-59},
    {-0x1.afd11874c009ep-5, 0x1.cf44c054e647ap-59},
    {-0x1.5b505d5b6f268p-5, 0x1.63dce863d76ccp-59},
    {-0x1.05e4119ea5d89p-5, 0x1.c7f486a4b6b08p-59},
    {-0x1.5f134923757f3p-6, -0x1.60f6913af3a8ap-62},
    {-0x1.60f9f985bc9f4p-7, -0x1.6f5818b4d9c3ep-61},
    {0x0p+0, 0x0p+0},
    {0x1.64d1f3bc03077p-7, 0x1.bdf2b293de8a7p-62},
    {0x1.66c34c5615d0fp-6, -0x1.183ab7149735cp-60},
    {0x1.0e8a30eb37901p-5, 0x1.86be4bb284ff4p-61},
    {0x1.6ab0d9f3121ecp-5, 0x1.4c5c95b8c2155p-59},
    {0x1.c7d865a7a344p-5, 0x1.03a1727c57b53p-59},
    {0x1.1301d0125b50ap-4, 0x1.3aefc6bb64c63p-58},
    {0x1.429aaea92ddfbp-4, 0x1.a080ca1d92c37p-59},
    {0x1.72b83c7d517aep-4, -0x1.9041b9d78a75bp-59},
    {0x1.a35beb6fcb754p-4, -0x1.a4b384b6971bep-59},
    {0x1.d4873168b9aa8p-4, -0x1.fe91ff5d9bc3ep-58},
    {0x1.031dc431466b2p-3, -0x1.1c453f5abdb59p-58},
    {0x1.1c3d373ab11c3p-3, 0x1.b07eb6c70572dp-58},
    {0x1.35a2b2f13e6e9p-3, 0x1.5e99cca074ec9p-58},
    {0x1.4f4efa8fef709p-3, 0x1.84ba2beb44954p-57},
    {0x1.6942d3720185ap-3, 0x1.23aa6da0ea709p-65},
    {0x1.837f0518db8a9p-3, 0x1.bd1ab48c60b91p-57},
    {0x1.9e0459320b7fap-3, 0x1.9390c21b2cd2dp-57},
    {0x1.b8d39b9d54e55p-3, 0x1.c51540bd151e6p-58},
    {0x1.d3ed9a72cffb7p-3, 0x1.43792533c143ap-57},
    {0x1.ef5326091a112p-3, -0x1.497dbb83d8512p-57},
    {0x1.0582887dcb8a8p-2, -0x1.ef3691c309278p-58},
    {0x1.13821818624b4p-2, 0x1.89b7a04ef80dp-59},
    {0x1.21a8ad704f34p-2, 0x1.3c1a3b69062fp-56},
    {0x1.2ff6b54d8a89cp-2, 0x1.d4397afec42e2p-56},
    {0x1.3e6c9da74b29bp-2, -0x1.2cc2749655f8cp-56},
    {0x1.4d0ad5a753e07p-2, 0x1.f0a83c49d86a6p-56},
    {0x1.5bd1cdad49f6ap-2, -0x1.9134ffb89b14cp-56},
    {0x1.6ac1f752150a5p-2, 0x1.8c93015191eb3p-56},
    {0x1.79dbc56b48522p-2, -0x1.1641b3dfc668ap-56},
    {0x1.891fac0e95613p-2, -0x1.c1e0bf205a4b8p-57},
    {0x1.988e209548892p-2, 0x1.127d9e29b8f31p-56},
    {0x1.a827999fcef32p-2, 0x1.08b2fb1366ea9p-56},
};

constexpr double kExpOverflow = 709.782712893384;  // log(DBL_MAX)
constexpr double kExpUnderflow = -745.2;           // below: exp rounds to 0 in double

// Arguments below this magnitude: each function is its first Taylor term(s) to within 2^-107.
constexpr double kTiny = 0x1p-107;

// k ln2 in double-double: the first two parts of ln2 times k are exact products.
DD ln2_times(double k) {
  double p1, e1, p2, e2;
  dd::two_prod(k, kLn2[0], p1, e1);
  dd::two_prod(k, kLn2[1], p2, e2);
  return (DD::raw(p1, e1) + DD::raw(p2, e2)) + DD(k * kLn2[2]);
}

DD inv_fact(int k) { return DD::raw(kInvFact[k][0], kInvFact[k][1]); }

// IEEE's answer where float128 gives the same one (a NaN or infinite argument, log(0),
// log of a negative): no range exit.
DD ieee(double v) { return DD::raw(v, 0.0); }
// A finite argument whose result double-double cannot hold (exp(800)): a range exit.
DD exit_with(double v) {
  ++dd::range_exit_count;
  return DD::raw(v, 0.0);
}

// x = N ln2/64 + r, |r| <= ln2/128 (plus rounding), N = nearbyint(x 64/ln2).
DD reduce(const DD& x, double& n) {
  n = std::nearbyint(x.hi() * (64 / kLn2[0]));
  double p1, e1, p2, e2;
  dd::two_prod(n, kLn2By64[0], p1, e1);
  dd::two_prod(n, kLn2By64[1], p2, e2);
  return ((x - DD::raw(p1, e1)) - DD::raw(p2, e2)) - DD(n * kLn2By64[2]);
}

// expm1(r) for |r| <= ln2/128: Taylor, r .. r^6/6! in double-double, r^7/7! ..
// r^11/11! in double (their rounding is below 2^-106 of r: r^6/7! < 2^-57); truncation
// leaves r^11/12! < 2^-110 of r.
DD expm1_taylor(const DD& r) {
  const double x = r.hi();
  // Below 2^-107, r itself is expm1(r) to within r/2 < 2^-108 relative (and r^2 would
  // underflow for nothing).
  if (std::fabs(x) < kTiny) return r;
  double tail = kInvFact[11][0];
  for (int k = 10; k >= 7; --k) tail = kInvFact[k][0] + x * tail;
  // Estrin's scheme, not Horner's: r^2 and the three pairs below are independent, so the
  // chain of dependent double-double operations is 7 long instead of 13.
  const DD r2 = r * r;
  const DD a = ldexp(r, -1) + 1.0;            // 1 + r/2
  const DD b = inv_fact(3) + r * inv_fact(4);  // 1/3! + r/4!
  const DD c = inv_fact(5) + r * inv_fact(6);  // 1/5! + r/6!
  DD q = c + r2 * tail;
  q = b + r2 * q;
  q = a + r2 * q;
  return r * q;  // r + r^2/2! + ... + r^11/11!
}

DD table(const double (&t)[65][2], int j) { return DD::raw(t[j + 32][0], t[j + 32][1]); }

}  // namespace

DD exp(const DD& a) {
  const double h = a.hi();
  if (std::isnan(h) || h == HUGE_VAL) return ieee(h);
  if (h == -HUGE_VAL) return ieee(0.0);
  if (h > kExpOverflow) return exit_with(HUGE_VAL);
  if (h < kExpUnderflow) return exit_with(0.0);  // an underflow to zero
  if (std::fabs(h) < kTiny) return DD(1) + a;  // e^x = 1 + x to within x^2
  double n;
  const DD r = reduce(a, n);
  const double m = std::nearbyint(n / 64);
  const int j = static_cast<int>(n - 64 * m);  // -32 .. 32
  const DD t = table(kExp2, j);
  return ldexp(t + t * expm1_taylor(r), static_cast<int>(m));
}

DD expm1(const DD& a) {
  const double h = a.hi();
  if (std::isnan(h) || h == HUGE_VAL) return ieee(h);
  if (h == -HUGE_VAL) return ieee(-1.0);
  if (h == 0 || std::fabs(h) < kTiny) return a;  // keeps -0; expm1(x) = x to within x/2
  if (std::fabs(h) <= 0.5 * kLn2[0]) {
    // 2^(j/64) e^r - 1 = (2^(j/64) - 1) + 2^(j/64) expm1(r), |j| <= 32: the two terms never
    // cancel by more than half (|2^(j/64) - 1| >= 0.0108 > 2 |expm1(r)| for j != 0).
    double n;
    const DD r = reduce(a, n);
    const int j = static_cast<int>(n);
    if (j == 0) return expm1_taylor(r);
    return table(kExp2m1, j) + table(kExp2, j) * expm1_taylor(r);
  }
  if (h > kExpOverflow) return exit_with(HUGE_VAL);
  if (h < -80) return DD(-1);  // -1 + e^h with e^h < 2^-115: -1 to within 2^-115
  return exp(a) + (-1.0);  // DWPlusFP: the constant is a double
}

DD log1p(const DD& a) {
  const double h = a.hi();
  if (std::isnan(h) || h == HUGE_VAL) return ieee(h);
  if (h == 0 || std::fabs(h) < kTiny) return a;  // keeps -0; log1p(x) = x to within x/2
  if (a <= DD(-1)) return ieee(a == DD(-1) ? -HUGE_VAL : std::nan(""));
  if (h > -0.5 && h < 1) {
    const DD y0(std::log1p(h));
    const DD e = expm1(y0);
    return y0 + (a - e) / (DD(1) + e);
  }
  return log(DD(1) + a);
}

DD log(const DD& a) {
  const double h = a.hi();
  if (std::isnan(h) || !(h > 0) || h == HUGE_VAL) {
    if (h == 0) return ieee(-HUGE_VAL);
    return ieee(h == HUGE_VAL ? h : std::nan(""));
  }
  if (h > 0.5 && h < 2) return log1p(a - DD(1));  // a - 1 is exact here
  if (h < 0x1p-500 || h > 0x1p500) {
    // log(a) = log(a 2^-e) + e ln2 with a 2^-e in [1, 2): exp(-y0) below would leave the
    // safe range for a near its ends.
    const int e = std::ilogb(h);
    return log(ldexp(a, -e)) + ln2_times(static_cast<double>(e));
  }
  const double y0 = std::log(h);
  const DD t = a * exp(DD(-y0)) - DD(1);
  return (DD(y0) + t) - DD(0.5 * t.hi() * t.hi());
}

DD tanh(const DD& a) {
  const double h = a.hi();
  if (std::isnan(h)) return ieee(h);
  if (h == 0 || std::fabs(h) < 0x1p-54) return a;  // keeps -0; tanh(x) = x to within x^2/3
  const bool negative = h < 0;
  if (std::fabs(h) > 40) return DD(negative ? -1.0 : 1.0);
  const DD e = expm1(ldexp(negative ? -a : a, 1));
  const DD t = e / (e + 2.0);
  return negative ? -t : t;
}

DD pow(const DD& a, const DD& b) {
  if (b == DD(0) || a == DD(1)) return DD(1);
  if (isnan(a) || isnan(b)) return ieee(std::nan(""));
  const bool integral = isfinite(b) && floor(b) == b;
  const bool odd = integral && floor(ldexp(b, -1)) != ldexp(b, -1);
  const bool negative = signbit(a);
  // IEEE's special values, as float128 gives them.
  if (isinf(b)) {
    const DD m = abs(a);
    if (m == DD(1)) return DD(1);
    return ieee((m > DD(1)) == (b > DD(0)) ? HUGE_VAL : 0.0);
  }
  if (a.hi() == 0 || isinf(a)) {
    // 0^b and inf^b: zero or infinity, negative for a negative base and an odd integral b.
    const bool big = (a.hi() == 0) == (b < DD(0));
    const double v = big ? HUGE_VAL : 0.0;
    return ieee(negative && odd ? -v : v);
  }
  if (negative) {
    if (!integral) return ieee(std::nan(""));
    const DD r = exp(b * log(-a));
    return odd ? -r : r;
  }
  return exp(b * log(a));
}

}  // namespace zerolr
