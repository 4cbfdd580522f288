/*
 * Boot the a-b guest with guest RAM from each kind of memory backend and
 * check that it runs and that the RAM block carries the backend's name and
 * page size:
 *
 *   /memory-backend/default          riscv_virt_board.ram, anonymous
 *   /memory-backend/mem-prealloc     -mem-prealloc
 *   /memory-backend/ram              memory-backend-ram via -machine memory-backend
 *   /memory-backend/ram-share        memory-backend-ram,share=on via -numa node,memdev
 *   /memory-backend/memfd            memory-backend-memfd,prealloc=on
 *   /memory-backend/file             memory-backend-file in a temp dir
 *   /memory-backend/memfd-hugetlb    memory-backend-memfd,hugetlb=on (2 MiB pages)
 *   /memory-backend/file-hugetlbfs   memory-backend-file,mem-path=/dev/hugepages
 *
 * The huge-page cases skip with the reason when the host has too few free
 * 2 MiB pages or no hugetlbfs mount (scripts/setup-test-host.sh sets both
 * up when run as root).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "libqtest.h"
#include "migration-helpers.h"

#define GUEST_RAM_MB 128
#define HUGETLBFS_MAGIC_VALUE 0x958458f6

typedef struct BackendCase {
    const char *name;
    const char *args;      /* printf format; %s = a private directory */
    const char *block;     /* expected RAM block name */
    const char *psize;     /* expected PSize column */
    bool hugetlb;          /* needs free 2 MiB pages */
    bool hugetlbfs;        /* needs hugetlbfs on /dev/hugepages */
} BackendCase;

static const BackendCase cases[] = {
    { "default", "", "riscv_virt_board.ram", "4 KiB" },
    { "mem-prealloc", "-mem-prealloc", "riscv_virt_board.ram", "4 KiB" },
    { "ram", "-object memory-backend-ram,id=mem0,size=128M "
             "-machine memory-backend=mem0", "mem0", "4 KiB" },
    { "ram-share", "-object memory-backend-ram,id=shm,size=128M,share=on "
                   "-numa node,memdev=shm", "shm", "4 KiB" },
    { "memfd", "-object memory-backend-memfd,id=mfd,size=128M,prealloc=on "
               "-machine memory-backend=mfd", "mfd", "4 KiB" },
    { "file", "-object memory-backend-file,id=mf,size=128M,mem-path=%s,share=on "
              "-machine memory-backend=mf", "mf", "4 KiB" },
    { "memfd-hugetlb", "-object memory-backend-memfd,id=hmfd,size=128M,hugetlb=on,"
                       "hugetlbsize=2M -machine memory-backend=hmfd",
      "hmfd", "2 MiB", true, false },
    { "file-hugetlbfs", "-object memory-backend-file,id=hf,size=128M,"
                        "mem-path=/dev/hugepages,share=on,prealloc=on "
                        "-machine memory-backend=hf",
      "hf", "2 MiB", true, true },
};

static bool hugetlbfs_mounted(void)
{
    struct statfs st;

    return statfs("/dev/hugepages", &st) == 0 &&
           (unsigned long)st.f_type == HUGETLBFS_MAGIC_VALUE;
}

static void test_backend(gconstpointer opaque)
{
    const BackendCase *c = opaque;
    g_autofree char *image = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *args = NULL;
    g_autofree char *ramblock = NULL;
    g_autofree char *row = NULL;
    QTestState *s;
    size_t pos = 0;

    if (c->hugetlb && mig_free_huge_pages_2m() < GUEST_RAM_MB / 2) {
        g_test_skip("fewer than 64 free 2 MiB huge pages "
                    "(reserve them in /proc/sys/vm/nr_hugepages)");
        return;
    }
    if (c->hugetlbfs && !hugetlbfs_mounted()) {
        g_test_skip("no hugetlbfs mounted on /dev/hugepages");
        return;
    }

    image = qtest_guest_image("a-b");
    dir = g_dir_make_tmp("godwit-membe-XXXXXX", NULL);
    g_assert_nonnull(dir);
    args = g_strdup_printf(c->args, dir);
    s = qtest_initf("-M virt -m %dM -bios none -kernel %s %s",
                    GUEST_RAM_MB, image, args);

    g_assert_true(qtest_serial_wait_char(s, 'A', &pos, 60000));
    g_assert_true(qtest_serial_wait_char(s, 'B', &pos, 60000));
    g_assert_true(qtest_serial_wait_char(s, 'B', &pos, 60000));

    ramblock = qtest_hmp(s, "info ramblock");
    row = g_strdup_printf("%24s %8s", c->block, c->psize);
    if (!strstr(ramblock, row)) {
        g_error("info ramblock has no row starting \"%s\":\n%s", row, ramblock);
    }
    g_assert_nonnull(strstr(ramblock, "riscv_virt_board.mrom"));

    qtest_quit(s);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/memory-backend/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_backend);
    }
    return g_test_run();
}
