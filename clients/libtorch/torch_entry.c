/* The entry point of one libtorch plug-in. ZLR_TORCH_DESCRIPTOR names the optimizer's
 * descriptor in torch_plugin.cpp (zlr_torch_sgd, zlr_torch_adam, ...); the build compiles
 * this file once per plug-in with a different definition. */
#include "zerolr/plugin.h"

#ifndef ZLR_TORCH_DESCRIPTOR
#error "define ZLR_TORCH_DESCRIPTOR to the descriptor function of one optimizer"
#endif

const zlr_optimizer_plugin *ZLR_TORCH_DESCRIPTOR(void);

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) { return ZLR_TORCH_DESCRIPTOR(); }
