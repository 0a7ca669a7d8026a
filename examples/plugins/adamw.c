/* A correct zerolr plug-in: torch.optim.AdamW in plain C99, step for step as zerolr's own
 * AdamW (lib/include/zerolr/optim/adam.h), so the audit finds it bit-identical.
 *
 * With t the step after incrementing:
 *   p <- p * (1 - lr * weight_decay)        the factor computed in double, rounded once
 *   m <- beta1 * m + (1 - beta1) * g
 *   v <- beta2 * v + (1 - beta2) * g * g
 *   denom <- sqrt(v) / sqrt(1 - beta2^t) + eps
 *   p <- p - (lr / (1 - beta1^t)) * (m / denom)
 *
 * The scalar coefficients are computed in double (as PyTorch computes them in Python floats)
 * and rounded once to the tensor's type; 1 - beta^t is -expm1(t * log(beta)), which is
 * exact to about one ulp where 1 - pow(beta, t) cancels.
 *
 * Build with contraction off (-ffp-contract=off): a fused multiply-add would round once
 * where zerolr rounds twice.
 *
 * Compiled with ZLR_EXAMPLE_BROKEN_DECAY defined (broken_adamw.c), the decay forgets lr:
 * p <- p * (1 - weight_decay), the bug of tensorflow/addons#2282, which the audit's
 * zero-lr property catches (at lr = 0 the parameters still shrink).
 */
#include <math.h>
#include <stdlib.h>

#include "zerolr/plugin.h"

#define BETA1 0.9
#define BETA2 0.999
#define EPS 1e-8
#define WEIGHT_DECAY 0.01

/* One flat parameter vector's state. A state is used with one precision only; it keeps
 * moments for both so that either step function can run on it. */
struct zlr_state {
  size_t n;
  long long step; /* an integer step counter, never a float */
  double *m64, *v64;
  float *m32, *v32;
};

static zlr_state *adamw_create(size_t n) {
  zlr_state *s;
  if (n == 0) return NULL;
  s = (zlr_state *)calloc(1, sizeof *s);
  if (!s) return NULL;
  s->n = n;
  s->m64 = (double *)calloc(n, sizeof(double));
  s->v64 = (double *)calloc(n, sizeof(double));
  s->m32 = (float *)calloc(n, sizeof(float));
  s->v32 = (float *)calloc(n, sizeof(float));
  if (!s->m64 || !s->v64 || !s->m32 || !s->v32) {
    free(s->m64);
    free(s->v64);
    free(s->m32);
    free(s->v32);
    free(s);
    return NULL;
  }
  return s;
}

static void adamw_destroy(zlr_state *s) {
  if (!s) return;
  free(s->m64);
  free(s->v64);
  free(s->m32);
  free(s->v32);
  free(s);
}

/* 1 - beta^t for t >= 1, to about one ulp. */
static double one_minus_pow(double beta, long long t) {
  if (beta == 0) return 1.0;
  return -expm1((double)t * log(beta));
}

/* Whether a step can be taken; refusing leaves params untouched. */
static int refuses(const zlr_state *s, double lr, const void *params, const void *grads, size_t n) {
  return !s || !params || !grads || n != s->n || !isfinite(lr) || lr < 0;
}

static int adamw_step(zlr_state *s, double lr, double *p, const double *g, size_t n) {
  size_t i;
  double factor, step_size, bc2_sqrt;
  const double beta1 = BETA1, beta2 = BETA2, eps = EPS;
  const double one_minus_beta1 = 1.0 - BETA1, one_minus_beta2 = 1.0 - BETA2;
  if (refuses(s, lr, p, g, n)) return 1;
  ++s->step;
#ifdef ZLR_EXAMPLE_BROKEN_DECAY
  factor = 1.0 - WEIGHT_DECAY;
#else
  factor = 1.0 - lr * WEIGHT_DECAY;
#endif
  step_size = lr / one_minus_pow(BETA1, s->step);
  bc2_sqrt = sqrt(one_minus_pow(BETA2, s->step));
  for (i = 0; i < n; ++i) {
    double denom;
    p[i] = p[i] * factor;
    s->m64[i] = beta1 * s->m64[i] + one_minus_beta1 * g[i];
    s->v64[i] = beta2 * s->v64[i] + one_minus_beta2 * (g[i] * g[i]);
    denom = sqrt(s->v64[i]) / bc2_sqrt + eps;
    p[i] = p[i] - step_size * (s->m64[i] / denom);
  }
  return 0;
}

static int adamw_step_f32(zlr_state *s, float lr, float *p, const float *g, size_t n) {
  size_t i;
  float factor, step_size, bc2_sqrt;
  const float beta1 = (float)BETA1, beta2 = (float)BETA2, eps = (float)EPS;
  const float one_minus_beta1 = (float)(1.0 - BETA1), one_minus_beta2 = (float)(1.0 - BETA2);
  if (refuses(s, (double)lr, p, g, n)) return 1;
  ++s->step;
#ifdef ZLR_EXAMPLE_BROKEN_DECAY
  factor = (float)(1.0 - WEIGHT_DECAY);
#else
  factor = (float)(1.0 - (double)lr * WEIGHT_DECAY);
#endif
  step_size = (float)((double)lr / one_minus_pow(BETA1, s->step));
  bc2_sqrt = (float)sqrt(one_minus_pow(BETA2, s->step));
  for (i = 0; i < n; ++i) {
    float denom;
    p[i] = p[i] * factor;
    s->m32[i] = beta1 * s->m32[i] + one_minus_beta1 * g[i];
    s->v32[i] = beta2 * s->v32[i] + one_minus_beta2 * (g[i] * g[i]);
    denom = sqrtf(s->v32[i]) / bc2_sqrt + eps;
    p[i] = p[i] - step_size * (s->m32[i] / denom);
  }
  return 0;
}

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) {
  static const zlr_optimizer_plugin plugin = {
      ZLR_PLUGIN_ABI_VERSION,
#ifdef ZLR_EXAMPLE_BROKEN_DECAY
      "example-broken-adamw",
#else
      "example-adamw",
#endif
      "adamw(beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0.01)",
      adamw_create,
      adamw_step,
      adamw_step_f32,
      adamw_destroy,
  };
  return &plugin;
}
