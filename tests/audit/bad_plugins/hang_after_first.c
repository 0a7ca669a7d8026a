/* Bad plug-in: plain SGD whose every step after its first never returns (the counter is per
 * process, and the audit runs each case in a fresh child). For testing that an implementation
 * that always hangs is audited quickly: after a check has hung, its later cases get a shorter
 * timeout, and after three hangs they are skipped. */
#include "sgd_core.h"

static int calls;

static void spin(void) {
  volatile int forever = 1;
  while (forever) {
  }
}

static int hang_step(zlr_state *s, double lr, double *p, const double *g, size_t n) {
  if (calls++ >= 1) spin();
  return sgd_step(s, lr, p, g, n);
}

static int hang_step_f32(zlr_state *s, float lr, float *p, const float *g, size_t n) {
  if (calls++ >= 1) spin();
  return sgd_step_f32(s, lr, p, g, n);
}

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) {
  static const zlr_optimizer_plugin plugin = {ZLR_PLUGIN_ABI_VERSION, "hang-after-first", "sgd", sgd_create,
                                              hang_step, hang_step_f32, sgd_destroy};
  return &plugin;
}
