/*
 * x-ignore-shared: a share=on RAM block is not sent; the destination maps
 * the same file (MAP_SHARED, same mem-path) and checks the block's guest
 * address and size.  Two processes on one host, the a-b guest.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "libqtest.h"
#include "migration-helpers.h"

#define SH_MEM      "128M"
#define SH_SIZE     (128ULL << 20)
/* the ROM block (virt.mrom, 0xf000) is private: at most its 15 pages */
#define ROM_PAGES   15

typedef struct Run {
    char *dir;
    char *image;
    char *mem_path;
    QTestState *from, *to;
    size_t src_pos, dst_pos;
} Run;

static void run_init(Run *r)
{
    g_autoptr(GError) err = NULL;

    memset(r, 0, sizeof(*r));
    r->dir = g_dir_make_tmp("godwit-shared-XXXXXX", &err);
    g_assert_no_error(err);
    r->image = qtest_guest_image("a-b");
    r->mem_path = g_build_filename(r->dir, "mem", NULL);
}

static void run_end(Run *r)
{
    const char *name;
    GDir *d;

    if (r->to) {
        qtest_quit(r->to);
    }
    if (r->from) {
        qtest_quit(r->from);
    }
    d = g_dir_open(r->dir, 0, NULL);
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(r->dir, name, NULL);

        unlink(p);
    }
    if (d) {
        g_dir_close(d);
    }
    rmdir(r->dir);
    g_free(r->dir);
    g_free(r->image);
    g_free(r->mem_path);
}

/* -m @mem with @backend as the machine's RAM (NULL: plain -m). */
static QTestState *start(Run *r, const char *mem, const char *backend,
                         const char *extra)
{
    return qtest_initf("-M virt -m %s -bios none -kernel %s %s%s%s %s",
                       mem, r->image, backend ? "-object " : "",
                       backend ? backend : "",
                       backend ? " -machine memory-backend=mem0" : "",
                       extra ? extra : "");
}

static char *file_backend(const char *path, const char *size, bool share)
{
    return g_strdup_printf("memory-backend-file,id=mem0,size=%s,"
                           "mem-path=%s,share=%s", size, path,
                           share ? "on" : "off");
}

static void start_source(Run *r, const char *backend)
{
    r->from = start(r, SH_MEM, backend, NULL);
    wait_for_serial(r->from, &r->src_pos, "AB");
}

/* A destination with -incoming defer and its log in {dir}/dst.log. */
static void start_dest(Run *r, const char *mem, const char *backend,
                       bool ignore_shared)
{
    g_autofree char *extra = g_strdup_printf("-incoming defer -D %s/dst.log",
                                             r->dir);

    r->to = start(r, mem, backend, extra);
    if (ignore_shared) {
        migrate_set_capability(r->to, "x-ignore-shared", true);
    }
}

static char *dest_log(Run *r)
{
    g_autofree char *p = g_build_filename(r->dir, "dst.log", NULL);
    char *text = NULL;

    g_file_get_contents(p, &text, NULL, NULL);
    return text ? text : g_strdup("");
}

static void migrate_unix(Run *r)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", r->dir);

    migrate_incoming_qmp(r->to, uri);
    migrate_qmp(r->from, uri);
}

/*
 * The stream of an x-ignore-shared migration is a few kB: it fits in the
 * socket buffers, so without a return path the source may finish before
 * the destination rejects it (QEMU 7.2 alike).  With return-path on, the
 * source waits for the destination's answer and fails when it goes away.
 */
static void migrate_unix_expect_fail(Run *r)
{
    migrate_set_capability(r->from, "return-path", true);
    migrate_unix(r);
}

/* The destination guest continues the a-b loop; its RAM is consistent. */
static void check_dest(Run *r)
{
    wait_for_serial(r->to, &r->dst_pos, "B");
    qtest_qmp_assert_success(r->to, "{\"execute\": \"stop\"}");
    qtest_qmp_eventwait(r->to, "STOP");
    check_guests_ram(r->to);
}

/* The destination's load failed: it exits 1 having logged @expect. */
static void check_dest_failed(Run *r, const char *expect)
{
    g_autofree char *log = NULL;

    migrate_wait_dest_exit(r->to, 1);
    r->to = NULL;
    log = dest_log(r);
    g_test_message("destination log: %s", log);
    g_assert_nonnull(strstr(log, expect));
}

/* share=on file, x-ignore-shared both sides: only the ROM is sent. */
static void test_shared_file(void)
{
    g_autofree char *backend = NULL;
    MigRamStats st;
    Run r;

    run_init(&r);
    backend = file_backend(r.mem_path, SH_MEM, true);
    start_source(&r, backend);
    start_dest(&r, SH_MEM, backend, true);
    migrate_set_capability(r.from, "x-ignore-shared", true);
    migrate_unix(&r);
    wait_for_migration_complete(r.from);
    migrate_read_ram_stats(r.from, &st);
    g_test_message("transferred %" PRId64 " normal %" PRId64 " duplicate %"
                   PRId64 " total %" PRId64, st.transferred, st.normal,
                   st.duplicate, st.total);
    /* no page of the 128 MiB block; the ROM's pages at most */
    g_assert_cmpint(st.normal + st.duplicate, <=, ROM_PAGES);
    g_assert_cmpint(st.normal, >=, 1);          /* the ROM is sent */
    g_assert_cmpint(st.transferred, <, 256 * 1024);
    g_assert_cmpint(st.total, >=, (int64_t)SH_SIZE);
    check_dest(&r);
    run_end(&r);
}

/*
 * The memfd variant: a memfd has no path, but Linux lets another process
 * of the same user open it through /proc/PID/fd/N.  The destination maps
 * that path with memory-backend-file,share=on.
 */
static char *find_memfd(QTestState *s, const char *name)
{
    g_autofree char *fddir = g_strdup_printf("/proc/%d/fd", (int)qtest_pid(s));
    g_autofree char *want = g_strdup_printf("/memfd:%s", name);
    GDir *d = g_dir_open(fddir, 0, NULL);
    const char *ent;
    char *found = NULL;

    g_assert_nonnull(d);
    while (!found && (ent = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(fddir, ent, NULL);
        g_autofree char *target = g_file_read_link(p, NULL);

        if (target && g_str_has_prefix(target, want)) {
            found = g_steal_pointer(&p);
        }
    }
    g_dir_close(d);
    return found;
}

static void test_shared_memfd(void)
{
    g_autofree char *dst_backend = NULL;
    g_autofree char *path = NULL;
    MigRamStats st;
    Run r;

    run_init(&r);
    start_source(&r, "memory-backend-memfd,id=mem0,size=" SH_MEM ",share=on");
    path = find_memfd(r.from, "mem0");
    if (!path) {
        g_test_skip("the source's memfd is not visible in /proc/PID/fd");
        run_end(&r);
        return;
    }
    dst_backend = file_backend(path, SH_MEM, true);
    start_dest(&r, SH_MEM, dst_backend, true);
    migrate_set_capability(r.from, "x-ignore-shared", true);
    migrate_unix(&r);
    wait_for_migration_complete(r.from);
    migrate_read_ram_stats(r.from, &st);
    g_assert_cmpint(st.normal + st.duplicate, <=, ROM_PAGES);
    check_dest(&r);
    run_end(&r);
}

/* Size mismatch: the destination refuses, the source fails and runs on. */
static void test_size_mismatch(void)
{
    g_autofree char *src_backend = NULL;
    g_autofree char *dst_backend = NULL;
    g_autofree char *err = NULL;
    Run r;

    run_init(&r);
    src_backend = file_backend(r.mem_path, SH_MEM, true);
    dst_backend = file_backend(r.mem_path, "64M", true);
    start_source(&r, src_backend);
    start_dest(&r, "64M", dst_backend, true);
    migrate_set_capability(r.from, "x-ignore-shared", true);
    migrate_unix_expect_fail(&r);
    wait_for_migration_fail(r.from, true);
    err = migrate_query_error(r.from);
    g_test_message("source error: %s", err);
    check_dest_failed(&r, "block mem0 has length 0x8000000 in the stream "
                      "but 0x4000000 here");
    mig_assert_source_alive(r.from, &r.src_pos);
    run_end(&r);
}

/*
 * GPA mismatch.  The virt machine always maps its RAM at 0x80000000, so
 * the stream is edited instead: migrate to a file, move mem0's guest
 * address in the MEM_SIZE list, load that on a destination.
 */
static void test_gpa_mismatch(void)
{
    static const uint8_t entry[] = {
        4, 'm', 'e', 'm', '0',
        0, 0, 0, 0, 0x08, 0, 0, 0,          /* used_length 128 MiB */
        0, 0, 0, 0, 0x80, 0, 0, 0,          /* GPA 0x80000000 */
    };
    g_autofree char *backend = NULL;
    g_autofree char *stream = NULL;
    g_autofree char *uri = NULL;
    g_autofree gchar *data = NULL;
    gsize len;
    uint8_t *hit;
    Run r;

    run_init(&r);
    backend = file_backend(r.mem_path, SH_MEM, true);
    start_source(&r, backend);
    migrate_set_capability(r.from, "x-ignore-shared", true);
    stream = g_build_filename(r.dir, "stream", NULL);
    /*
     * file:, not exec:cat: "completed" means the source wrote everything,
     * not that cat has (the file was read while cat still wrote it)
     */
    uri = g_strdup_printf("file:%s", stream);
    migrate_qmp(r.from, uri);
    wait_for_migration_complete(r.from);
    g_assert_true(g_file_get_contents(stream, &data, &len, NULL));
    hit = NULL;
    for (gsize i = 0; !hit && i + sizeof(entry) <= len; i++) {
        if (!memcmp(data + i, entry, sizeof(entry))) {
            hit = (uint8_t *)data + i;
        }
    }
    g_assert_nonnull(hit);
    hit[sizeof(entry) - 4] = 0x90;          /* GPA 0x90000000 */
    g_assert_true(g_file_set_contents(stream, data, len, NULL));

    start_dest(&r, SH_MEM, backend, true);
    g_free(uri);
    uri = g_strdup_printf("exec:cat %s", stream);
    migrate_incoming_qmp(r.to, uri);
    check_dest_failed(&r, "ignored block mem0 is at 0x90000000 in the stream "
                      "but 0x80000000 here");
    run_end(&r);
}

/* x-ignore-shared on one side only: the configuration record refuses. */
static void one_side(bool on_source)
{
    g_autofree char *backend = NULL;
    Run r;

    run_init(&r);
    backend = file_backend(r.mem_path, SH_MEM, true);
    start_source(&r, backend);
    start_dest(&r, SH_MEM, backend, !on_source);
    if (on_source) {
        migrate_set_capability(r.from, "x-ignore-shared", true);
    }
    migrate_unix_expect_fail(&r);
    wait_for_migration_fail(r.from, true);
    check_dest_failed(&r, on_source ?
                      "Capability x-ignore-shared is off, but received "
                      "capability is on" :
                      "Capability x-ignore-shared is on, but received "
                      "capability is off");
    mig_assert_source_alive(r.from, &r.src_pos);
    run_end(&r);
}

static void test_source_only(void)
{
    one_side(true);
}

static void test_dest_only(void)
{
    one_side(false);
}

/* x-ignore-shared with private RAM: the block is sent as usual. */
static void test_not_shared(void)
{
    MigRamStats st;
    Run r;

    run_init(&r);
    start_source(&r, NULL);
    start_dest(&r, SH_MEM, NULL, true);
    migrate_set_capability(r.from, "x-ignore-shared", true);
    migrate_ensure_converge(r.from);
    migrate_unix(&r);
    wait_for_migration_complete(r.from);
    migrate_read_ram_stats(r.from, &st);
    g_test_message("normal %" PRId64 " duplicate %" PRId64, st.normal,
                   st.duplicate);
    /* the a-b range alone is 25344 non-zero pages */
    g_assert_cmpint(st.normal, >=, (int64_t)((MIG_AB_END - MIG_AB_START) /
                                             MIG_PAGE_SIZE));
    check_dest(&r);
    run_end(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration/shared/file", test_shared_file);
    g_test_add_func("/migration/shared/memfd-via-proc", test_shared_memfd);
    g_test_add_func("/migration/shared/size-mismatch", test_size_mismatch);
    g_test_add_func("/migration/shared/gpa-mismatch", test_gpa_mismatch);
    g_test_add_func("/migration/shared/source-only", test_source_only);
    g_test_add_func("/migration/shared/dest-only", test_dest_only);
    g_test_add_func("/migration/shared/not-shared", test_not_shared);
    return g_test_run();
}
