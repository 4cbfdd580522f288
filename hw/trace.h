/* Trace points of hw/ (declared in hw/trace-events). */
#include "trace-hw.h"
