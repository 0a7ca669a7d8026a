/* Bad plug-in: its name is NULL. */
#include "sgd_core.h"

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) {
  static const zlr_optimizer_plugin plugin = {ZLR_PLUGIN_ABI_VERSION, NULL, NULL, sgd_create, sgd_step, sgd_step_f32,
                                              sgd_destroy};
  return &plugin;
}
