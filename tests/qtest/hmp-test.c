/*
 * HMP tests through human-monitor-command: output formats of info
 * status/version/ramblock/registers, x/xp, errors, help, and a raw HMP
 * socket with the prompt.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "libqtest.h"

#define MACHINE "-M virt -m 64M -bios none -display none"
#define SCRATCH 0x80200000ULL

static void assert_hmp(QTestState *s, const char *cmd, const char *expect)
{
    g_autofree char *out = qtest_hmp(s, "%s", cmd);

    g_assert_cmpstr(out, ==, expect);
}

static void test_info_status_version(void)
{
    QTestState *s = qtest_init(MACHINE);
    g_autofree char *ver = NULL;

    assert_hmp(s, "info status", "VM status: running\r\n");
    assert_hmp(s, "stop", "");
    assert_hmp(s, "info status", "VM status: paused\r\n");
    assert_hmp(s, "c", "");
    assert_hmp(s, "info status", "VM status: running\r\n");
    ver = qtest_hmp(s, "info version");
    g_assert_true(g_str_has_prefix(ver, "7.2.0 (Godwit "));
    g_assert_true(g_str_has_suffix(ver, ")\r\n"));
    qtest_quit(s);
}

static void test_info_ramblock(void)
{
    QTestState *s = qtest_init(MACHINE);
    g_autofree char *out = qtest_hmp(s, "info ramblock");
    g_auto(GStrv) lines = g_strsplit(out, "\r\n", -1);
    bool ram = false, rom = false;

    g_assert_cmpstr(lines[0], ==, "              Block Name    PSize"
                    "              Offset               Used              Total");
    for (int i = 1; lines[i] && *lines[i]; i++) {
        char name[64], psize[16], unit[8];
        unsigned long long off, used, total;

        /* "%24s %8s  0x%016 0x%016 0x%016" */
        g_assert_cmpuint(strlen(lines[i]), ==, 24 + 1 + 8 + 2 + 18 * 3 + 2);
        g_assert_cmpint(sscanf(lines[i], "%63s %15s %7s 0x%llx 0x%llx 0x%llx",
                               name, psize, unit, &off, &used, &total), ==, 6);
        g_assert_cmpstr(lines[i] + 24 + 1 + 8, ==, strstr(lines[i], "  0x"));
        if (!strcmp(name, "riscv_virt_board.ram")) {
            ram = true;
            g_assert_cmpuint(used, ==, 64 << 20);
            g_assert_cmpuint(total, ==, 64 << 20);
        } else if (!strcmp(name, "riscv_virt_board.mrom")) {
            rom = true;
            g_assert_cmpuint(used, >, 0);
        }
        g_assert_true(g_str_has_suffix(unit, "iB") || !strcmp(unit, "B"));
    }
    g_assert_true(ram);
    g_assert_true(rom);
    qtest_quit(s);
}

static void test_info_registers(void)
{
    QTestState *s = qtest_init(MACHINE);
    g_autofree char *out = qtest_hmp(s, "info registers");
    g_autofree char *out1 = NULL;

    g_assert_nonnull(strstr(out, "pc"));
    assert_hmp(s, "cpu 0", "");
    assert_hmp(s, "cpu 77", "invalid CPU index\r\n");
    out1 = qtest_hmp(s, "info registers");
    g_assert_nonnull(strstr(out1, "pc"));
    qtest_quit(s);
}

static void test_memory_dump(void)
{
    QTestState *s = qtest_init(MACHINE);
    const uint8_t data[] = { 0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55,
                             0xcc, 0xbb, 0xaa, 0x99, 0x00, 0xff, 0xee, 0xdd,
                             'H', 'i', '\n', 0x01, 0x7f, '\'', 'z', 0 };

    qtest_memwrite(s, SCRATCH, data, sizeof(data));
    assert_hmp(s, "xp /4wx 0x80200000",
               "0000000080200000: 0x11223344 0x55667788 0x99aabbcc 0xddeeff00\r\n");
    assert_hmp(s, "xp /6wx 0x80200000",
               "0000000080200000: 0x11223344 0x55667788 0x99aabbcc 0xddeeff00\r\n"
               "0000000080200010: 0x010a6948 0x007a277f\r\n");
    assert_hmp(s, "x /2g 0x80200000",
               "0000000080200000: 0x5566778811223344 0xddeeff0099aabbcc\r\n");
    assert_hmp(s, "xp/3xb 0x80200000",
               "0000000080200000: 0x44 0x33 0x22\r\n");
    assert_hmp(s, "xp /10xb 0x80200000",
               "0000000080200000: 0x44 0x33 0x22 0x11 0x88 0x77 0x66 0x55\r\n"
               "0000000080200008: 0xcc 0xbb\r\n");
    assert_hmp(s, "xp /2dh 0x80200000", "0000000080200000: 13124  4386\r\n");
    assert_hmp(s, "xp /2uw 0x80200000",
               "0000000080200000:  287454020 1432778632\r\n");
    assert_hmp(s, "xp /1ow 0x80200000", "0000000080200000: 02110431504\r\n");
    assert_hmp(s, "xp /5c 0x80200010",
               "0000000080200010: 'H' 'i' '\\n' '\\x01' '\\x7f'\r\n");
    /* the last format and size are remembered */
    assert_hmp(s, "xp /1xw 0x80200000", "0000000080200000: 0x11223344\r\n");
    assert_hmp(s, "xp 0x80200004", "0000000080200004: 0x55667788\r\n");
    /* expressions */
    assert_hmp(s, "xp /1xw 0x80200000+8", "0000000080200008: 0x99aabbcc\r\n");
    qtest_quit(s);
}

static void test_errors(void)
{
    QTestState *s = qtest_init(MACHINE);

    assert_hmp(s, "foo", "unknown command: 'foo'\r\n");
    assert_hmp(s, "info foo", "unknown command: 'info foo'\r\n");
    assert_hmp(s, "xp /4q 0x80200000", "invalid char in format: 'q'\r\n");
    assert_hmp(s, "closefd nosuch",
               "Error: File descriptor named 'nosuch' not found\r\n");
    assert_hmp(s, "", "");
    qtest_quit(s);
}

/* help lists every HMP command of the schema (docs/user/hmp-commands.md) */
static void test_help(void)
{
    QTestState *s = qtest_init(MACHINE);
    g_autofree char *help = qtest_hmp(s, "help");
    g_autofree char *help_info = qtest_hmp(s, "help info");
    g_autofree char *info = qtest_hmp(s, "info");
    g_autofree char *doc_path = g_build_filename(g_test_get_dir(G_TEST_DIST),
                                                 "..", "..", "docs", "user",
                                                 "hmp-commands.md", NULL);
    g_autofree char *doc = NULL;
    g_auto(GStrv) lines = NULL;
    int n = 0;

    g_assert_true(g_file_get_contents(doc_path, &doc, NULL, NULL));
    g_assert_cmpstr(help_info, ==, info);
    lines = g_strsplit(doc, "\n", -1);
    for (int i = 0; lines[i]; i++) {
        g_autofree char *name = NULL;
        g_autofree char *needle = NULL;
        const char *p;

        if (!g_str_has_prefix(lines[i], "## `")) {
            continue;
        }
        p = lines[i] + 4;
        if (g_str_has_prefix(p, "info ") && p[5] != '[') {
            name = g_strndup(p, strcspn(p + 5, " `") + 5);
            needle = g_strdup_printf("\n%s ", name);
            g_assert_true(g_str_has_prefix(help_info, name) ||
                          strstr(help_info, needle));
        } else {
            name = g_strndup(p, strcspn(p, " `"));
            needle = g_strdup_printf("\n%s ", name);
            g_assert_true(g_str_has_prefix(help, name) || strstr(help, needle));
        }
        n++;
    }
    g_assert_cmpint(n, >=, 15);
    assert_hmp(s, "help stop", "stop  -- stop emulation\r\n");
    qtest_quit(s);
}

/* Read from @fd until the text read so far ends with @end (30 s at most). */
static char *read_until(int fd, const char *end)
{
    GString *buf = g_string_new(NULL);

    while (!g_str_has_suffix(buf->str, end)) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char tmp[1024];
        ssize_t n;

        g_assert_cmpint(poll(&pfd, 1, 30000), ==, 1);
        n = read(fd, tmp, sizeof(tmp));
        g_assert_cmpint(n, >, 0);
        g_string_append_len(buf, tmp, n);
    }
    return g_string_free(buf, FALSE);
}

static void test_socket_monitor(void)
{
    g_autofree char *dir = g_dir_make_tmp("hmp-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "hmp.sock", NULL);
    QTestState *s = qtest_initf(MACHINE " -monitor unix:%s,server=on,wait=off",
                                path);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_autofree char *banner = NULL;
    g_autofree char *out = NULL;

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    banner = read_until(fd, "(qemu) ");
    g_assert_nonnull(strstr(banner, "monitor - type 'help' for more information"));
    /* typed with a typo and a backspace; the editor echoes */
    g_assert_cmpint(write(fd, "info statuz\x7fs\r", 14), ==, 14);
    out = read_until(fd, "(qemu) ");
    g_assert_nonnull(strstr(out, "VM status: running\r\n"));
    close(fd);
    qtest_quit(s);
    unlink(path);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hmp/info-status-version", test_info_status_version);
    g_test_add_func("/hmp/info-ramblock", test_info_ramblock);
    g_test_add_func("/hmp/info-registers", test_info_registers);
    g_test_add_func("/hmp/memory-dump", test_memory_dump);
    g_test_add_func("/hmp/errors", test_errors);
    g_test_add_func("/hmp/help", test_help);
    g_test_add_func("/hmp/socket-monitor", test_socket_monitor);
    return g_test_run();
}
