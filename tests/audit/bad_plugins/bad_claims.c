/* Bad plug-in: claims a spec that does not parse (beta1 = 2 is out of range). */
#include "sgd_core.h"

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) {
  static const zlr_optimizer_plugin plugin = {ZLR_PLUGIN_ABI_VERSION, "bad-claims", "adamw(beta1=2)", sgd_create,
                                              sgd_step, sgd_step_f32, sgd_destroy};
  return &plugin;
}
