/*
 * Postcopy blocktime and fault latency on the destination: see
 * postcopy-blocktime.h for the figures and their definitions.
 *
 * Bookkeeping: each vCPU waits on at most one host page at a time (its
 * thread is blocked in the kernel), so a vCPU has one (address, start)
 * slot.  Other threads (the main loop, device emulation) may wait too;
 * their faults are kept per host page in a hash table until it is placed.
 * "All vCPUs blocked" starts when the last running vCPU faults and ends
 * at the first placement that frees one of them (as QEMU 7.2 counts it).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/host-utils.h"
#include "hw/core/cpu.h"
#include "migration/postcopy-blocktime.h"
#include "trace.h"

/* Log-linear histogram: 16 steps per power of two of nanoseconds. */
#define PC_FINE_SUB_BITS   4
#define PC_FINE_SUB        (1 << PC_FINE_SUB_BITS)
#define PC_FINE_BUCKETS    (64 * PC_FINE_SUB)

typedef struct PcNonVcpuFault {
    int64_t begin_ns;
    uint32_t tid;
} PcNonVcpuFault;

struct PostcopyBlocktime {
    /* set once */
    int ncpus;
    int *tids;                   /* vCPU i's Linux thread id */
    int64_t start_ns;

    /* everything below under lock */
    QemuMutex lock;
    uint64_t *vcpu_addr;         /* host page vCPU i waits on, or 0 */
    int64_t *vcpu_begin;         /* when it began waiting */
    uint64_t *vcpu_total_ns;     /* blocked time of vCPU i */
    uint64_t *vcpu_faults;       /* remote faults of vCPU i */
    int ncpus_down;              /* vCPUs waiting now */
    int64_t all_down_since;      /* when the last one began waiting */
    uint64_t total_ns;           /* time every vCPU waited at once */
    /* host page address -> GArray of PcNonVcpuFault */
    GHashTable *others;
    uint64_t non_vcpu_total_ns;
    uint64_t non_vcpu_faults;
    uint64_t dist[POSTCOPY_LATENCY_BUCKETS];
    uint64_t fine[PC_FINE_BUCKETS];
    uint64_t max_ns;
};

static int64_t bt_now(void)
{
    return get_clock();
}

static void free_array(gpointer p)
{
    g_array_free(p, true);
}

PostcopyBlocktime *postcopy_blocktime_new(void)
{
    PostcopyBlocktime *bt = g_new0(PostcopyBlocktime, 1);
    CPUState *cpu;
    int n = 0;

    CPU_FOREACH(cpu) {
        n = MAX(n, cpu->cpu_index + 1);
    }
    bt->ncpus = n;
    bt->tids = g_new0(int, MAX(n, 1));
    CPU_FOREACH(cpu) {
        bt->tids[cpu->cpu_index] = cpu->thread_id;
    }
    bt->start_ns = bt_now();
    qemu_mutex_init(&bt->lock);
    bt->vcpu_addr = g_new0(uint64_t, MAX(n, 1));
    bt->vcpu_begin = g_new0(int64_t, MAX(n, 1));
    bt->vcpu_total_ns = g_new0(uint64_t, MAX(n, 1));
    bt->vcpu_faults = g_new0(uint64_t, MAX(n, 1));
    bt->others = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                       free_array);
    return bt;
}

void postcopy_blocktime_free(PostcopyBlocktime *bt)
{
    if (!bt) {
        return;
    }
    g_hash_table_destroy(bt->others);
    qemu_mutex_destroy(&bt->lock);
    g_free(bt->tids);
    g_free(bt->vcpu_addr);
    g_free(bt->vcpu_begin);
    g_free(bt->vcpu_total_ns);
    g_free(bt->vcpu_faults);
    g_free(bt);
}

static int bt_vcpu_of(PostcopyBlocktime *bt, uint32_t tid)
{
    if (!tid) {
        return -1;
    }
    for (int i = 0; i < bt->ncpus; i++) {
        if (bt->tids[i] == (int)tid) {
            return i;
        }
    }
    return -1;
}

int postcopy_latency_bucket(uint64_t ns)
{
    uint64_t us = ns / 1000;
    int b = us ? 63 - clz64(us) : 0;

    return MIN(b, POSTCOPY_LATENCY_BUCKETS - 1);
}

static int bt_fine_index(uint64_t ns)
{
    int e;

    if (ns < PC_FINE_SUB) {
        return ns;
    }
    e = 63 - clz64(ns);         /* >= PC_FINE_SUB_BITS */
    return (e - PC_FINE_SUB_BITS + 1) * PC_FINE_SUB +
           ((ns >> (e - PC_FINE_SUB_BITS)) & (PC_FINE_SUB - 1));
}

/* The largest latency that falls into fine bucket @i. */
static uint64_t bt_fine_upper(int i)
{
    int e, sub;

    if (i < PC_FINE_SUB) {
        return i;
    }
    e = i / PC_FINE_SUB + PC_FINE_SUB_BITS - 1;
    sub = i % PC_FINE_SUB;
    return (((uint64_t)(PC_FINE_SUB + sub + 1)) << (e - PC_FINE_SUB_BITS)) - 1;
}

/* One remote fault ended after @ns.  Under lock. */
static void bt_account(PostcopyBlocktime *bt, uint64_t ns)
{
    bt->dist[postcopy_latency_bucket(ns)]++;
    bt->fine[bt_fine_index(ns)]++;
    bt->max_ns = MAX(bt->max_ns, ns);
}

/* vCPU @cpu's wait ended at @now.  Under lock. */
static void bt_vcpu_done(PostcopyBlocktime *bt, int cpu, int64_t now)
{
    uint64_t ns = MAX(now - bt->vcpu_begin[cpu], 0);

    bt->vcpu_addr[cpu] = 0;
    bt->vcpu_total_ns[cpu] += ns;
    bt->vcpu_faults[cpu]++;
    bt_account(bt, ns);
}

void postcopy_blocktime_begin(PostcopyBlocktime *bt, uint64_t addr,
                              uint32_t tid)
{
    int cpu = bt_vcpu_of(bt, tid);
    int64_t now = bt_now();

    qemu_mutex_lock(&bt->lock);
    if (cpu >= 0) {
        if (bt->vcpu_addr[cpu] == addr) {
            /* the same wait reported again */
            qemu_mutex_unlock(&bt->lock);
            return;
        }
        if (!bt->vcpu_addr[cpu]) {
            bt->ncpus_down++;
        } else {
            /*
             * A blocked thread waits on one page: its previous wait ended
             * (the placement woke it before its end was counted here).
             */
            bt_vcpu_done(bt, cpu, now);
        }
        bt->vcpu_addr[cpu] = addr;
        bt->vcpu_begin[cpu] = now;
        if (bt->ncpus_down == bt->ncpus) {
            bt->all_down_since = now;
        }
    } else {
        GArray *a = g_hash_table_lookup(bt->others, &addr);
        PcNonVcpuFault f = { .begin_ns = now, .tid = tid };

        if (!a) {
            uint64_t *key = g_new(uint64_t, 1);

            *key = addr;
            a = g_array_new(false, false, sizeof(PcNonVcpuFault));
            g_hash_table_insert(bt->others, key, a);
        }
        g_array_append_val(a, f);
    }
    qemu_mutex_unlock(&bt->lock);
    trace_postcopy_blocktime_begin(addr, tid, cpu);
}

void postcopy_blocktime_cancel(PostcopyBlocktime *bt, uint64_t addr,
                               uint32_t tid)
{
    int cpu = bt_vcpu_of(bt, tid);

    qemu_mutex_lock(&bt->lock);
    if (cpu >= 0) {
        if (bt->vcpu_addr[cpu] == addr) {
            bt->vcpu_addr[cpu] = 0;
            bt->ncpus_down--;
        }
    } else {
        GArray *a = g_hash_table_lookup(bt->others, &addr);

        for (guint i = 0; a && i < a->len; i++) {
            if (g_array_index(a, PcNonVcpuFault, i).tid == tid) {
                g_array_remove_index_fast(a, i);
                break;
            }
        }
        if (a && !a->len) {
            g_hash_table_remove(bt->others, &addr);
        }
    }
    qemu_mutex_unlock(&bt->lock);
}

void postcopy_blocktime_end(PostcopyBlocktime *bt, uint64_t addr)
{
    int64_t now = bt_now();
    bool all_down;
    int freed = 0;
    GArray *a;

    qemu_mutex_lock(&bt->lock);
    all_down = bt->ncpus && bt->ncpus_down == bt->ncpus;
    for (int i = 0; i < bt->ncpus; i++) {
        if (bt->vcpu_addr[i] == addr) {
            bt_vcpu_done(bt, i, now);
            freed++;
        }
    }
    if (freed) {
        bt->ncpus_down -= freed;
        if (all_down) {
            bt->total_ns += MAX(now - bt->all_down_since, 0);
        }
    }
    a = g_hash_table_lookup(bt->others, &addr);
    for (guint i = 0; a && i < a->len; i++) {
        uint64_t ns = MAX(now - g_array_index(a, PcNonVcpuFault, i).begin_ns,
                          0);

        bt->non_vcpu_total_ns += ns;
        bt->non_vcpu_faults++;
        bt_account(bt, ns);
    }
    if (a) {
        g_hash_table_remove(bt->others, &addr);
    }
    qemu_mutex_unlock(&bt->lock);
}

/* The smallest fine-bucket bound under which @pct % of the faults lie. */
static uint64_t bt_percentile(PostcopyBlocktime *bt, uint64_t count,
                              unsigned pct)
{
    uint64_t want = (count * pct + 99) / 100, seen = 0;

    for (int i = 0; i < PC_FINE_BUCKETS; i++) {
        seen += bt->fine[i];
        if (seen >= want && want) {
            return MIN(bt_fine_upper(i), bt->max_ns);
        }
    }
    return bt->max_ns;
}

void postcopy_blocktime_fill_info(PostcopyBlocktime *bt, JsonObject *info)
{
    JsonArray *vblock = json_array_new(), *vlat = json_array_new();
    JsonArray *dist = json_array_new();
    JsonObject *pct = json_object_new();
    uint64_t lat_total = 0, faults = 0;

    qemu_mutex_lock(&bt->lock);
    for (int i = 0; i < bt->ncpus; i++) {
        uint64_t total = bt->vcpu_total_ns[i];

        json_array_add_int_element(vblock, (uint32_t)(total / 1000000));
        json_array_add_int_element(vlat, bt->vcpu_faults[i] ?
                                   total / bt->vcpu_faults[i] : 0);
        lat_total += total;
        faults += bt->vcpu_faults[i];
    }
    for (int i = 0; i < POSTCOPY_LATENCY_BUCKETS; i++) {
        json_array_add_int_element(dist, bt->dist[i]);
    }
    json_object_set_int_member(info, "postcopy-blocktime",
                               (uint32_t)(bt->total_ns / 1000000));
    json_object_set_array_member(info, "postcopy-vcpu-blocktime", vblock);
    json_object_set_int_member(info, "postcopy-latency",
                               faults + bt->non_vcpu_faults ?
                               (lat_total + bt->non_vcpu_total_ns) /
                               (faults + bt->non_vcpu_faults) : 0);
    json_object_set_array_member(info, "postcopy-latency-dist", dist);
    json_object_set_array_member(info, "postcopy-vcpu-latency", vlat);
    json_object_set_int_member(info, "postcopy-non-vcpu-latency",
                               bt->non_vcpu_faults ?
                               bt->non_vcpu_total_ns / bt->non_vcpu_faults
                               : 0);
    faults += bt->non_vcpu_faults;
    json_object_set_int_member(pct, "count", faults);
    json_object_set_int_member(pct, "p50", bt_percentile(bt, faults, 50));
    json_object_set_int_member(pct, "p90", bt_percentile(bt, faults, 90));
    json_object_set_int_member(pct, "p99", bt_percentile(bt, faults, 99));
    json_object_set_int_member(pct, "max", bt->max_ns);
    qemu_mutex_unlock(&bt->lock);
    json_object_set_object_member(info, "x-postcopy-latency-percentiles", pct);
}
