/*
 * Progress and ETA of an outgoing migration.
 * See migration-progress.h; the formulas are documented in
 * docs/user/migration.md ("Progress, ETA and convergence").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <math.h>
#include "migration/migration-progress.h"

void mig_progress_init(MigProgress *p)
{
    memset(p, 0, sizeof(*p));
}

/*
 * The share of the projected total of bytes to send that has been sent,
 * in percent, before the maximum and the cap are applied:
 *   dirty rate not known yet (first pass):  50 * sent / (sent + remaining)
 *   bandwidth > dirty rate:  100 * sent / (sent + remaining * bw / (bw - dr))
 *     (remaining * bw / (bw - dr) is what the geometric series of passes
 *     still sends: every pass re-dirties dr/bw of what it sent)
 *   otherwise:  0 (the projected total is unbounded: no new credit)
 */
double mig_progress_raw(const MigProgress *p)
{
    double sent = p->sent, rem = p->remaining, projected;

    if (sent + rem <= 0) {
        return 0;
    }
    if (!p->dirty_known) {
        return MIG_PROGRESS_FIRST_PASS_MAX * sent / (sent + rem);
    }
    if (!p->have_bw || p->bw <= p->dirty) {
        return 0;
    }
    projected = rem * p->bw / (p->bw - p->dirty);
    return 100.0 * sent / (sent + projected);
}

/*
 * With bandwidth bw > dirty rate dr (bytes/ms) and threshold
 * T = bw * downtime-limit: the live passes bring remaining down to T at a
 * net bw - dr, then the stopped switchover sends at most T at bw:
 *   eta = (remaining - T) / (bw - dr) + downtime-limit   (remaining > T)
 *   eta = remaining / bw                                 (remaining <= T)
 */
bool mig_progress_eta(const MigProgress *p, uint64_t *eta_ms)
{
    double rem = p->remaining, threshold, eta;

    if (!p->dirty_known || !p->have_bw || p->bw <= p->dirty) {
        return false;
    }
    threshold = p->bw * p->downtime_limit;
    if (rem <= threshold) {
        eta = rem / p->bw;
    } else {
        eta = (rem - threshold) / (p->bw - p->dirty) + p->downtime_limit;
    }
    *eta_ms = (uint64_t)ceil(eta);
    return true;
}

void mig_progress_update(MigProgress *p, const MigProgressSample *s)
{
    double raw;

    if (p->completed) {
        return;
    }
    if (s->window_ms) {
        double w = (double)s->window_bytes / s->window_ms;

        p->bw = p->have_bw ? MIG_PROGRESS_BW_ALPHA * w +
                             (1 - MIG_PROGRESS_BW_ALPHA) * p->bw : w;
        p->have_bw = true;
    }
    p->sent = s->sent;
    p->remaining = s->remaining;
    p->downtime_limit = s->downtime_limit;
    if (s->sync_count != p->sync_count) {
        p->sync_count = s->sync_count;
        /* sync 1 is the setup one: everything is dirty, no rate yet */
        if (s->sync_count >= 2) {
            p->dirty_known = true;
        }
    }
    if (p->dirty_known) {
        p->dirty = (double)s->dirty_rate / 1000.0;
    }
    raw = MIN(mig_progress_raw(p), MIG_PROGRESS_CAP);
    if (raw > p->progress) {
        p->progress = raw;
    }
}

void mig_progress_complete(MigProgress *p)
{
    p->completed = true;
    p->progress = 100.0;
    p->remaining = 0;
}

void mig_progress_report(const MigProgress *p, MigProgressReport *r)
{
    memset(r, 0, sizeof(*r));
    r->progress = p->progress;
    if (p->completed) {
        r->progress = 100.0;
        r->has_eta = true;
        r->eta_ms = 0;
        r->basis = MIG_ETA_COMPLETED;
    } else if (mig_progress_eta(p, &r->eta_ms)) {
        r->has_eta = true;
        r->basis = MIG_ETA_BANDWIDTH_MINUS_DIRTY_RATE;
    } else if (p->dirty_known && p->have_bw) {
        r->basis = MIG_ETA_NOT_CONVERGING;
    } else {
        r->basis = MIG_ETA_NO_ESTIMATE_YET;
    }
}

const char *mig_eta_basis_str(MigEtaBasis b)
{
    static const char *const names[] = {
        [MIG_ETA_NO_ESTIMATE_YET] = "no-estimate-yet",
        [MIG_ETA_BANDWIDTH_MINUS_DIRTY_RATE] = "bandwidth-minus-dirty-rate",
        [MIG_ETA_NOT_CONVERGING] = "not-converging",
        [MIG_ETA_COMPLETED] = "completed",
    };

    return names[b];
}

/* ------------------------------------------------------- global instance */

/* Written by the migration thread, read by query-migrate. */
static GMutex progress_lock;
static MigProgress progress;

void migration_progress_reset(void)
{
    g_mutex_lock(&progress_lock);
    mig_progress_init(&progress);
    g_mutex_unlock(&progress_lock);
}

void migration_progress_sample(const MigProgressSample *s)
{
    g_mutex_lock(&progress_lock);
    mig_progress_update(&progress, s);
    g_mutex_unlock(&progress_lock);
}

void migration_progress_set_completed(void)
{
    g_mutex_lock(&progress_lock);
    mig_progress_complete(&progress);
    g_mutex_unlock(&progress_lock);
}

void migration_progress_fill_info(JsonObject *info, const char *status)
{
    MigProgressReport r;
    MigProgress p;

    if (!strcmp(status, "none")) {
        return;
    }
    g_mutex_lock(&progress_lock);
    p = progress;
    g_mutex_unlock(&progress_lock);
    if (!strcmp(status, "completed")) {
        mig_progress_complete(&p);
    }
    mig_progress_report(&p, &r);
    /* one decimal, rounded down: still monotonic, never 100 too early */
    json_object_set_double_member(info, "x-progress",
                                  floor(r.progress * 10.0) / 10.0);
    if (!strcmp(status, "failed") || !strcmp(status, "cancelled") ||
        !strcmp(status, "cancelling")) {
        return;                 /* where it stopped; no estimate */
    }
    if (r.has_eta) {
        json_object_set_int_member(info, "x-eta-ms", (gint64)r.eta_ms);
    }
    json_object_set_string_member(info, "x-eta-basis",
                                  mig_eta_basis_str(r.basis));
}
