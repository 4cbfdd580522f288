/* Trace points of target/riscv/ (declared in target/riscv/trace-events). */
#include "trace-target_riscv.h"
