/* Trace points of io/ (declared in io/trace-events). */
#include "trace-io.h"
