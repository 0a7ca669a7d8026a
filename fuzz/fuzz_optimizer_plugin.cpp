// fuzz_optimizer_plugin: the optimizer plug-in named by ZEROLR_PLUGIN (zerolr/plugin.h), or
// the worker ZEROLR_WORKER starts (docs/worker-protocol.md: a Python optimizer, say), against
// the audit engine's checks. Most inputs are vector cases (a flat
// parameter vector, one gradient and one lr per step) judged by check_vector_case: freeze at
// lr = 0, agreement with the float128 reference of the claimed rule, warm-up, refusal honesty;
// some are model cases judged by prop_freeze with the plug-in as the optimizer, as the audit's
// freeze(model) cases are. A Violation aborts, so libFuzzer records the input.
//
//   ZEROLR_PLUGIN=build/examples/plugins/libzerolr_example_adamw.so fuzz_optimizer_plugin corpus/
//   ZEROLR_WORKER="python3 -m zerolr.worker 'torch.optim.Adam()'" fuzz_optimizer_plugin corpus/
//     (with PYTHONPATH=python, and ZEROLR_RULES set by the target itself)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "fuzz_common.h"

namespace {

/// How a finding replays: the same target through zerolr-audit.
std::string replay_hint() {
  return std::getenv("ZEROLR_WORKER") != nullptr ? "zerolr-audit --worker \"$ZEROLR_WORKER\" --replay FILE"
                                                 : "zerolr-audit --plugin $ZEROLR_PLUGIN --replay FILE";
}

const zerolr::AuditTarget& target() {
  static const std::unique_ptr<zerolr::AuditTarget> t = [] {
    // ZEROLR_WORKER: a worker process (any language) serves the cases.
    if (const char* worker = std::getenv("ZEROLR_WORKER"); worker != nullptr && *worker != '\0') {
      try {
        return std::make_unique<zerolr::AuditTarget>(zerolr::worker_target(zerolr::shell_command(worker)));
      } catch (const zerolr::Error& e) {
        std::fprintf(stderr, "fuzz_optimizer_plugin: cannot start ZEROLR_WORKER: %s\n", e.what());
        std::exit(2);
      }
    }
    // ZEROLR_PLUGIN, else (on a fuzzing cluster, where the environment is not ours) the
    // example AdamW next to this executable.
    std::string path;
    if (const char* env = std::getenv("ZEROLR_PLUGIN"); env != nullptr && *env != '\0') {
      path = env;
    } else {
      std::error_code ec;
      const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
      const auto next_to = self.parent_path() / "libzerolr_example_adamw.so";
      if (ec || !std::filesystem::exists(next_to)) {
        std::fprintf(stderr, "fuzz_optimizer_plugin: set ZEROLR_PLUGIN to the plug-in's path (a .so)\n");
        std::exit(2);
      }
      path = next_to.string();
    }
    try {
      return std::make_unique<zerolr::AuditTarget>(zerolr::plugin_target(path));
    } catch (const zerolr::Error& e) {
      std::fprintf(stderr, "fuzz_optimizer_plugin: cannot load %s: %s\n", path.c_str(), e.what());
      std::exit(2);
    }
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)target();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const zerolr::AuditTarget& t = target();
  FuzzedDataProvider p(data, size);
  if (p.ConsumeIntegralInRange<int>(0, 7) == 7) {
    // A model case: gradients from a generated model, the plug-in as the optimizer.
    zerolr::Case c;
    try {
      c = zerolr::fuzz::consume_case(p);
    } catch (const zerolr::Error&) {
      return -1;
    }
    if (c.scalar == zerolr::Scalar::Float && !t.f32) return -1;
    if (t.claims) c.optimizer = *t.claims;  // what the token says it ran
    zerolr::Verdict v;
    try {
      if (t.remote) {
        // A worker: its executor turns crashes, hangs and broken replies into findings.
        v = t.remote->run_model(
            c, [](const zerolr::Case& k, const zerolr::Factories& f) { return zerolr::prop_freeze(k, f); },
            "freeze(model)", 20000);
      } else {
        zerolr::Factories f = zerolr::Factories::library();
        if (t.f32) f.f32 = t.f32;
        f.f64 = t.f64;
        v = zerolr::prop_freeze(c, f);
      }
    } catch (const std::exception& e) {
      zerolr::fuzz::fail(t.name + ": freeze(model): the implementation threw: " + e.what(),
                         "reproduce: " + replay_hint() + ", FILE holding: " + zerolr::to_token(c));
    }
    if (v.applicable && !v.holds())
      zerolr::fuzz::fail(t.name + ": freeze(model): " + v.first_violation(),
                         "case: " + zerolr::describe(c) + "\n==zerolr-fuzz== reproduce: " + replay_hint() +
                             ", FILE holding: " + zerolr::to_token(c));
    return 0;
  }
  const zerolr::VectorCase vc =
      zerolr::fuzz::consume_vector_case(p, static_cast<bool>(t.f32), t.tensor_lists);
  for (const zerolr::AuditFinding& f : zerolr::check_vector_case(t, vc))
    if (f.cls == zerolr::FindingClass::Violation)
      zerolr::fuzz::fail(t.name + ": " + f.property + ": " + f.message,
                         "reproduce: " + replay_hint() + ", FILE holding: " + vc.token());
  return 0;
}
