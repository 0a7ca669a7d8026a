// The worker executor (audit/worker.h, docs/worker-protocol.md) against a worker in plain
// Python (fake_worker.py) that behaves, or misbehaves, as each test asks.

#include "zerolr/audit/worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "zerolr/audit/audit.h"

namespace zerolr {
namespace {

using ::testing::HasSubstr;

WorkerCommand fake(const std::string& mode, int hello_timeout_ms = 30000) {
  WorkerCommand c;
  c.argv = {ZLR_PYTHON, ZLR_FAKE_WORKER, mode};
  c.hello_timeout_ms = hello_timeout_ms;
  return c;
}

std::string start_error(const WorkerCommand& c) {
  try {
    worker_target(c);
  } catch (const WorkerError& e) {
    return e.what();
  }
  return "(no error)";
}

/// No child process of this test is left, running or as a zombie.
void expect_no_children() {
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

AuditOptions quick(int cases) {
  AuditOptions o;
  o.cases = cases;
  o.timeout_ms = 5000;
  return o;
}

const AuditFinding* find(const AuditReport& r, const std::string& property, FindingClass cls) {
  for (const auto& f : r.findings)
    if (f.property == property && f.cls == cls) return &f;
  return nullptr;
}

TEST(Worker, AWorkerInPlainPythonIsAuditedAgainstItsClaims) {
  {
    const AuditTarget t = worker_target(fake("sgd"));
    EXPECT_EQ(t.name, "fake-sgd");
    ASSERT_TRUE(t.claims.has_value());
    EXPECT_EQ(optimizer_name(*t.claims), "sgd");
    EXPECT_TRUE(t.f32);
    EXPECT_FALSE(t.may_refuse);
    const AuditReport r = run_audit(t, quick(100));
    EXPECT_TRUE(r.passed()) << report_json(r);
    EXPECT_EQ(r.cases, 100);
    EXPECT_GT(r.worst_ratio_f64, 0.0) << "no agreement case was judged";
    EXPECT_GT(r.worst_ratio_f32, 0.0);
  }
  expect_no_children();
}

// The worker checks that every step holds as many values as its instance's split: cases
// split into several tensors reach it as lists.
TEST(Worker, SplitVectorsReachTheWorkerAsSeveralTensors) {
  const AuditTarget t = worker_target(fake("sgd_lists"));
  VectorCase vc;
  vc.check = "agreement";
  vc.params = {1, 2, 3, 4, 5};
  vc.split = {2, 3};
  vc.grads = {{1, 1, 1, 1, 1}, {0.5, 0.5, 0.5, 0.5, 0.5}};
  vc.lrs = {0.5, 0.25};
  const Trajectory tr = t.remote->run(vc, 5000);
  ASSERT_TRUE(tr.failure.empty()) << tr.failure;
  ASSERT_EQ(tr.steps.size(), 2u);
  EXPECT_EQ(tr.steps[1].status, StepRecord::Status::Stepped) << tr.steps[1].message;
  EXPECT_EQ(tr.steps[1].params, (std::vector<double>{0.375, 1.375, 2.375, 3.375, 4.375}));
  EXPECT_TRUE(check_vector_case(t, vc).empty());
}

TEST(Worker, EachWayOfNotStartingIsOneLineNamingIt) {
  EXPECT_THAT(start_error(fake("garbage")), HasSubstr("hello is not JSON: 'this is not a hello'"));
  EXPECT_THAT(start_error(fake("exit_in_hello")), AllOf(HasSubstr("exited during its hello (exit status 7)"),
                                                        HasSubstr("cannot open the model")));
  EXPECT_THAT(start_error(fake("error_hello")),
              HasSubstr("cannot start: module 'torch.optim' has no attribute 'Adamm'"));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THAT(start_error(fake("silent", 400)), HasSubstr("sent no hello within 400 ms"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_THAT(start_error(shell_command("/nonexistent/worker --flag")),
              HasSubstr("exited during its hello (exit status 127)"));
  for (const std::string& msg : {start_error(fake("garbage")), start_error(fake("error_hello"))})
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  expect_no_children();
}

// A worker whose replies break the protocol before any valid step does not speak it: the
// audit stops (WorkerError, exit status 2), it does not report its optimizer.
TEST(Worker, RepliesThatBreakTheProtocolFromTheStartAreAnError) {
  for (const char* mode : {"wrong_length", "decimal"}) {
    const AuditTarget t = worker_target(fake(mode));
    try {
      run_audit(t, quick(20));
      ADD_FAILURE() << mode << ": the audit ran";
    } catch (const WorkerError& e) {
      EXPECT_THAT(e.what(), HasSubstr("replies break the protocol")) << mode;
    }
  }
  expect_no_children();
}

// A worker that crashes mid-case: that case is a violation naming its input, the worker is
// started again, and the audit goes on to its last case.
TEST(Worker, ACrashEndsTheCaseAndTheWorkerIsRestarted) {
  {
    const AuditReport r = run_audit(worker_target(fake("crash_on_step")), quick(60));
    EXPECT_EQ(r.cases, 60);
    EXPECT_FALSE(r.passed());
    const AuditFinding* crash = nullptr;
    for (const auto& f : r.findings)
      if (f.property != "freeze(model)" &&
          f.message.find("exited without a reply (exit status 1)") != std::string::npos && crash == nullptr)
        crash = &f;
    ASSERT_NE(crash, nullptr) << report_json(r);
    EXPECT_EQ(crash->cls, FindingClass::Violation);
    EXPECT_THAT(crash->message, HasSubstr("segfault imitation"));
    EXPECT_THAT(crash->counterexample, HasSubstr("2 step(s)"));  // the second step crashes
    // Cases of one step do not crash: some freeze cases pass, so the worker came back.
    EXPECT_NE(find(r, "signed_zero", FindingClass::Note), nullptr) << report_json(r);
  }
  expect_no_children();
}

TEST(Worker, AHangIsKilledReportedAndLeavesNoProcessBehind) {
  {
    const AuditTarget t = worker_target(fake("hang_on_step"));
    AuditOptions o;
    o.timeout_ms = 300;
    const std::string token = "zerolr-vec-v1|scalar=double|check=run|params=0x1p+0|lrs=0x1p+0|grads=0x1p-1";
    const auto found = replay_token(t, token, o);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].property, "run");
    EXPECT_EQ(found[0].message, "hung: no result within 300 ms");
    // The worker comes back for the next case.
    const auto again =
        replay_token(t, "zerolr-vec-v1|scalar=double|check=freeze|params=0x1p+0|lrs=0x0p+0|grads=0x1p-1", o);
    EXPECT_TRUE(again.empty());
  }
  expect_no_children();
}

// An exception in the optimizer is its own finding, never a refusal; a refusal from a worker
// that said it never refuses is a violation.
TEST(Worker, ExceptionsAndUndeclaredRefusalsAreViolationsOfTheirOwn) {
  const AuditReport raised = run_audit(worker_target(fake("raise_on_step")), quick(20));
  const AuditFinding* e = find(raised, "exception", FindingClass::Violation);
  ASSERT_NE(e, nullptr) << report_json(raised);
  EXPECT_THAT(e->message, HasSubstr("ZeroDivisionError: float division by zero"));
  EXPECT_EQ(find(raised, "refusal", FindingClass::Violation), nullptr);
  const AuditReport refused = run_audit(worker_target(fake("refuse")), quick(20));
  const AuditFinding* r = find(refused, "refusal", FindingClass::Violation);
  ASSERT_NE(r, nullptr) << report_json(refused);
  EXPECT_THAT(r->message, HasSubstr("declared that it never refuses"));
  expect_no_children();
}

TEST(Worker, TheRuleCatalogListsEveryRegisteredRule) {
  const std::string catalog = rules_json();
  for (const auto& name : optimizer_names()) EXPECT_THAT(catalog, HasSubstr("\"name\":\"" + name + "\""));
  EXPECT_THAT(catalog, HasSubstr("\"freezes_at_lr0\":false"));
}

}  // namespace
}  // namespace zerolr
