/* Trace points of chardev/ (declared in chardev/trace-events). */
#include "trace-chardev.h"
