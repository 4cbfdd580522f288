/* Trace points of monitor/ (declared in monitor/trace-events). */
#include "trace-monitor.h"
