/* zerolr's optimizer plug-in ABI, version 1. C-compatible: no C++ in this header.
 *
 * A plug-in is a shared library that exports one symbol, zlr_optimizer_plugin_v1, returning
 * a description of the optimizer it implements over one flat parameter vector.
 *
 * Semantics:
 * - create(n) is called once per case, with a fresh state for one flat parameter vector;
 *   n may be 1. It returns NULL on failure.
 * - step is called once per training step, with that step's lr. It returns 0 when it stepped.
 *   A non-zero return means it refused the step, and promises that params are untouched.
 * - step_f32, when not NULL, is the same in float; the audit then also runs float cases
 *   through it. Each state is used with one precision only.
 * - claims, when not NULL, is an optimizer spec in zerolr's syntax naming the rule the
 *   plug-in claims to implement (PyTorch semantics), e.g. "adamw(weight_decay=0.01)"; the
 *   audit then also compares the plug-in's trajectories against the reference of that rule.
 *   The lr in the spec is ignored: the audit passes each step's lr.
 * - destroy frees a state made by create.
 */
#ifndef ZEROLR_PLUGIN_H
#define ZEROLR_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZLR_PLUGIN_ABI_VERSION 1
typedef struct zlr_state zlr_state;
typedef struct zlr_optimizer_plugin {
  int abi_version;    /* ZLR_PLUGIN_ABI_VERSION */
  const char *name;
  const char *claims; /* optimizer spec of the rule it implements, or NULL */
  zlr_state *(*create)(size_t n_params);
  int (*step)(zlr_state *state, double lr, double *params, const double *grads, size_t n_params);
  int (*step_f32)(zlr_state *state, float lr, float *params, const float *grads, size_t n_params); /* may be NULL */
  void (*destroy)(zlr_state *state);
} zlr_optimizer_plugin;
/* the one symbol a plug-in exports */
const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void);

#ifdef __cplusplus
}
#endif

#endif /* ZEROLR_PLUGIN_H */
