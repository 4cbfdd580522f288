/*
 * The convergence verdict and x-auto-postcopy; see
 * migration-convergence.h and docs/devel/migration/convergence.rst.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <math.h>
#include "sysemu/cpus.h"
#include "migration/migration.h"
#include "migration/migration-convergence.h"
#include "migration/options.h"
#include "migration/trace.h"

void mig_conv_init(MigConv *c)
{
    memset(c, 0, sizeof(*c));
}

void mig_conv_window(MigConv *c, uint64_t bytes, uint64_t ms, int64_t now_ms)
{
    if (ms) {
        double w = (double)bytes / ms;

        c->bw = c->have_bw ? MIG_CONV_BW_ALPHA * w +
                             (1 - MIG_CONV_BW_ALPHA) * c->bw : w;
        c->have_bw = true;
    }
    if (bytes || !c->last_progress_ms) {
        c->last_progress_ms = now_ms;
    }
}

static bool expected_downtime(const MigConv *c, uint64_t *ms)
{
    if (!c->passes || !c->have_bw || c->bw <= 0) {
        return false;
    }
    *ms = (uint64_t)ceil((double)c->remaining / c->bw);
    return true;
}

/*
 * One pass: converging when what was dirty at this sync fits in the
 * downtime at this bandwidth (the next switchover check completes), or
 * when the minimum shrank by 5% or more since the last sync; diverging
 * when it did not.  With one minimum only (the first live sync) the rates
 * decide: dirty rate below 0.9 of the bandwidth converging, above 1.1
 * diverging, in between no opinion.
 */
MigVerdict mig_conv_raw_verdict(const MigConv *c)
{
    uint64_t down;
    double ratio;

    if (!c->passes || !c->have_bw) {
        return MIG_VERDICT_UNKNOWN;
    }
    if (expected_downtime(c, &down) && down <= c->env.downtime_limit) {
        return MIG_VERDICT_CONVERGING;
    }
    if (c->passes >= 2) {
        return (double)c->remaining <
               MIG_CONV_SHRINK * (double)c->prev_remaining ?
               MIG_VERDICT_CONVERGING : MIG_VERDICT_DIVERGING;
    }
    if (c->bw <= 0) {
        return MIG_VERDICT_DIVERGING;
    }
    ratio = (double)c->dirty_rate / 1000.0 / c->bw;
    if (ratio < MIG_CONV_RATIO_LOW) {
        return MIG_VERDICT_CONVERGING;
    }
    if (ratio > MIG_CONV_RATIO_HIGH) {
        return MIG_VERDICT_DIVERGING;
    }
    return MIG_VERDICT_UNKNOWN;
}

bool mig_conv_pass(MigConv *c, uint64_t pass, uint64_t remaining,
                   uint64_t dirty_rate, const MigConvEnv *env)
{
    MigVerdict raw;
    uint64_t down;
    bool fits;

    c->prev_remaining = c->remaining;
    c->remaining = remaining;
    c->dirty_rate = dirty_rate;
    c->pass = pass;
    c->passes++;
    c->env = *env;
    raw = mig_conv_raw_verdict(c);
    c->raw_streak = raw == c->raw ? c->raw_streak + 1 : 1;
    c->raw = raw;
    /* what fits in the downtime is final: the switchover check follows */
    fits = expected_downtime(c, &down) && down <= c->env.downtime_limit;
    if (raw != MIG_VERDICT_UNKNOWN &&
        (c->raw_streak >= MIG_CONV_AGREE_PASSES || fits)) {
        c->verdict = raw;
    }
    c->diverging_streak = c->verdict == MIG_VERDICT_DIVERGING ?
                          c->diverging_streak + 1 : 0;
    return c->diverging_streak >= MIG_CONV_AUTO_POSTCOPY_PASSES;
}

/*
 * What would converge, aiming at each pass leaving at most half of the
 * last (MIG_CONV_TARGET_RATIO): with the guest dirtying d bytes/s at
 * throttle p, bandwidth d / 0.5; or at this bandwidth b the throttle
 * 1 - (1 - p) * 0.5 * b / d (dirtying taken as proportional to the CPU
 * the guest gets).  When the guest rewrote its whole working set within
 * the pass, d is the size of that set per pass and both are lower bounds.
 */
static void fill_advice(const MigConv *c, MigConvReport *r)
{
    double d = (double)c->dirty_rate, b = c->bw * 1000.0, p;

    r->advice = MIG_ADVICE_NONE;
    if (r->verdict != MIG_VERDICT_DIVERGING &&
        r->verdict != MIG_VERDICT_STALLED) {
        return;
    }
    if (r->verdict == MIG_VERDICT_STALLED || d <= 0) {
        /* nothing moves, or nothing is dirtied: only bandwidth helps */
        r->advice = MIG_ADVICE_MORE_BANDWIDTH;
        return;
    }
    r->has_advice_bandwidth = true;
    r->advice_bandwidth = (uint64_t)ceil(d / MIG_CONV_TARGET_RATIO);
    p = 100.0 * (1.0 - (1.0 - c->env.throttle_pct / 100.0) *
                 MIG_CONV_TARGET_RATIO * b / d);
    p = ceil(MAX(p, (double)c->env.throttle_pct + 1));
    if (p <= 99) {
        r->has_advice_throttle = true;
        r->advice_throttle = (unsigned)p;
    }
    if (r->has_advice_throttle && r->advice_throttle <= c->env.max_throttle) {
        r->advice = MIG_ADVICE_THROTTLE;
    } else if (c->env.postcopy_ram) {
        r->advice = MIG_ADVICE_POSTCOPY;
    } else {
        r->advice = MIG_ADVICE_MORE_BANDWIDTH;
    }
}

void mig_conv_report(const MigConv *c, bool active, int64_t now_ms,
                     MigConvReport *r)
{
    memset(r, 0, sizeof(*r));
    r->verdict = c->verdict;
    if (active && c->last_progress_ms &&
        now_ms - c->last_progress_ms >= MIG_CONV_STALL_MS) {
        r->verdict = MIG_VERDICT_STALLED;
    }
    r->dirty_rate = c->dirty_rate;
    r->bandwidth = c->have_bw ? (uint64_t)(c->bw * 1000.0) : 0;
    r->has_expected_downtime = expected_downtime(c, &r->expected_downtime);
    fill_advice(c, r);
}

const char *mig_verdict_str(MigVerdict v)
{
    static const char *const names[] = {
        [MIG_VERDICT_UNKNOWN] = "unknown",
        [MIG_VERDICT_CONVERGING] = "converging",
        [MIG_VERDICT_STALLED] = "stalled",
        [MIG_VERDICT_DIVERGING] = "diverging",
    };

    return names[v];
}

const char *mig_advice_str(MigAdvice a)
{
    static const char *const names[] = {
        [MIG_ADVICE_NONE] = "none",
        [MIG_ADVICE_MORE_BANDWIDTH] = "more-bandwidth",
        [MIG_ADVICE_THROTTLE] = "throttle",
        [MIG_ADVICE_POSTCOPY] = "postcopy",
    };

    return names[a];
}

/* ------------------------------------------------------- global instance */

/* Written by the migration thread, read by query-migrate (main thread). */
static GMutex conv_lock;
static MigConv conv;
static char *auto_postcopy_reason;      /* under conv_lock */

static int64_t conv_now_ms(void)
{
    return get_clock() / 1000000;
}

void migration_convergence_reset(void)
{
    g_mutex_lock(&conv_lock);
    mig_conv_init(&conv);
    g_free(auto_postcopy_reason);
    auto_postcopy_reason = NULL;
    g_mutex_unlock(&conv_lock);
}

void migration_convergence_window(uint64_t bytes, uint64_t ms)
{
    g_mutex_lock(&conv_lock);
    mig_conv_window(&conv, bytes, ms, conv_now_ms());
    g_mutex_unlock(&conv_lock);
}

void migration_convergence_pass(uint64_t pass, uint64_t remaining,
                                uint64_t dirty_rate)
{
    MigrationState *s = migrate_get_current();
    MigConvEnv env = {
        .downtime_limit = migrate_downtime_limit(),
        .throttle_pct = cpu_throttle_get_percentage(),
        .max_throttle = s->opts.params.max_cpu_throttle,
        .postcopy_ram = migrate_postcopy_ram(),
    };
    bool switch_now;
    MigConv c;

    g_mutex_lock(&conv_lock);
    switch_now = mig_conv_pass(&conv, pass, remaining, dirty_rate, &env);
    c = conv;
    g_mutex_unlock(&conv_lock);
    trace_migration_convergence_pass(pass, remaining, dirty_rate,
                                     (uint64_t)(c.bw * 1000.0),
                                     mig_verdict_str(c.raw),
                                     mig_verdict_str(c.verdict));
    if (switch_now && migrate_x_auto_postcopy() && migrate_postcopy_ram() &&
        !qatomic_read(&s->start_postcopy) &&
        qatomic_read(&s->state) == MIGRATION_STATUS_ACTIVE) {
        char *why = g_strdup_printf(
            "diverging for %u passes (pass %" PRIu64 "): dirty rate %" PRIu64
            " B/s, bandwidth %" PRIu64 " B/s, remaining %" PRIu64 " B at the "
            "last sync", c.diverging_streak, pass, dirty_rate,
            (uint64_t)(c.bw * 1000.0), remaining);

        trace_migration_auto_postcopy(pass, why);
        g_mutex_lock(&conv_lock);
        g_free(auto_postcopy_reason);
        auto_postcopy_reason = why;
        g_mutex_unlock(&conv_lock);
        /* as migrate-start-postcopy: the loop switches when it may */
        qatomic_set(&s->start_postcopy, true);
    }
}

void migration_convergence_fill_info(JsonObject *info, const char *status)
{
    MigConvReport r;
    JsonObject *o, *a;
    bool show;
    MigConv c;
    char *why;

    show = !strcmp(status, "setup") || !strcmp(status, "active") ||
           !strcmp(status, "pre-switchover") || !strcmp(status, "device") ||
           !strcmp(status, "postcopy-active");
    g_mutex_lock(&conv_lock);
    c = conv;
    why = g_strdup(auto_postcopy_reason);
    g_mutex_unlock(&conv_lock);
    if (why) {
        json_object_set_string_member(info, "x-auto-postcopy-reason", why);
        g_free(why);
    }
    if (!show) {
        return;
    }
    mig_conv_report(&c, !strcmp(status, "active"), conv_now_ms(), &r);
    o = json_object_new();
    json_object_set_string_member(o, "verdict", mig_verdict_str(r.verdict));
    json_object_set_int_member(o, "dirty-rate", (gint64)r.dirty_rate);
    json_object_set_int_member(o, "bandwidth", (gint64)r.bandwidth);
    if (r.has_expected_downtime) {
        json_object_set_int_member(o, "expected-downtime",
                                   (gint64)r.expected_downtime);
    }
    json_object_set_int_member(o, "passes", (gint64)c.passes);
    a = json_object_new();
    json_object_set_string_member(a, "action", mig_advice_str(r.advice));
    if (r.has_advice_bandwidth) {
        json_object_set_int_member(a, "bandwidth", (gint64)r.advice_bandwidth);
    }
    if (r.has_advice_throttle) {
        json_object_set_int_member(a, "throttle", r.advice_throttle);
    }
    json_object_set_object_member(o, "advice", a);
    json_object_set_object_member(info, "x-convergence", o);
}

void migration_convergence_hmp(JsonObject *info, GString *out)
{
    JsonObject *o, *a;

    if (json_object_has_member(info, "x-convergence")) {
        o = json_object_get_object_member(info, "x-convergence");
        a = json_object_get_object_member(o, "advice");
        g_string_append_printf(out, "x-convergence: %s (dirty rate %" PRId64
                               " B/s, bandwidth %" PRId64 " B/s",
                               json_object_get_string_member(o, "verdict"),
                               json_object_get_int_member(o, "dirty-rate"),
                               json_object_get_int_member(o, "bandwidth"));
        if (json_object_has_member(o, "expected-downtime")) {
            g_string_append_printf(out, ", expected downtime %" PRId64 " ms",
                                   json_object_get_int_member(
                                       o, "expected-downtime"));
        }
        g_string_append_printf(out, ", %" PRId64 " passes)\n",
                               json_object_get_int_member(o, "passes"));
        g_string_append_printf(out, "x-convergence advice: %s",
                               json_object_get_string_member(a, "action"));
        if (json_object_has_member(a, "throttle")) {
            g_string_append_printf(out, ", throttle %" PRId64 " %%",
                                   json_object_get_int_member(a, "throttle"));
        }
        if (json_object_has_member(a, "bandwidth")) {
            g_string_append_printf(out, ", bandwidth %" PRId64 " B/s",
                                   json_object_get_int_member(a, "bandwidth"));
        }
        g_string_append_c(out, '\n');
    }
    if (json_object_has_member(info, "x-auto-postcopy-reason")) {
        g_string_append_printf(out, "x-auto-postcopy: %s\n",
                               json_object_get_string_member(
                                   info, "x-auto-postcopy-reason"));
    }
}
