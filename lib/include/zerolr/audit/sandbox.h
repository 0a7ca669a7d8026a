#pragma once
/// \file
/// Running code that may crash or hang in a forked child process. The audit runs each case of
/// a plug-in this way, and zerolr-audit probes a plug-in's loading with it.

#include <functional>
#include <string>

namespace zerolr {

/// How a function run in a child process ended.
struct IsolatedResult {
  enum class Outcome {
    Returned,  ///< the function returned; `output` is its result
    Crashed,   ///< the child died of a signal
    Hung,      ///< no result within the timeout; the child was killed
    Exited     ///< the child exited without a result (it called exit, or fork failed)
  };
  Outcome outcome = Outcome::Returned;
  std::string output;
  int signal = 0;       ///< Crashed: the signal
  int exit_status = 0;  ///< Exited: the status, or -1
  int timeout_ms = 0;   ///< Hung: the timeout it exceeded

  /// "crashed with signal 11 (Segmentation fault)", "hung: no result within 2000 ms", ...
  /// ("" when the function returned).
  std::string describe() const;
};

/// Runs fn in a forked child: the child writes fn's result to a pipe and exits without
/// running exit handlers; the parent waits at most timeout_ms (0: no limit), kills the child
/// on a timeout, and always reaps it. An exception escaping fn ends the child with status 1
/// (Exited). When fork or pipe fails, fn runs in this process instead.
IsolatedResult run_isolated(const std::function<std::string()>& fn, int timeout_ms);

}  // namespace zerolr
