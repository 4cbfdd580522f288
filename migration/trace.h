/* Trace points of migration/ (declared in migration/trace-events). */
#include "trace-migration.h"
