/* A broken zerolr plug-in: adamw.c with the decoupled weight decay not multiplied by lr,
 * p <- p * (1 - weight_decay), as in tensorflow/addons#2282. It claims AdamW all the same;
 * the audit's job is to notice that lr = 0 still shrinks the parameters. */
#define ZLR_EXAMPLE_BROKEN_DECAY 1
#include "adamw.c"
