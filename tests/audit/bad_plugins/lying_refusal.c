/* Bad plug-in: plain SGD, except that a step with lr > 0.5 (or NaN) updates the
 * parameters and then returns 7, a refusal, which promises they were left untouched. */
#include "sgd_core.h"

#define LYING_STATUS 7

static int lying_step(zlr_state *s, double lr, double *p, const double *g, size_t n) {
  if (lr <= 0.5) return sgd_step(s, lr, p, g, n);
  if (s && n == s->n) {
    size_t i;
    for (i = 0; i < n; ++i) p[i] = p[i] - lr * g[i];
  }
  return LYING_STATUS;
}

static int lying_step_f32(zlr_state *s, float lr, float *p, const float *g, size_t n) {
  if (lr <= 0.5f) return sgd_step_f32(s, lr, p, g, n);
  if (s && n == s->n) {
    size_t i;
    for (i = 0; i < n; ++i) p[i] = p[i] - lr * g[i];
  }
  return LYING_STATUS;
}

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) {
  static const zlr_optimizer_plugin plugin = {ZLR_PLUGIN_ABI_VERSION, "lying-refusal", "sgd", sgd_create,
                                              lying_step, lying_step_f32, sgd_destroy};
  return &plugin;
}
