/*
 * The big QEMU lock (BQL).
 *
 * A plain mutex plus a per-thread flag, so that bql_locked() answers for
 * the calling thread only.  Kept apart from main-loop.c so that code which
 * only needs the lock (vCPU threads, unit tests) does not pull in the main
 * loop.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/main-loop.h"

static QemuMutex bql;
static GOnce bql_once = G_ONCE_INIT;
static __thread bool bql_held;

static gpointer bql_init(gpointer unused)
{
    qemu_mutex_init(&bql);
    return NULL;
}

void bql_lock(void)
{
    g_once(&bql_once, bql_init, NULL);
    assert(!bql_held);
    qemu_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    assert(bql_held);
    bql_held = false;
    qemu_mutex_unlock(&bql);
}

bool bql_locked(void)
{
    return bql_held;
}
