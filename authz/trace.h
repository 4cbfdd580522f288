/* Trace points of authz/ (declared in authz/trace-events). */
#include "trace-authz.h"
