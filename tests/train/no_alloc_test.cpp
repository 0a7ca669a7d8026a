// No heap allocation in a training step after warm-up (issue #7).
//
// This executable replaces the global allocation functions: operator new/delete forward to
// malloc/free, and malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign are
// interposed over glibc's (forwarding to __libc_*), because Eigen allocates with malloc, not
// operator new. While counting is on, every allocation on any thread is counted, and the
// first few sizes are recorded for the failure message.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <string>

#include "zerolr/optim/optimizer.h"
#include "zerolr/optim/spec.h"
#include "zerolr/random.h"
#include "zerolr/train/trainer.h"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {

std::atomic<bool> g_counting{false};
std::atomic<long> g_count{0};
constexpr int kRecorded = 8;
std::size_t g_sizes[kRecorded];

void note(std::size_t size) {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  const long k = g_count.fetch_add(1, std::memory_order_relaxed);
  if (k < kRecorded) g_sizes[k] = size;
}

}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  note(n);
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) {
  note(a * b);
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  note(n);
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(std::size_t align, std::size_t n) {
  note(n);
  return __libc_memalign(align, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) {
  note(n);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) {
  note(n);
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}

// operator new goes through the counted malloc above.
void* operator new(std::size_t n) {
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n == 0 ? 1 : n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return std::malloc(n == 0 ? 1 : n); }
void* operator new(std::size_t n, std::align_val_t a) {
  void* p = nullptr;
  if (posix_memalign(&p, static_cast<std::size_t>(a), n == 0 ? 1 : n) != 0) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace zerolr {
namespace {

struct Counting {
  Counting() {
    g_count = 0;
    g_counting = true;
  }
  long stop() {
    g_counting = false;
    return g_count.load();
  }
  ~Counting() { g_counting = false; }
};

std::string recorded_sizes(long count) {
  std::string s;
  for (long i = 0; i < count && i < kRecorded; ++i) s += (i ? ", " : "") + std::to_string(g_sizes[i]);
  return s;
}

// The counter is not vacuous: it sees operator new and Eigen's malloc.
TEST(CountingAllocator, SeesOperatorNewAndEigen) {
  long n_new = 0, n_eigen = 0;
  {
    Counting c;
    auto* v = new std::int64_t(7);
    n_new = c.stop();
    delete v;
  }
  {
    Counting c;
    Matrix<double> m(30, 30);
    m.setZero();
    n_eigen = c.stop();
  }
  EXPECT_EQ(n_new, 1);
  EXPECT_EQ(n_eigen, 1);
}

struct Shape {
  const char* name;
  const char* arch;
  Index batch;
};

const Shape kShapes[] = {
    {"small", "input(16),dense(32),relu,dense(1)", 8},
    {"medium", "input(64),dense(128),relu,dense(128),relu,dense(10)", 32},
    {"large", "input(784),dense(256),relu,dense(10)", 128},
};

template <class T>
void expect_no_allocation(const Shape& s) {
  Sequential<T> model(Architecture::parse(s.arch), 3);
  Matrix<T> x(s.batch, model.inputs()), y(s.batch, model.outputs());
  Rng rng(5);
  for (Index k = 0; k < x.size(); ++k) x.data()[k] = static_cast<T>(rng.normal());
  for (Index k = 0; k < y.size(); ++k) y.data()[k] = static_cast<T>(rng.normal());
  auto opt = make_optimizer<T>(parse_optimizer_spec("adam(lr=0.001)"));
  TrainOptions options;
  options.batch_size = s.batch;
  Trainer<T> trainer(model, LossSpec::parse("mse"), *opt, options);
  const T lr = static_cast<T>(1e-3);
  for (int i = 0; i < 3; ++i) trainer.step(x, y, lr);  // warm-up: buffers and Adam state

  T sum(0);
  Counting c;
  for (int i = 0; i < 10; ++i) sum += trainer.step(x, y, lr);
  const long n = c.stop();
  EXPECT_EQ(n, 0) << s.name << ": " << n << " allocations in 10 steps; first sizes (bytes): "
                  << recorded_sizes(n);
  EXPECT_TRUE(sum == sum);
}

TEST(NoAllocation, TrainerStepFloat) {
  for (const Shape& s : kShapes) expect_no_allocation<float>(s);
}

TEST(NoAllocation, TrainerStepDouble) {
  for (const Shape& s : kShapes) expect_no_allocation<double>(s);
}

}  // namespace
}  // namespace zerolr
