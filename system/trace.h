/* Trace points of system/ (declared in system/trace-events). */
#include "trace-system.h"
