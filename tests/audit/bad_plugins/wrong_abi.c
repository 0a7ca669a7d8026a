/* Bad plug-in: speaks an ABI version the audit does not know (99). */
#include "sgd_core.h"

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) {
  static const zlr_optimizer_plugin plugin = {99, "wrong-abi", NULL, sgd_create, sgd_step, sgd_step_f32, sgd_destroy};
  return &plugin;
}
