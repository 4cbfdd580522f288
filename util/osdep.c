/*
 * Godwit: host facts cached at start-up.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"

uintptr_t qemu_real_host_page_size = 4096;

static void __attribute__((constructor)) osdep_init(void)
{
    long ps = sysconf(_SC_PAGESIZE);

    if (ps > 0) {
        qemu_real_host_page_size = ps;
    }
}
