// The oracle's choice of reference scalar (zerolr/reference/oracle.h).
#include "zerolr/reference/oracle.h"

#include <cstdlib>
#include <string>

#include "zerolr/core.h"

namespace zerolr::oracle {

Counts& counts() {
  thread_local Counts c;
  return c;
}

namespace {
bool& forced() {
  thread_local bool f = false;
  return f;
}
}  // namespace

ScopedFloat128::ScopedFloat128() : saved_(forced()) { forced() = true; }
ScopedFloat128::~ScopedFloat128() { forced() = saved_; }

bool float128_only() {
  static const bool only = [] {
    const char* env = std::getenv("ZEROLR_ORACLE");
    if (env == nullptr || *env == '\0' || std::string(env) == "double_double") return false;
    if (std::string(env) == "float128") return true;
    throw SpecError("ZEROLR_ORACLE=" + std::string(env) + ": expected double_double (the default) or float128");
  }();
  return only || forced();
}

}  // namespace zerolr::oracle
