/*
 * calc-dirty-rate / query-dirty-rate: measure how fast the guest dirties
 * its memory, in a thread of its own, in one of three modes:
 *
 *   page-sampling  hash sample-pages random pages per GiB of every block at
 *                  the start and at the end; the share that changed, times
 *                  the memory size, over the period
 *   dirty-bitmap   the shared dirty log (DIRTY_VIEW_DIRTY_RATE): the pages
 *                  written during the period, counted once each
 *   dirty-ring     the per-vCPU dirty counters (Godwit's dirty ring): pages
 *                  each vCPU turned clean->dirty, the log harvested every
 *                  DIRTYRATE_REAP_MS; a rate per vCPU and their sum
 *
 * QEMU refuses the log-based modes during a migration (they would steal
 * the migration's dirty bits, and need KVM's dirty ring); Godwit's log is
 * shared (system/dirty-log.c), so every mode runs beside a migration and
 * takes nothing from it.  See docs/devel/migration/dirty-rate.rst.
 *
 * State: the measurement's configuration and results live in DirtyRateState
 * under its lock; status moves unstarted/measured -> measuring (calc, main
 * thread) -> measured (the thread).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi/qapi-commands.h"
#include "exec/memory.h"
#include "hw/core/cpu.h"
#include "monitor/monitor.h"
#include "monitor/hmp.h"
#include "migration/dirtyrate.h"
#include "migration/trace.h"

#define DIRTYRATE_MIN_CALC_MS 50
#define DIRTYRATE_MAX_CALC_MS 60000
#define DIRTYRATE_MIN_SAMPLE_PAGES 128
#define DIRTYRATE_MAX_SAMPLE_PAGES 4096
#define DIRTYRATE_DEFAULT_SAMPLE_PAGES 512
/* dirty-ring mode: how often the log is harvested (the ring "reaper") */
#define DIRTYRATE_REAP_MS 100

typedef enum {
    DR_UNSTARTED, DR_MEASURING, DR_MEASURED,
} DirtyRateStatusC;

typedef enum {
    DR_MODE_PAGE_SAMPLING, DR_MODE_DIRTY_RING, DR_MODE_DIRTY_BITMAP,
} DirtyRateModeC;

static const char *const status_names[] = {
    "unstarted", "measuring", "measured",
};
static const char *const mode_names[] = {
    "page-sampling", "dirty-ring", "dirty-bitmap",
};

typedef struct DirtyRateState {
    GMutex lock;
    /* under lock */
    DirtyRateStatusC status;
    DirtyRateModeC mode;
    int64_t start_time;         /* s since the epoch */
    int64_t calc_ms;            /* asked, then measured */
    uint64_t sample_pages;      /* per GiB; 0 outside page-sampling */
    int64_t rate;               /* MB/s once measured */
    GArray *vcpu_rates;         /* int64 MB/s by vCPU, dirty-ring mode */
    GThread *thread;            /* the last measurement's thread */
} DirtyRateState;

static DirtyRateState dr_state;

/* ------------------------------------------------------------ sampling */

typedef struct Sample {
    RAMBlock *rb;
    uint64_t offset;
    uint64_t hash;
} Sample;

/* A 64-bit hash of a page (multiply-xorshift over its words). */
static uint64_t page_hash(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    uint64_t h = 0x9e3779b97f4a7c15ULL;

    for (size_t i = 0; i < TARGET_PAGE_SIZE / 8; i++) {
        h ^= w[i] + i;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    return h;
}

/*
 * Pick @per_gib random pages per GiB of every block (at least one) and
 * hash them.  *mem_mb receives the sampled memory in MiB.
 */
static GArray *sample_take(uint64_t per_gib, double *mem_mb)
{
    GArray *s = g_array_new(false, false, sizeof(Sample));
    GRand *rand = g_rand_new();
    RAMBlock *rb;

    *mem_mb = 0;
    RAMBLOCK_FOREACH(rb) {
        uint64_t pages = rb->used_length >> TARGET_PAGE_BITS;
        uint64_t n = MAX(1, (rb->used_length * per_gib) >> 30);

        if (!pages || !rb->host) {
            continue;
        }
        *mem_mb += (double)rb->used_length / (1 << 20);
        for (uint64_t i = 0; i < n; i++) {
            Sample x = { .rb = rb };

            x.offset = ((uint64_t)g_rand_int(rand) << 32 |
                        g_rand_int(rand)) % pages << TARGET_PAGE_BITS;
            x.hash = page_hash(rb->host + x.offset);
            g_array_append_val(s, x);
        }
    }
    g_rand_free(rand);
    return s;
}

static uint64_t sample_changed(GArray *s)
{
    uint64_t changed = 0;

    for (guint i = 0; i < s->len; i++) {
        Sample *x = &g_array_index(s, Sample, i);

        if (page_hash(x->rb->host + x->offset) != x->hash) {
            changed++;
        }
    }
    return changed;
}

/* ------------------------------------------------------------ the thread */

static int64_t bytes_rate_mb(uint64_t pages, int64_t ms)
{
    return ms > 0 ? (int64_t)(pages * TARGET_PAGE_SIZE * 1000 / (uint64_t)ms
                              >> 20) : 0;
}

/* Sleep until @end_ns (CLOCK_MONOTONIC); the thread cannot be woken. */
static void sleep_until(int64_t end_ns)
{
    int64_t now;

    while ((now = get_clock()) < end_ns) {
        g_usleep(MAX(1, (end_ns - now) / 1000));
    }
}

static int64_t measure_sampling(uint64_t per_gib, int64_t calc_ms,
                                int64_t *took_ms)
{
    double mem_mb;
    int64_t t0 = get_clock();
    GArray *s = sample_take(per_gib, &mem_mb);
    uint64_t changed;
    guint n;

    sleep_until(t0 + calc_ms * 1000000);
    changed = sample_changed(s);
    *took_ms = (get_clock() - t0) / 1000000;
    n = s->len;

    trace_dirtyrate_sampled(n, changed);
    g_array_free(s, true);
    if (!n || *took_ms <= 0) {
        return 0;
    }
    return (int64_t)(changed * mem_mb / n * 1000 / *took_ms);
}

static uint64_t bitmap_drain(unsigned long **maps)
{
    uint64_t n = 0;
    RAMBlock *rb;
    int i = 0;

    RAMBLOCK_FOREACH(rb) {
        unsigned long pages = rb->used_length >> TARGET_PAGE_BITS;

        bitmap_clear(maps[i], 0, pages);
        n += ramblock_sync_dirty_log_view(rb, DIRTY_VIEW_DIRTY_RATE, maps[i],
                                          0, pages);
        i++;
    }
    return n;
}

static int64_t measure_bitmap(int64_t calc_ms, int64_t *took_ms)
{
    unsigned long **maps;
    int nblocks = 0, i = 0;
    uint64_t pages;
    int64_t t0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH(rb) {
        nblocks++;
    }
    maps = g_new0(unsigned long *, nblocks + 1);
    RAMBLOCK_FOREACH(rb) {
        maps[i++] = bitmap_new((rb->used_length >> TARGET_PAGE_BITS) + 1);
    }
    memory_global_dirty_log_start(GLOBAL_DIRTY_DIRTY_RATE);
    /* what the log held before now belongs to the period before */
    bitmap_drain(maps);
    t0 = get_clock();
    sleep_until(t0 + calc_ms * 1000000);
    pages = bitmap_drain(maps);
    *took_ms = (get_clock() - t0) / 1000000;
    memory_global_dirty_log_stop(GLOBAL_DIRTY_DIRTY_RATE);
    for (i = 0; i < nblocks; i++) {
        g_free(maps[i]);
    }
    g_free(maps);
    trace_dirtyrate_bitmap(pages, *took_ms);
    return bytes_rate_mb(pages, *took_ms);
}

static int64_t measure_ring(int64_t calc_ms, int64_t *took_ms, GArray *rates)
{
    GArray *start = g_array_new(false, true, sizeof(uint64_t));
    uint64_t total = 0;
    int64_t t0, end;
    CPUState *cpu;

    memory_global_dirty_log_start(GLOBAL_DIRTY_DIRTY_RATE);
    /* a page already dirty in the log would not count: empty it first */
    memory_dirty_log_harvest();
    CPU_FOREACH(cpu) {
        uint64_t v = qatomic_read(&cpu->dirty.pages);

        g_array_append_val(start, v);
    }
    t0 = get_clock();
    end = t0 + calc_ms * 1000000;
    while (get_clock() < end) {
        sleep_until(MIN(end, get_clock() + DIRTYRATE_REAP_MS * 1000000LL));
        memory_dirty_log_harvest();
    }
    *took_ms = (get_clock() - t0) / 1000000;
    memory_global_dirty_log_stop(GLOBAL_DIRTY_DIRTY_RATE);
    CPU_FOREACH(cpu) {
        uint64_t d = qatomic_read(&cpu->dirty.pages) -
                     g_array_index(start, uint64_t, cpu->cpu_index);
        int64_t r = bytes_rate_mb(d, *took_ms);

        g_array_append_val(rates, r);
        total += d;
        trace_dirtyrate_vcpu(cpu->cpu_index, d, r);
    }
    g_array_free(start, true);
    return bytes_rate_mb(total, *took_ms);
}

static gpointer dirtyrate_thread(gpointer opaque)
{
    DirtyRateState *st = &dr_state;
    GArray *rates = g_array_new(false, true, sizeof(int64_t));
    DirtyRateModeC mode;
    int64_t calc_ms, took_ms = 0, rate;
    uint64_t per_gib;

    g_mutex_lock(&st->lock);
    mode = st->mode;
    calc_ms = st->calc_ms;
    per_gib = st->sample_pages;
    g_mutex_unlock(&st->lock);

    switch (mode) {
    case DR_MODE_DIRTY_BITMAP:
        rate = measure_bitmap(calc_ms, &took_ms);
        break;
    case DR_MODE_DIRTY_RING:
        rate = measure_ring(calc_ms, &took_ms, rates);
        break;
    default:
        rate = measure_sampling(per_gib, calc_ms, &took_ms);
        break;
    }

    g_mutex_lock(&st->lock);
    st->rate = rate;
    st->calc_ms = took_ms;
    if (st->vcpu_rates) {
        g_array_free(st->vcpu_rates, true);
    }
    st->vcpu_rates = mode == DR_MODE_DIRTY_RING ? rates : NULL;
    st->status = DR_MEASURED;
    g_mutex_unlock(&st->lock);
    if (mode != DR_MODE_DIRTY_RING) {
        g_array_free(rates, true);
    }
    trace_dirtyrate_done(mode_names[mode], rate, took_ms);
    return NULL;
}

/* ------------------------------------------------------------ commands */

bool dirtyrate_start(int64_t calc_time, bool in_ms, bool has_sample_pages,
                     int64_t sample_pages, int mode, Error **errp)
{
    DirtyRateState *st = &dr_state;
    int64_t calc_ms = in_ms ? calc_time : calc_time * 1000;
    GThread *old;

    if (calc_time < 0 || calc_time > DIRTYRATE_MAX_CALC_MS) {
        calc_ms = -1;
    }
    g_mutex_lock(&st->lock);
    if (st->status == DR_MEASURING) {
        g_mutex_unlock(&st->lock);
        error_setg(errp, "the dirty rate is already being measured");
        return false;
    }
    g_mutex_unlock(&st->lock);
    if (calc_ms < DIRTYRATE_MIN_CALC_MS || calc_ms > DIRTYRATE_MAX_CALC_MS) {
        error_setg(errp, "Calculation time is out of range [%dms, %dms]",
                   DIRTYRATE_MIN_CALC_MS, DIRTYRATE_MAX_CALC_MS);
        return false;
    }
    if (has_sample_pages && mode != DR_MODE_PAGE_SAMPLING) {
        error_setg(errp, "sample-pages is used only in page-sampling mode");
        return false;
    }
    if (has_sample_pages && (sample_pages < DIRTYRATE_MIN_SAMPLE_PAGES ||
                             sample_pages > DIRTYRATE_MAX_SAMPLE_PAGES)) {
        error_setg(errp, "sample-pages is out of range[%d, %d]",
                   DIRTYRATE_MIN_SAMPLE_PAGES, DIRTYRATE_MAX_SAMPLE_PAGES);
        return false;
    }

    g_mutex_lock(&st->lock);
    old = st->thread;
    st->thread = NULL;
    st->status = DR_MEASURING;
    st->mode = mode;
    st->calc_ms = calc_ms;
    st->sample_pages = mode != DR_MODE_PAGE_SAMPLING ? 0 :
                       has_sample_pages ? (uint64_t)sample_pages :
                       DIRTYRATE_DEFAULT_SAMPLE_PAGES;
    st->start_time = g_get_real_time() / G_USEC_PER_SEC;
    st->rate = 0;
    g_mutex_unlock(&st->lock);
    if (old) {
        g_thread_join(old);     /* it ended: the status was measured */
    }
    trace_dirtyrate_start(mode_names[mode], calc_ms);
    g_mutex_lock(&st->lock);
    st->thread = g_thread_new("get_dirtyrate", dirtyrate_thread, NULL);
    g_mutex_unlock(&st->lock);
    return true;
}

JsonNode *qmp_calc_dirty_rate(JsonObject *args, Error **errp)
{
    int unit = qapi_arg_enum(args, "calc-time-unit", &qapi_type_TimeUnit, 0);
    int mode = qapi_arg_enum(args, "mode", &qapi_type_DirtyRateMeasureMode,
                             DR_MODE_PAGE_SAMPLING);

    dirtyrate_start(qapi_arg_int(args, "calc-time", 0), unit == 1,
                    qapi_arg_has(args, "sample-pages"),
                    qapi_arg_int(args, "sample-pages", 0), mode, errp);
    return NULL;
}

JsonObject *dirtyrate_info(bool in_ms)
{
    DirtyRateState *st = &dr_state;
    JsonObject *o = json_object_new();

    g_mutex_lock(&st->lock);
    if (st->status == DR_MEASURED) {
        json_object_set_int_member(o, "dirty-rate", st->rate);
    }
    json_object_set_string_member(o, "status", status_names[st->status]);
    json_object_set_int_member(o, "start-time", st->start_time);
    json_object_set_int_member(o, "calc-time",
                               in_ms ? st->calc_ms : st->calc_ms / 1000);
    json_object_set_string_member(o, "calc-time-unit",
                                  in_ms ? "millisecond" : "second");
    json_object_set_int_member(o, "sample-pages", st->sample_pages);
    json_object_set_string_member(o, "mode", mode_names[st->mode]);
    if (st->status == DR_MEASURED && st->vcpu_rates) {
        JsonArray *arr = json_array_new();

        for (guint i = 0; i < st->vcpu_rates->len; i++) {
            JsonObject *v = json_object_new();

            json_object_set_int_member(v, "id", i);
            json_object_set_int_member(v, "dirty-rate",
                                       g_array_index(st->vcpu_rates,
                                                     int64_t, i));
            json_array_add_object_element(arr, v);
        }
        json_object_set_array_member(o, "vcpu-dirty-rate", arr);
    }
    g_mutex_unlock(&st->lock);
    return o;
}

JsonNode *qmp_query_dirty_rate(JsonObject *args, Error **errp)
{
    int unit = qapi_arg_enum(args, "calc-time-unit", &qapi_type_TimeUnit, 0);

    return qapi_node_object(dirtyrate_info(unit == 1));
}

void hmp_calc_dirty_rate(Monitor *mon, JsonObject *args)
{
    bool ring = qapi_arg_bool(args, "dirty_ring", false);
    bool bitmap = qapi_arg_bool(args, "dirty_bitmap", false);
    int64_t sec = qapi_arg_int(args, "second", 0);
    bool has_pages = qapi_arg_has(args, "sample_pages_per_GB");
    Error *err = NULL;

    if (ring && bitmap) {
        monitor_printf(mon, "Either dirty ring or dirty bitmap "
                       "can be specified!\n");
        return;
    }
    if (!dirtyrate_start(sec, false, has_pages,
                         qapi_arg_int(args, "sample_pages_per_GB", 0),
                         ring ? DR_MODE_DIRTY_RING :
                         bitmap ? DR_MODE_DIRTY_BITMAP :
                         DR_MODE_PAGE_SAMPLING, &err)) {
        hmp_handle_error(mon, err);
        return;
    }
    monitor_printf(mon, "Starting dirty rate measurement with calc time "
                   "%" PRIi64 " seconds\n", sec);
    monitor_printf(mon, "[Please use 'info dirty_rate' to check results]\n");
}

void hmp_info_dirty_rate(Monitor *mon, JsonObject *args)
{
    JsonObject *o = dirtyrate_info(false);
    const char *mode = json_object_get_string_member(o, "mode");

    monitor_printf(mon, "Status: %s\n",
                   json_object_get_string_member(o, "status"));
    monitor_printf(mon, "Start Time: %" PRIi64 " (ms)\n",
                   json_object_get_int_member(o, "start-time"));
    if (!strcmp(mode, "page-sampling")) {
        monitor_printf(mon, "Sample Pages: %" PRIi64 " (per GB)\n",
                       json_object_get_int_member(o, "sample-pages"));
    }
    monitor_printf(mon, "Period: %" PRIi64 " (sec)\n",
                   json_object_get_int_member(o, "calc-time"));
    monitor_printf(mon, "Mode: %s\n", mode);
    monitor_printf(mon, "Dirty rate: ");
    if (json_object_has_member(o, "dirty-rate")) {
        monitor_printf(mon, "%" PRIi64 " (MB/s)\n",
                       json_object_get_int_member(o, "dirty-rate"));
        if (json_object_has_member(o, "vcpu-dirty-rate")) {
            JsonArray *a = json_object_get_array_member(o, "vcpu-dirty-rate");

            for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonObject *v = json_array_get_object_element(a, i);

                monitor_printf(mon, "vcpu[%" PRIi64 "], Dirty rate: %" PRIi64
                               " (MB/s)\n",
                               json_object_get_int_member(v, "id"),
                               json_object_get_int_member(v, "dirty-rate"));
            }
        }
    } else {
        monitor_printf(mon, "(not ready)\n");
    }
    json_object_unref(o);
}
