/* Bad plug-in: step is NULL (step_f32 alone is not enough). */
#include "sgd_core.h"

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) {
  static const zlr_optimizer_plugin plugin = {ZLR_PLUGIN_ABI_VERSION, "null-step", NULL, sgd_create, NULL,
                                              sgd_step_f32, sgd_destroy};
  return &plugin;
}
