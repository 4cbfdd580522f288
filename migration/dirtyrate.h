/*
 * Dirty rate measurement (migration/dirtyrate.c), private to migration/.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MIGRATION_DIRTYRATE_H
#define MIGRATION_DIRTYRATE_H

#include "qemu/osdep.h"
#include <json-glib/json-glib.h>

/*
 * Start a measurement of @calc_time seconds (milliseconds if @in_ms) in
 * @mode (DirtyRateMeasureMode's order: page-sampling, dirty-ring,
 * dirty-bitmap).  Refused while one runs, and for out-of-range arguments,
 * with QEMU's texts.  Main thread.
 */
bool dirtyrate_start(int64_t calc_time, bool in_ms, bool has_sample_pages,
                     int64_t sample_pages, int mode, Error **errp);
/* The DirtyRateInfo object (calc-time in ms if @in_ms). */
JsonObject *dirtyrate_info(bool in_ms);

/*
 * dirty-limit in a migration (migration/dirtylimit-cmds.c).
 *
 * migration_dirty_limit_guest: the throttle trigger's dirty-limit branch
 * (QEMU's name; called by ram-throttle.c's trigger, facts 6.6): limit every vCPU to vcpu-dirty-limit MB/s, measuring every
 * x-vcpu-dirty-limit-period ms.  Migration thread.
 *
 * migration_dirty_limit_end: end of migration (success, cancel, failure):
 * cancel the limits the migration set.  Main thread.
 *
 * migration_dirty_limit_fill_info: query-migrate's
 * dirty-limit-throttle-time-per-round and dirty-limit-ring-full-time.
 */
void migration_dirty_limit_guest(void);
void migration_dirty_limit_end(void);
void migration_dirty_limit_fill_info(JsonObject *info);

#endif
