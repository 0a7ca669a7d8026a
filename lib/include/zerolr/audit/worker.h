#pragma once
/// \file
/// Auditing an optimizer that lives in another process, in any language: the worker protocol
/// (docs/worker-protocol.md). zerolr starts the worker once, reads its hello, and sends it
/// every case over its standard input and output; a crash, a hang or a broken reply ends that
/// case as a violation naming its input, and the worker is started again for the next one.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zerolr/audit/target.h"
#include "zerolr/core.h"

namespace zerolr {

/// A worker that cannot be used: it does not start, exits or prints garbage during its
/// hello, says it cannot start (an error hello), or says something invalid in it. what() is
/// one line naming the problem; zerolr-audit exits with status 2.
class WorkerError : public Error {
 public:
  using Error::Error;
};

/// How to start a worker.
struct WorkerCommand {
  std::vector<std::string> argv;                                 ///< argv[0] is looked up in PATH
  std::vector<std::pair<std::string, std::string>> environment;  ///< set in the worker's environment
  int hello_timeout_ms = 60000;  ///< the hello must come within this (Python + torch take ~2 s)
};

/// `sh -c 'exec TEXT'`: a command line as a user types it.
WorkerCommand shell_command(const std::string& text);

/// `PYTHON -m zerolr.worker SPEC [--python-path DIR]... [--claims CLAIMS]`, with zerolr's
/// Python package on PYTHONPATH. PYTHON is ZEROLR_PYTHON if set, else the interpreter the
/// build found (the one with torch); the package is found in ZEROLR_PYTHON_PACKAGE, next to
/// the installed tools (share/zerolr/python), or in the source tree.
WorkerCommand python_worker_command(const std::string& spec, const std::vector<std::string>& python_path,
                                    const std::optional<std::string>& claims);

/// `PYTHON -m MODULE ARGS...` in the same interpreter and with the same PYTHONPATH as
/// python_worker_command (zerolr-claims runs zerolr.torch_claims this way).
WorkerCommand python_module_command(const std::string& module, const std::vector<std::string>& args);

/// Runs a command to its end (standard input /dev/null) and returns its standard output.
/// Throws WorkerError, naming the command and the last line of its standard error, when it
/// cannot start, exits with a non-zero status, or runs longer than timeout_ms.
std::string run_command(const WorkerCommand& command, int timeout_ms);

/// What a worker said in its hello.
struct WorkerHello {
  std::string name;
  std::optional<OptimizerSpec> claims;
  bool float64 = false, float32 = false;
  bool may_refuse = false;
  std::vector<std::string> unchecked, notes;
};

/// Starts the worker, reads its hello (WorkerError on any problem) and returns it as an audit
/// target whose executor talks to it. ZEROLR_RULES in the worker's environment holds the rule
/// catalog (rules_json()), from which a worker derives claims.
AuditTarget worker_target(const WorkerCommand& command);

/// The rule catalog as JSON: what `zerolr-audit --list --json` prints and workers receive.
std::string rules_json();

}  // namespace zerolr
