/* Bad plug-in: plain SGD, except that a step with lr > 0.5 never returns. For testing
 * that the audit times out a plug-in instead of waiting for ever. The loop spins on a
 * volatile so that it is neither removed nor undefined. */
#include "sgd_core.h"

static void spin(void) {
  volatile int forever = 1;
  while (forever) {
  }
}

static int hang_step(zlr_state *s, double lr, double *p, const double *g, size_t n) {
  if (lr > 0.5) spin();
  return sgd_step(s, lr, p, g, n);
}

static int hang_step_f32(zlr_state *s, float lr, float *p, const float *g, size_t n) {
  if (lr > 0.5f) spin();
  return sgd_step_f32(s, lr, p, g, n);
}

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) {
  static const zlr_optimizer_plugin plugin = {ZLR_PLUGIN_ABI_VERSION, "hang-on-step", "sgd", sgd_create,
                                              hang_step, hang_step_f32, sgd_destroy};
  return &plugin;
}
