/*
 * Private to system/: the shared dirty log's hooks for block creation and
 * removal (system/dirty-log.c, called by system/physmem.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef SYSTEM_DIRTY_LOG_H
#define SYSTEM_DIRTY_LOG_H

#include "exec/memory.h"

/* Give a new block an empty view for every active consumer. */
void dirty_log_block_added(RAMBlock *rb);
/* Free the block's views and boot_written map. */
void dirty_log_block_removed(RAMBlock *rb);

#endif
