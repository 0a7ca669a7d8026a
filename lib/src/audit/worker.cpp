// The worker executor (audit/worker.h, docs/worker-protocol.md): one long-lived process
// serves every case over pipes; crashes, hangs and broken replies end a case and restart it.
#include "zerolr/audit/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "zerolr/audit/plugin_loader.h"
#include "zerolr/spec_syntax.h"

extern char** environ;

namespace zerolr {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kProtocol = "zerolr-worker";

// ---- values on the wire: hexadecimal floats, strictly ---------------------------------------

std::string wire(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

/// A hexadecimal float or inf/-inf/nan (-nan accepted); nullopt for anything else.
std::optional<double> unwire(const json& j) {
  if (!j.is_string()) return std::nullopt;
  const std::string& s = j.get_ref<const std::string&>();
  if (s == "nan" || s == "-nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  const std::size_t x = s.find_first_of("xX");
  const std::size_t digits = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (x != digits + 1 || s[digits] != '0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || s.empty()) return std::nullopt;
  return v;
}

/// One line of text: control characters and overlong tails removed, for error messages.
std::string one_line(std::string s, std::size_t max = 300) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

/// A case-ending problem with the worker: a hang, a crash or a broken reply. The process is
/// dead when this is thrown; the next request starts it again.
class WorkerFailure : public Error {
 public:
  using Error::Error;
};

/// The optimizer raised (an error reply to a step or create).
class WorkerRaised : public Error {
 public:
  using Error::Error;
};

// ---- the process ------------------------------------------------------------------------------

class WorkerProcess {
 public:
  explicit WorkerProcess(WorkerCommand command) : command_(std::move(command)) {
    hello_ = start();  // throws WorkerError
  }
  ~WorkerProcess() { stop(/*gently=*/true); }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  const WorkerHello& hello() const { return hello_; }
  bool alive() const { return pid_ > 0; }
  /// Changes every time the worker is started again: instances of an older one are gone.
  int generation() const { return generation_; }
  int next_id() { return next_id_++; }

  /// Sends one request and returns its reply (a JSON object). Throws WorkerFailure on a hang
  /// past timeout_ms (0: no limit), a crash, an exit, or a reply that is not one JSON object;
  /// the process is then stopped. A stopped worker is started again first.
  json request(const json& req, int timeout_ms) {
    if (pid_ <= 0) restart();
    const std::string line = req.dump() + "\n";
    std::size_t off = 0;
    while (off < line.size()) {
      const ssize_t w = ::write(in_, line.data() + off, line.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail_dead("the worker closed its input");
      off += static_cast<std::size_t>(w);
    }
    const std::optional<std::string> reply = read_line(timeout_ms);
    if (!reply) {
      if (timed_out_) {
        stop(false);
        throw WorkerFailure("hung: no result within " + std::to_string(timeout_ms) + " ms");
      }
      fail_dead("the worker exited without a reply");
    }
    json j;
    try {
      j = json::parse(*reply);
    } catch (const std::exception&) {
      broken("not JSON: '" + one_line(*reply, 120) + "'");
    }
    if (!j.is_object()) broken("not a JSON object: '" + one_line(*reply, 120) + "'");
    return j;
  }

  /// Ends the case with a broken reply: stops the worker and throws. A worker none of whose
  /// replies has been a valid step yet does not speak the protocol: that is WorkerError (the
  /// audit stops, exit status 2), not a finding about its optimizer.
  [[noreturn]] void broken(const std::string& what) {
    stop(false);
    if (!spoke_) throw WorkerError("the worker's replies break the protocol: " + what);
    throw WorkerFailure("broken reply: " + what);
  }
  /// Called on every valid step reply.
  void spoke() { spoke_ = true; }

  void restart() {
    stop(false);
    try {
      (void)start();
    } catch (const WorkerError& e) {
      throw WorkerFailure(std::string("could not restart the worker: ") + e.what());
    }
  }

 private:
  WorkerHello start() {
    int to_child[2], from_child[2], err_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0 ||
        ::pipe2(err_child, O_CLOEXEC) != 0)
      throw WorkerError("cannot create pipes for the worker: " + std::string(std::strerror(errno)));
    // The child's environment: ours plus the command's variables.
    std::map<std::string, std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      const auto eq = kv.find('=');
      if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : command_.environment) env[k] = v;
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& s : command_.argv) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    if (command_.argv.empty()) throw WorkerError("the worker command is empty");
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw WorkerError("cannot start the worker: " + std::string(std::strerror(errno)));
    if (pid == 0) {
      // The child: its own process group (a hang is killed as a group), killed if the audit
      // dies, and the pipes as its standard streams.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      ::dup2(err_child[1], 2);
      ::execvpe(argv[0], argv.data(), envp.data());
      const std::string msg = "cannot run '" + command_.argv[0] + "': " + std::strerror(errno) + "\n";
      (void)!::write(2, msg.data(), msg.size());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    ::close(err_child[1]);
    pid_ = pid;
    in_ = to_child[1];
    out_ = from_child[0];
    err_ = err_child[0];
    buffer_.clear();
    stderr_tail_.clear();
    ++generation_;
    ::signal(SIGPIPE, SIG_IGN);  // a dead worker's input is an error, not a signal
    const std::optional<std::string> line = read_line(command_.hello_timeout_ms);
    if (!line) {
      const bool hung = timed_out_;
      stop(false);  // reaps it: exit_text() then knows how it ended
      const std::string why =
          hung ? "sent no hello within " + std::to_string(command_.hello_timeout_ms) + " ms"
               : "exited during its hello" + exit_text();
      throw WorkerError("the worker " + why + stderr_text());
    }
    WorkerHello h;
    try {
      h = parse_hello(*line);
    } catch (const WorkerError&) {
      stop(false);
      throw;
    }
    return h;
  }

  WorkerHello parse_hello(const std::string& line) {
    json j;
    try {
      j = json::parse(line);
    } catch (const std::exception&) {
      throw WorkerError("the worker's hello is not JSON: '" + one_line(line, 120) + "'" + stderr_text());
    }
    if (!j.is_object())
      throw WorkerError("the worker's hello is not a JSON object: '" + one_line(line, 120) + "'");
    if (j.value("protocol", json()) != kProtocol)
      throw WorkerError("the worker's hello does not say \"protocol\": \"zerolr-worker\": '" +
                        one_line(line, 120) + "'");
    if (j.value("version", json()) != 1)
      throw WorkerError("the worker speaks protocol version " + j.value("version", json()).dump() +
                        ", this zerolr-audit version 1");
    if (j.contains("error"))
      throw WorkerError("the worker cannot start: " +
                        one_line(j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump()));
    WorkerHello h;
    const json& name = j.value("name", json());
    if (!name.is_string() || name.get<std::string>().empty())
      throw WorkerError("the worker's hello has no \"name\" (a non-empty string)");
    h.name = name.get<std::string>();
    const json& claims = j.value("claims", json());
    if (claims.is_string()) {
      try {
        h.claims = parse_optimizer_spec(claims.get<std::string>());
      } catch (const SpecError& e) {
        throw WorkerError(std::string("the worker's claims are not a valid spec: ") + e.what());
      }
    } else if (!claims.is_null()) {
      throw WorkerError("the worker's \"claims\" must be a spec string or null");
    }
    const json& dtypes = j.value("dtypes", json());
    if (!dtypes.is_array() || dtypes.empty())
      throw WorkerError(
          "the worker's hello has no \"dtypes\" (a non-empty list of \"float64\", \"float32\")");
    for (const auto& d : dtypes) {
      if (d == "float64")
        h.float64 = true;
      else if (d == "float32")
        h.float32 = true;
      else
        throw WorkerError("the worker's \"dtypes\" holds " + d.dump() +
                          " (only \"float64\" and \"float32\")");
    }
    if (!h.float64) throw WorkerError("the worker must serve \"float64\"");
    const json& refuse = j.value("may_refuse", json(false));
    if (!refuse.is_boolean()) throw WorkerError("the worker's \"may_refuse\" must be true or false");
    h.may_refuse = refuse.get<bool>();
    for (const char* key : {"unchecked", "notes"}) {
      const json& list = j.value(key, json::array());
      if (!list.is_array())
        throw WorkerError(std::string("the worker's \"") + key + "\" must be a list of strings");
      for (const auto& x : list) {
        if (!x.is_string())
          throw WorkerError(std::string("the worker's \"") + key + "\" must be a list of strings");
        (std::string(key) == "unchecked" ? h.unchecked : h.notes).push_back(x.get<std::string>());
      }
    }
    return h;
  }

  /// One line from the worker's output, draining its standard error meanwhile. nullopt on
  /// EOF or a timeout (timed_out_ tells which).
  std::optional<std::string> read_line(int timeout_ms) {
    timed_out_ = false;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      int wait_ms = -1;
      if (timeout_ms > 0) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
          timed_out_ = true;
          return std::nullopt;
        }
        wait_ms = static_cast<int>(left);
      }
      pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
      const int ready = ::poll(fds, err_ >= 0 ? 2 : 1, wait_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        timed_out_ = true;
        return std::nullopt;
      }
      char buf[65536];
      if (err_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
        const ssize_t got = ::read(err_, buf, sizeof buf);
        if (got > 0) {
          stderr_tail_.append(buf, static_cast<std::size_t>(got));
          if (stderr_tail_.size() > 8192) stderr_tail_.erase(0, stderr_tail_.size() - 8192);
        } else {
          ::close(err_);
          err_ = -1;
        }
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t got = ::read(out_, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return std::nullopt;
        buffer_.append(buf, static_cast<std::size_t>(got));
        if (buffer_.size() > (64u << 20)) return std::nullopt;  // 64 MiB without a newline
      }
    }
  }

  [[noreturn]] void fail_dead(const std::string& what) {
    stop(false);  // reaps it and collects what it wrote to standard error on the way out
    throw WorkerFailure(what + exit_text() + stderr_text());
  }

  /// Stops the worker: bye and a short wait when gentle, else (or then) SIGKILL to its group.
  void stop(bool gently) {
    if (pid_ <= 0) return;
    if (gently && in_ >= 0) {
      const std::string bye = "{\"op\":\"bye\"}\n";
      (void)!::write(in_, bye.data(), bye.size());
    }
    if (in_ >= 0) ::close(in_);
    in_ = -1;
    int status = 0;
    bool reaped = false;
    if (gently) {
      for (int i = 0; i < 100 && !reaped; ++i) {  // up to 1 s
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        reaped = r == pid_;
        if (!reaped) ::usleep(10000);
      }
    }
    if (!reaped) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    // Whatever it wrote to standard error before it ended.
    if (err_ >= 0) {
      char buf[65536];
      ssize_t got;
      while ((got = ::read(err_, buf, sizeof buf)) > 0)
        stderr_tail_.append(buf, static_cast<std::size_t>(got));
      if (stderr_tail_.size() > 8192) stderr_tail_.erase(0, stderr_tail_.size() - 8192);
      ::close(err_);
    }
    if (out_ >= 0) ::close(out_);
    out_ = err_ = -1;
    last_status_ = status;
    pid_ = -1;
  }

  std::string exit_text() const {
    if (WIFSIGNALED(last_status_))
      return " (killed by signal " + std::to_string(WTERMSIG(last_status_)) + ", " +
             ::strsignal(WTERMSIG(last_status_)) + ")";
    if (WIFEXITED(last_status_)) return " (exit status " + std::to_string(WEXITSTATUS(last_status_)) + ")";
    return "";
  }

  /// ": <the last line the worker wrote to standard error>", or "".
  std::string stderr_text() const {
    std::string s = stderr_tail_;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    const auto nl = s.rfind('\n');
    if (nl != std::string::npos) s = s.substr(nl + 1);
    return s.empty() ? "" : ": " + one_line(s);
  }

  WorkerCommand command_;
  WorkerHello hello_;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  int last_status_ = 0;
  int generation_ = 0;
  int next_id_ = 0;
  bool timed_out_ = false;
  bool spoke_ = false;
  std::string buffer_, stderr_tail_;
};

// ---- one optimizer instance in the worker ------------------------------------------------

const char* dtype_of(Scalar s) {
  return s == Scalar::Float ? "float32" : "float64";
}

/// Reads a step reply's parameters: n hexadecimal floats, exact in the case's scalar.
std::vector<double> reply_params(WorkerProcess& w, const json& reply, std::size_t n, Scalar scalar) {
  const json& values = reply.value("params", json());
  if (!values.is_array() || values.size() != n)
    w.broken("a step reply must hold \"params\": " + std::to_string(n) + " values");
  std::vector<double> out;
  for (const auto& v : values) {
    const auto d = unwire(v);
    if (!d) w.broken("a value that is not a hexadecimal float: " + one_line(v.dump(), 60));
    if (scalar == Scalar::Float && std::isfinite(*d) && static_cast<double>(static_cast<float>(*d)) != *d)
      w.broken("a float32 value that float32 cannot hold: " + wire(*d));
    out.push_back(*d);
  }
  return out;
}

struct StepReply {
  StepRecord::Status status = StepRecord::Status::Stepped;
  std::vector<double> params;
  std::string message;
};

/// One step of instance `id`: WorkerFailure for hangs, crashes and broken replies.
StepReply step_request(WorkerProcess& w, int id, Scalar scalar, double lr, const std::vector<double>& params,
                       const std::vector<double>& grads, int timeout_ms) {
  json p = json::array(), g = json::array();
  for (double v : params) p.push_back(wire(v));
  for (double v : grads) g.push_back(wire(v));
  const json reply =
      w.request({{"op", "step"}, {"id", id}, {"lr", wire(lr)}, {"params", p}, {"grads", g}}, timeout_ms);
  const json& status = reply.value("status", json());
  StepReply r;
  if (status == "ok") {
    r.params = reply_params(w, reply, params.size(), scalar);
    w.spoke();
  } else if (status == "refused") {
    r.status = StepRecord::Status::Refused;
    r.params = params;  // the audit owns the values: a refused step leaves them as they were
  } else if (status == "error") {
    r.status = StepRecord::Status::Raised;
    const json& m = reply.value("message", json());
    r.message = m.is_string() ? one_line(m.get<std::string>()) : "(no message)";
    r.params = params;
  } else {
    w.broken("a step reply's \"status\" must be \"ok\", \"refused\" or \"error\": " +
             one_line(reply.dump(), 120));
  }
  return r;
}

/// Makes instance `id`; throws WorkerRaised when the optimizer's constructor raised.
void create_request(WorkerProcess& w, int id, Scalar scalar, const std::vector<std::size_t>& split,
                    int timeout_ms) {
  const json reply =
      w.request({{"op", "create"}, {"id", id}, {"dtype", dtype_of(scalar)}, {"split", split}}, timeout_ms);
  const json& ok = reply.value("ok", json());
  if (ok == true) return;
  if (ok == false) {
    const json& e = reply.value("error", json());
    throw WorkerRaised("creating the optimizer raised: " +
                       (e.is_string() ? one_line(e.get<std::string>()) : "(no message)"));
  }
  w.broken("a create reply must hold \"ok\": true or false: " + one_line(reply.dump(), 120));
}

void destroy_request(WorkerProcess& w, int id, int timeout_ms) {
  const json reply = w.request({{"op", "destroy"}, {"id", id}}, timeout_ms);
  if (reply.value("ok", json()) != true) w.broken("a destroy reply must hold \"ok\": true");
}

/// A worker's optimizer as an Optimizer<T>, for model cases: one instance per tensor, created
/// on its first step. The state is opaque (state() is empty, step_count() counts calls).
/// clone() records the calls and replays them on fresh instances when the copy is first
/// stepped (most copies never are). A refusal throws StepRefused, an exception WorkerRaised,
/// a hang, crash or broken reply WorkerFailure.
template <class T>
class WorkerOptimizer final : public Optimizer<T> {
 public:
  WorkerOptimizer(std::shared_ptr<WorkerProcess> worker, OptimizerSpec spec, int timeout_ms)
      : worker_(std::move(worker)), spec_(std::move(spec)), timeout_ms_(timeout_ms) {}
  ~WorkerOptimizer() override {
    for (auto& t : tensors_)
      if (t.id >= 0 && t.generation == worker_->generation() && worker_->alive()) {
        try {
          destroy_request(*worker_, t.id, timeout_ms_);
        } catch (const std::exception&) {
          // The worker died; the next request starts it again.
        }
      }
  }

  void step_tensor(std::size_t tensor, T* param, const T* grad, Index n, T lr) override {
    if (tensor >= tensors_.size()) tensors_.resize(tensor + 1);
    Tensor& t = tensors_[tensor];
    if (t.n != 0 && t.n != n)
      throw ShapeError("worker optimizer: tensor " + std::to_string(tensor) + " changed size");
    t.n = n;
    if (t.id < 0 || t.generation != worker_->generation()) materialize(t);
    Call call{static_cast<double>(lr), std::vector<double>(param, param + n),
              std::vector<double>(grad, grad + n)};
    const StepReply r = step_request(*worker_, t.id, scalar(), call.lr, call.params, call.grads, timeout_ms_);
    if (r.status == StepRecord::Status::Raised) throw WorkerRaised("the optimizer raised: " + r.message);
    if (r.status == StepRecord::Status::Refused) throw StepRefused("the worker refused the step");
    for (Index i = 0; i < n; ++i) param[i] = static_cast<T>(r.params[static_cast<std::size_t>(i)]);
    t.history.push_back(std::move(call));
  }
  OptimizerSpec spec() const override { return spec_; }
  std::int64_t step_count(std::size_t tensor) const override {
    return tensor < tensors_.size() ? static_cast<std::int64_t>(tensors_[tensor].history.size()) : 0;
  }
  std::vector<StateRef<T>> state(std::size_t) override { return {}; }
  bool state_visible() const override { return false; }
  void set_step_count(std::size_t, std::int64_t) override {
    throw ShapeError("a worker's optimizer state is opaque: its step count cannot be set");
  }
  std::size_t tensor_count() const override { return tensors_.size(); }
  Index state_size(std::size_t tensor) const override {
    return tensor < tensors_.size() ? tensors_[tensor].n : 0;
  }
  std::unique_ptr<Optimizer<T>> clone() const override {
    auto copy = std::make_unique<WorkerOptimizer>(worker_, spec_, timeout_ms_);
    for (const auto& t : tensors_) {
      Tensor c;
      c.n = t.n;
      c.history = t.history;
      copy->tensors_.push_back(std::move(c));  // no instance yet: made and replayed on demand
    }
    return copy;
  }

 private:
  struct Call {
    double lr;
    std::vector<double> params, grads;
  };
  struct Tensor {
    int id = -1;
    int generation = -1;
    Index n = 0;
    std::vector<Call> history;
  };
  static Scalar scalar() { return std::is_same_v<T, float> ? Scalar::Float : Scalar::Double; }

  /// A fresh instance in the worker with this tensor's recorded calls replayed.
  void materialize(Tensor& t) {
    t.id = worker_->next_id();
    create_request(*worker_, t.id, scalar(), {static_cast<std::size_t>(t.n)}, timeout_ms_);
    t.generation = worker_->generation();
    for (const Call& c : t.history) {
      const StepReply r = step_request(*worker_, t.id, scalar(), c.lr, c.params, c.grads, timeout_ms_);
      if (r.status == StepRecord::Status::Raised)
        throw WorkerRaised("the optimizer raised on a replay: " + r.message);
    }
  }

  std::shared_ptr<WorkerProcess> worker_;
  OptimizerSpec spec_;
  int timeout_ms_;
  std::vector<Tensor> tensors_;
};

// ---- the executor -----------------------------------------------------------------------------

class WorkerExecutor final : public Executor {
 public:
  explicit WorkerExecutor(std::shared_ptr<WorkerProcess> worker) : worker_(std::move(worker)) {}

  Trajectory run(const VectorCase& vc, int timeout_ms) override {
    Trajectory tr;
    WorkerProcess& w = *worker_;
    try {
      const int id = w.next_id();
      try {
        create_request(w, id, vc.scalar, vc.tensors(), timeout_ms);
      } catch (const WorkerRaised& e) {
        tr.steps.push_back({StepRecord::Status::Raised, rounded(vc.params, vc.scalar), e.what()});
        return tr;
      }
      std::vector<double> p = rounded(vc.params, vc.scalar);
      for (std::size_t k = 0; k < vc.lrs.size(); ++k) {
        const std::vector<double> g = rounded(vc.grads[k], vc.scalar);
        const StepReply r = step_request(w, id, vc.scalar, round(vc.lrs[k], vc.scalar), p, g, timeout_ms);
        tr.steps.push_back({r.status, r.params, r.message});
        p = r.params;
        if (r.status == StepRecord::Status::Raised) break;
      }
      destroy_request(w, id, timeout_ms);
    } catch (const WorkerFailure& e) {
      tr.failure = e.what();
    }
    return tr;
  }

  Verdict run_model(const Case& c, const ModelProperty& property, const std::string& failure_property,
                    int timeout_ms) override {
    Factories f;
    const auto worker = worker_;
    const OptimizerSpec spec = c.optimizer;
    f.f64 = [worker, spec, timeout_ms](const OptimizerSpec&) {
      return std::make_unique<WorkerOptimizer<double>>(worker, spec, timeout_ms);
    };
    f.f32 = [worker, spec, timeout_ms](const OptimizerSpec&) {
      return std::make_unique<WorkerOptimizer<float>>(worker, spec, timeout_ms);
    };
    Verdict v;
    v.property = failure_property;
    try {
      return property(c, f);
    } catch (const WorkerFailure& e) {
      v.findings.push_back({FindingClass::Violation, e.what()});
    } catch (const WorkerRaised& e) {
      v.findings.push_back({FindingClass::Violation, e.what()});
    } catch (const std::exception& e) {
      v.findings.push_back({FindingClass::Violation, std::string("the implementation threw: ") + e.what()});
    }
    return v;
  }

 private:
  static double round(double v, Scalar s) {
    return s == Scalar::Float ? static_cast<double>(static_cast<float>(v)) : v;
  }
  static std::vector<double> rounded(const std::vector<double>& v, Scalar s) {
    std::vector<double> out;
    for (double x : v) out.push_back(round(x, s));
    return out;
  }
  std::shared_ptr<WorkerProcess> worker_;
};

}  // namespace

WorkerCommand shell_command(const std::string& text) {
  WorkerCommand c;
  c.argv = {"/bin/sh", "-c", "exec " + text};
  return c;
}

AuditTarget worker_target(const WorkerCommand& command) {
  WorkerCommand cmd = command;
  cmd.environment.emplace_back("ZEROLR_RULES", rules_json());
  auto worker = std::make_shared<WorkerProcess>(cmd);
  const WorkerHello& h = worker->hello();
  AuditTarget t;
  t.name = h.name;
  t.claims = h.claims;
  t.may_refuse = h.may_refuse;
  t.tensor_lists = true;
  t.unchecked = h.unchecked;
  t.notes = h.notes;
  const OptimizerSpec spec = h.claims ? *h.claims : OptimizerSpec{SgdSettings{}};
  t.f64 = [worker, spec](const OptimizerSpec&) {
    return std::make_unique<WorkerOptimizer<double>>(worker, spec, 0);
  };
  if (h.float32)
    t.f32 = [worker, spec](const OptimizerSpec&) {
      return std::make_unique<WorkerOptimizer<float>>(worker, spec, 0);
    };
  t.remote = std::make_shared<WorkerExecutor>(worker);
  return t;
}

std::string rules_json() {
  json out = json::array();
  for (const RuleInfo& r : rule_catalog()) {
    json keys = json::array();
    for (const KeyInfo& k : r.keys)
      keys.push_back(
          {{"name", k.name}, {"range", k.range}, {"default", k.default_value}, {"bool", k.is_bool}});
    out.push_back({{"name", r.name}, {"keys", keys}, {"freezes_at_lr0", r.freezes_at_lr0}});
  }
  return out.dump();
}

WorkerCommand python_worker_command(const std::string& spec, const std::vector<std::string>& python_path,
                                    const std::optional<std::string>& claims) {
  std::vector<std::string> args{spec};
  for (const auto& dir : python_path) {
    args.push_back("--python-path");
    args.push_back(dir);
  }
  if (claims) {
    args.push_back("--claims");
    args.push_back(*claims);
  }
  return python_module_command("zerolr.worker", args);
}

WorkerCommand python_module_command(const std::string& module, const std::vector<std::string>& args) {
  WorkerCommand c;
  const char* python = std::getenv("ZEROLR_PYTHON");
  c.argv = {python != nullptr && *python != '\0' ? python : ZEROLR_PYTHON_EXECUTABLE, "-m", module};
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  // zerolr's Python package: ZEROLR_PYTHON_PACKAGE, next to the installed tools, or the source tree.
  std::string package;
  if (const char* p = std::getenv("ZEROLR_PYTHON_PACKAGE"); p != nullptr && *p != '\0') package = p;
  if (package.empty()) {
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
      std::string dir(exe, static_cast<std::size_t>(n));
      dir = dir.substr(0, dir.rfind('/'));
      const std::string installed = dir + "/../" + ZEROLR_PYTHON_INSTALL_SUBDIR;
      if (::access((installed + "/zerolr/worker.py").c_str(), R_OK) == 0) package = installed;
    }
  }
  if (package.empty()) package = ZEROLR_PYTHON_SOURCE_DIR;
  const char* old = std::getenv("PYTHONPATH");
  c.environment.emplace_back("PYTHONPATH",
                             package + (old != nullptr && *old != '\0' ? ":" + std::string(old) : ""));
  return c;
}

std::string run_command(const WorkerCommand& command, int timeout_ms) {
  if (command.argv.empty()) throw WorkerError("run_command: the command is empty");
  const std::string name = command.argv.size() > 2
                               ? command.argv[0] + " " + command.argv[1] + " " + command.argv[2]
                               : command.argv[0];
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw WorkerError("cannot create pipes for " + name);
  std::vector<std::string> env_strings;
  {
    std::map<std::string, std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      const auto eq = kv.find('=');
      if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : command.environment) env[k] = v;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  }
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (const auto& s : command.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw WorkerError("cannot start " + name);
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execvpe(argv[0], argv.data(), envp.data());
    const std::string msg = "cannot run '" + command.argv[0] + "': " + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  std::string stdout_text, stderr_text;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  int open_fds = 2;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    const int ready = ::poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t got = ::read(fds[k].fd, buf, sizeof buf);
      if (got > 0) {
        (k == 0 ? stdout_text : stderr_text).append(buf, static_cast<std::size_t>(got));
      } else {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!stderr_text.empty() && (stderr_text.back() == '\n' || stderr_text.back() == ' '))
    stderr_text.pop_back();
  const auto nl = stderr_text.rfind('\n');
  const std::string last = one_line(nl == std::string::npos ? stderr_text : stderr_text.substr(nl + 1));
  if (timed_out) throw WorkerError(name + " ran longer than " + std::to_string(timeout_ms) + " ms");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw WorkerError(name + " failed (" +
                      (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                         : "signal " + std::to_string(WTERMSIG(status))) +
                      ")" + (last.empty() ? "" : ": " + last));
  return stdout_text;
}

}  // namespace zerolr
