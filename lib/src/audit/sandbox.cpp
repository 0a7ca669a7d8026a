// run_isolated (audit/sandbox.h): fork, a pipe, a deadline, and a reaped child.
#include "zerolr/audit/sandbox.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace zerolr {

std::string IsolatedResult::describe() const {
  switch (outcome) {
    case Outcome::Returned:
      return "";
    case Outcome::Crashed:
      return "crashed with signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
    case Outcome::Hung:
      return "hung: no result within " + std::to_string(timeout_ms) + " ms";
    case Outcome::Exited:
      return "exited (status " + std::to_string(exit_status) + ") without a result";
  }
  return "";
}

IsolatedResult run_isolated(const std::function<std::string()>& fn, int timeout_ms) {
  IsolatedResult r;
  int fds[2];
  if (::pipe(fds) != 0) {
    r.output = fn();
    return r;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    r.output = fn();
    return r;
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string text;
    try {
      text = fn();
    } catch (...) {
      ::_exit(1);
    }
    std::size_t off = 0;
    while (off < text.size()) {
      const ssize_t w = ::write(fds[1], text.data() + off, text.size() - off);
      if (w <= 0) ::_exit(4);
      off += static_cast<std::size_t>(w);
    }
    ::close(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  for (;;) {
    int wait_ms = -1;
    if (timeout_ms > 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
              .count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left);
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, wait_ms);
    if (ready == 0) {
      timed_out = true;
      break;
    }
    if (ready < 0) continue;  // EINTR
    char buf[4096];
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got <= 0) break;
    r.output.append(buf, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    r.outcome = IsolatedResult::Outcome::Hung;
    r.timeout_ms = timeout_ms;
  } else if (WIFSIGNALED(status)) {
    r.outcome = IsolatedResult::Outcome::Crashed;
    r.signal = WTERMSIG(status);
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    r.outcome = IsolatedResult::Outcome::Exited;
    r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  if (r.outcome != IsolatedResult::Outcome::Returned) r.output.clear();
  return r;
}

}  // namespace zerolr
