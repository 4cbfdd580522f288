/* Trace points of crypto/ (declared in crypto/trace-events). */
#include "trace-crypto.h"
