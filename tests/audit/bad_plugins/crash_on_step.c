/* Bad plug-in: every step dies of SIGSEGV, by a write through a null pointer. The pointer
 * is read from a volatile, so the compiler cannot see it is null and replace the write by
 * a trap (GCC's -fisolate-erroneous-paths would raise SIGILL instead). For testing that
 * the audit survives a plug-in that kills its process. */
#include "sgd_core.h"

static int crash_step(zlr_state *s, double lr, double *p, const double *g, size_t n) {
  int *volatile target = NULL;
  *(volatile int *)target = 1;
  return sgd_step(s, lr, p, g, n);
}

static int crash_step_f32(zlr_state *s, float lr, float *p, const float *g, size_t n) {
  int *volatile target = NULL;
  *(volatile int *)target = 1;
  return sgd_step_f32(s, lr, p, g, n);
}

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) {
  static const zlr_optimizer_plugin plugin = {ZLR_PLUGIN_ABI_VERSION, "crash-on-step", "sgd", sgd_create,
                                              crash_step, crash_step_f32, sgd_destroy};
  return &plugin;
}
