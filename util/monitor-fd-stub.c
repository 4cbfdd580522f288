/*
 * Godwit: fallback for monitor_get_fd() in programs without a monitor.
 *
 * util/qemu-sockets.c resolves "fd:NAME" addresses through the monitor's
 * getfd table.  Unit tests link only the objects they need, so when the
 * monitor is not linked in this weak definition keeps them linking; the
 * real one in monitor/ takes precedence whenever it is present.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "monitor/monitor.h"

__attribute__((weak)) int monitor_get_fd(const char *fdname, Error **errp)
{
    error_setg(errp, "no monitor to look up file descriptor '%s'", fdname);
    return -1;
}
