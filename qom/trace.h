/* Trace points of qom/ (declared in qom/trace-events). */
#include "trace-qom.h"
