/* Bad plug-in: the entry point exists but returns NULL. */
#include <stddef.h>

#include "zerolr/plugin.h"

const zlr_optimizer_plugin *zlr_optimizer_plugin_v1(void) { return NULL; }
