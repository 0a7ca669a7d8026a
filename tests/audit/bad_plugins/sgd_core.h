/* Plain SGD (p <- p - lr * g) behind the plug-in ABI, shared by the bad plug-ins: each
 * includes it and breaks one thing. Not a plug-in by itself. The functions are static
 * inline so that a plug-in may leave some unused without a warning. */
#ifndef ZEROLR_TESTS_BAD_PLUGINS_SGD_CORE_H
#define ZEROLR_TESTS_BAD_PLUGINS_SGD_CORE_H

#include <stdlib.h>

#include "zerolr/plugin.h"

struct zlr_state {
  size_t n;
};

static inline zlr_state *sgd_create(size_t n) {
  zlr_state *s;
  if (n == 0) return NULL;
  s = (zlr_state *)malloc(sizeof *s);
  if (s) s->n = n;
  return s;
}

static inline void sgd_destroy(zlr_state *s) { free(s); }

static inline int sgd_step(zlr_state *s, double lr, double *p, const double *g, size_t n) {
  size_t i;
  if (!s || n != s->n || !(lr >= 0)) return 1;
  for (i = 0; i < n; ++i) p[i] = p[i] - lr * g[i];
  return 0;
}

static inline int sgd_step_f32(zlr_state *s, float lr, float *p, const float *g, size_t n) {
  size_t i;
  if (!s || n != s->n || !(lr >= 0)) return 1;
  for (i = 0; i < n; ++i) p[i] = p[i] - lr * g[i];
  return 0;
}

#endif
