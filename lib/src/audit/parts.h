#pragma once
// Private to lib/src/audit: the parts of the audit engine, each in its own file with one job.
//   generate.cpp   vector and model cases from a seed
//   executors.cpp  running them in this process or in a forked child per case
//   vector_props.cpp, properties.cpp   judging (the property registry)
//   shrink.cpp     smaller counterexamples
//   report.cpp     JSON, JUnit and text
//   engine.cpp     generate -> execute -> judge -> shrink -> report

#include <functional>
#include <memory>
#include <string>

#include "zerolr/audit/audit.h"
#include "zerolr/audit/executor.h"
#include "zerolr/random.h"

namespace zerolr {

// ---- generate.cpp ----
/// A vector case for `check`, with up to `steps` steps (warmup adds one). With tensor_lists
/// the vector may be split into several tensors.
VectorCase generate_vector(Rng& rng, const std::string& check, Scalar scalar, int steps, bool tensor_lists);
/// A small model case for the freeze property: lrs all zero, or falling to zero after lr > 0.
Case generate_model_case(Rng& rng, Scalar scalar);

// ---- executors.cpp ----
/// Runs cases in this process with the target's factories.
std::unique_ptr<Executor> in_process_executor(const AuditTarget& target);
/// Runs each case in a forked child with the target's factories: crashes and hangs are findings.
std::unique_ptr<Executor> sandbox_executor(const AuditTarget& target);

// ---- shrink.cpp ----
/// Greedy shrinking: fewer steps, fewer parameters, one tensor, simpler values (0, 1, -1),
/// keeping a candidate while `still_fails` says it still shows the finding. At most `budget`
/// candidates are tried.
VectorCase shrink_vector(VectorCase vc, const std::function<bool(const VectorCase&)>& still_fails,
                         int budget);
/// Greedy shrinking of a model case: one epoch, no shuffling, fewer samples.
Case shrink_model(Case c, const std::function<bool(const Case&)>& still_fails, int budget);
/// "float, n = 2, 1 step(s): params [...]; step 1: lr 0, grad [...]".
std::string readable(const VectorCase& vc);

}  // namespace zerolr
