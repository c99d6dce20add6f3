/* dync: dynamic computation graphs and recurrent networks in C.
 * The one header a user includes: the engine (dy_core.h), the ops (dy_ops.h),
 * parameters and trainers (dy_nn.h) and the RNN builders and models
 * (dy_models.h). Link with $(pkg-config --libs dync). */
#ifndef DYNC_H
#define DYNC_H
#include "dy_core.h"
#include "dy_ops.h"
#if defined(__has_include)
#if __has_include("dy_nn.h")
#include "dy_nn.h"
#endif
#if __has_include("dy_models.h")
#include "dy_models.h"
#endif
#endif
#endif
