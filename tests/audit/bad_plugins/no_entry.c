/* Bad plug-in: a valid shared library that exports no zlr_optimizer_plugin_v1 (it misnames
 * the entry point as the next ABI version's). */
#include "sgd_core.h"

const zlr_optimizer_plugin *zlr_optimizer_plugin_v2(void);
const zlr_optimizer_plugin *zlr_optimizer_plugin_v2(void) {
  static const zlr_optimizer_plugin plugin = {ZLR_PLUGIN_ABI_VERSION, "no-entry", NULL, sgd_create,
                                              sgd_step, sgd_step_f32, sgd_destroy};
  return &plugin;
}
