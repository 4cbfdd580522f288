/*
 * The XBZRLE page cache (migration/page_cache.c): sizes refused, hits and
 * misses, the age rule that keeps fresh pages, drop, and resizing up and
 * down with the contents kept.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/page_cache.h"

#define PAGE 4096

static void fill(uint8_t *p, uint64_t addr)
{
    for (int i = 0; i < PAGE; i++) {
        p[i] = addr / PAGE + i;
    }
}

static bool holds(PageCache *c, uint64_t addr, uint64_t age)
{
    uint8_t want[PAGE];
    uint8_t *got = page_cache_lookup(c, addr, age);

    fill(want, addr);
    return got && !memcmp(got, want, PAGE);
}

static void insert(PageCache *c, uint64_t addr, uint64_t age, bool expect)
{
    uint8_t data[PAGE];
    uint8_t *p;

    fill(data, addr);
    p = page_cache_insert(c, addr, data, age);
    g_assert_true(!!p == expect);
    if (p) {
        g_assert_cmpmem(p, PAGE, data, PAGE);
    }
}

static void test_bad_sizes(void)
{
    static const struct { uint64_t size; const char *error; } bad[] = {
        { 0, "smaller than one page" },
        { PAGE - 1, "smaller than one page" },
        { 3 * PAGE, "not a power of two number" },
        { PAGE + 1, "not a power of two number" },
        /* a power of two the machine cannot give */
        { 1ULL << 62, "" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        Error *err = NULL;

        g_assert_null(page_cache_new(bad[i].size, PAGE, &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(error_get_pretty(err), bad[i].error));
        error_free(err);
    }
}

static void test_hit_miss(void)
{
    PageCache *c = page_cache_new(16 * PAGE, PAGE, &error_abort);

    g_assert_cmpuint(page_cache_slots(c), ==, 16);
    g_assert_cmpuint(page_cache_size(c), ==, 16 * PAGE);
    g_assert_null(page_cache_lookup(c, 0, 0));
    for (uint64_t a = 0; a < 16 * PAGE; a += PAGE) {
        insert(c, a, 0, true);
    }
    g_assert_cmpuint(page_cache_count(c), ==, 16);
    for (uint64_t a = 0; a < 16 * PAGE; a += PAGE) {
        g_assert_true(holds(c, a, 0));
    }
    /* same slot, other page: a miss */
    g_assert_null(page_cache_lookup(c, 16 * PAGE, 0));
    /* the same page again replaces its copy whatever its age */
    insert(c, 3 * PAGE, 0, true);
    g_assert_cmpuint(page_cache_count(c), ==, 16);
    page_cache_free(c);
}

static void test_age(void)
{
    PageCache *c = page_cache_new(4 * PAGE, PAGE, &error_abort);
    uint64_t a = PAGE, b = 5 * PAGE;    /* both in slot 1 */

    insert(c, a, 10, true);
    /* a is fresh for PAGE_CACHE_LIFETIME syncs: b is refused */
    insert(c, b, 10, false);
    insert(c, b, 10 + PAGE_CACHE_LIFETIME - 1, false);
    g_assert_true(holds(c, a, 10));
    /* a lookup refreshes a's age */
    g_assert_true(holds(c, a, 11));
    insert(c, b, 10 + PAGE_CACHE_LIFETIME, false);
    /* old enough now: b takes the slot */
    insert(c, b, 11 + PAGE_CACHE_LIFETIME, true);
    g_assert_false(holds(c, a, 20));
    g_assert_true(holds(c, b, 20));
    g_assert_cmpuint(page_cache_count(c), ==, 1);
    page_cache_free(c);
}

static void test_drop(void)
{
    PageCache *c = page_cache_new(4 * PAGE, PAGE, &error_abort);

    insert(c, 0, 0, true);
    insert(c, PAGE, 0, true);
    page_cache_drop(c, 4 * PAGE);       /* other page in slot 0: no-op */
    g_assert_true(holds(c, 0, 0));
    page_cache_drop(c, 0);
    g_assert_null(page_cache_lookup(c, 0, 0));
    g_assert_true(holds(c, PAGE, 0));
    g_assert_cmpuint(page_cache_count(c), ==, 1);
    /* a dropped slot takes any page at once */
    insert(c, 4 * PAGE, 0, true);
    page_cache_free(c);
}

static void test_resize_up(void)
{
    PageCache *c = page_cache_new(8 * PAGE, PAGE, &error_abort);

    for (uint64_t a = 0; a < 8 * PAGE; a += PAGE) {
        insert(c, a + 64 * PAGE, 1, true);
    }
    c = page_cache_resize(c, 32 * PAGE, &error_abort);
    g_assert_cmpuint(page_cache_slots(c), ==, 32);
    g_assert_cmpuint(page_cache_count(c), ==, 8);
    for (uint64_t a = 0; a < 8 * PAGE; a += PAGE) {
        g_assert_true(holds(c, a + 64 * PAGE, 1));
    }
    /* room for more now */
    insert(c, 72 * PAGE, 1, true);
    page_cache_free(c);
}

static void test_resize_down(void)
{
    PageCache *c = page_cache_new(8 * PAGE, PAGE, &error_abort);

    /* pages 0..7; in a 4-slot cache page k and k + 4 meet */
    for (uint64_t k = 0; k < 8; k++) {
        insert(c, k * PAGE, k < 4 ? 5 : 1, true);
    }
    /* the odd ones of the upper half are used more recently */
    g_assert_true(holds(c, 5 * PAGE, 9));
    g_assert_true(holds(c, 7 * PAGE, 9));
    c = page_cache_resize(c, 4 * PAGE, &error_abort);
    g_assert_cmpuint(page_cache_count(c), ==, 4);
    g_assert_true(holds(c, 0, 9));
    g_assert_true(holds(c, 5 * PAGE, 9));
    g_assert_true(holds(c, 2 * PAGE, 9));
    g_assert_true(holds(c, 7 * PAGE, 9));
    g_assert_null(page_cache_lookup(c, 4 * PAGE, 9));
    page_cache_free(c);
}

static void test_resize_fails(void)
{
    PageCache *c = page_cache_new(4 * PAGE, PAGE, &error_abort);
    Error *err = NULL;

    insert(c, PAGE, 0, true);
    g_assert_null(page_cache_resize(c, 3 * PAGE, &err));
    g_assert_nonnull(err);
    error_free(err);
    err = NULL;
    g_assert_null(page_cache_resize(c, 1ULL << 62, &err));
    g_assert_nonnull(err);
    error_free(err);
    /* untouched */
    g_assert_true(holds(c, PAGE, 0));
    page_cache_free(c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/page-cache/bad-sizes", test_bad_sizes);
    g_test_add_func("/page-cache/hit-miss", test_hit_miss);
    g_test_add_func("/page-cache/age", test_age);
    g_test_add_func("/page-cache/drop", test_drop);
    g_test_add_func("/page-cache/resize/up", test_resize_up);
    g_test_add_func("/page-cache/resize/down", test_resize_down);
    g_test_add_func("/page-cache/resize/fails", test_resize_fails);
    return g_test_run();
}
