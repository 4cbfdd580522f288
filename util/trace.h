/* Trace points of util/ (declared in util/trace-events). */
#include "trace-util.h"
