#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Grep for patterns Godwit does not allow.  Exit 1 if any is found.
#  - printf-style diagnostics in subsystem code (use trace points or error_report)
#  - device code (hw/) including private migration headers
#  - a trailing newline or period in error_setg messages
cd "$(dirname "$0")/.." || exit 2
bad=0

hits=$(grep -rnE '\b(printf|fprintf\(stderr|puts)\(' \
        util io chardev system hw target migration monitor qapi \
        --include='*.c' 2>/dev/null |
       grep -v -e 'util/qemu-error.c' -e 'util/trace.c' -e 'system/vl.c' -e 'lint-ok')
if [ -n "$hits" ]; then
    echo "lint: printf-style diagnostics (use trace points or error_report):"
    echo "$hits"
    bad=1
fi

hits=$(grep -rnE '#include "migration/[a-z-]+\.h"' hw target 2>/dev/null |
       grep -v -e 'migration/vmstate.h' -e 'migration/register.h' -e 'migration/misc.h')
if [ -n "$hits" ]; then
    echo "lint: device code includes private migration headers:"
    echo "$hits"
    bad=1
fi

hits=$(grep -rnE 'error_setg(_errno)?\([^"]*"[^"]*(\\n|\.)"' \
        util io chardev system hw target migration monitor --include='*.c' 2>/dev/null)
if [ -n "$hits" ]; then
    echo "lint: error messages end with a newline or a period:"
    echo "$hits"
    bad=1
fi

[ $bad = 0 ] && echo "lint: clean"
exit $bad
