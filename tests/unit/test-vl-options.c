/*
 * Command-line behaviour of the built godwit-system-riscv64: bad options
 * exit with status 1 and a message naming the option and the value;
 * -version and -help exit 0.  No guest is started.
 *
 * The binary is $GODWIT_BINARY, or ../../godwit-system-riscv64 relative to
 * G_TEST_BUILDDIR (tests/unit in the build tree).  Skipped if missing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"

#include <sys/wait.h>

static char *binary;

static bool have_binary(void)
{
    if (!binary || !g_file_test(binary, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("godwit-system-riscv64 not built (set GODWIT_BINARY)");
        return false;
    }
    return true;
}

/* Run the binary with @args (NULL-terminated); returns the exit status. */
static int run(const char *const *args, char **out, char **err)
{
    GPtrArray *argv = g_ptr_array_new();
    GError *gerr = NULL;
    int wait_status = 0;

    /* a binary that does not exit by itself fails the case, not the run */
    g_ptr_array_add(argv, (gpointer)"timeout");
    g_ptr_array_add(argv, (gpointer)"-s");
    g_ptr_array_add(argv, (gpointer)"KILL");
    g_ptr_array_add(argv, (gpointer)"30");
    g_ptr_array_add(argv, binary);
    for (int i = 0; args[i]; i++) {
        g_ptr_array_add(argv, (gpointer)args[i]);
    }
    g_ptr_array_add(argv, NULL);
    g_spawn_sync(NULL, (char **)argv->pdata, NULL,
                 G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_SEARCH_PATH,
                 NULL, NULL, out, err, &wait_status, &gerr);
    g_assert_no_error(gerr);
    g_ptr_array_free(argv, true);
    g_assert_true(WIFEXITED(wait_status));
    return WEXITSTATUS(wait_status);
}

typedef struct BadCase {
    const char *args[8];
    const char *msg;
} BadCase;

static const BadCase bad_cases[] = {
    { { "-foo" }, "godwit-system-riscv64: -foo: invalid option" },
    { { "--foo" }, "--foo: invalid option" },
    { { "stray" }, "stray: invalid option" },
    { { "-m" }, "-m: requires an argument" },
    { { "-display", "none", "--m" }, "--m: requires an argument" },
    { { "-m", "lots" }, "-m: invalid RAM size 'lots'" },
    { { "-m", "size=12Q" }, "invalid RAM size '12Q'" },
    { { "-M", "none" }, "unsupported machine type 'none'" },
    { { "-machine", "virt,bogus=1" }, "Invalid parameter 'bogus'" },
    { { "-smp", "9" }, "-smp: invalid number of CPUs 9" },
    { { "-smp", "0" }, "-smp: invalid number of CPUs 0" },
    { { "-smp", "cpus=x" }, "-smp" },
    { { "-bios", "opensbi" }, "only -bios none is supported" },
    { { "-kernel", "/nonexistent/godwit-kernel.elf" },
      "could not load kernel '/nonexistent/godwit-kernel.elf': "
      "No such file or directory" },
    { { "-device", "virtio-net" }, "'virtio-net' is not a valid device model name" },
    { { "-device", "loader,data=1" }, "data requires data-len" },
    { { "-device", "loader,addr=0x80000000,data=1,data-len=3" },
      "data-len must be 1, 2, 4 or 8" },
    { { "-object", "secret,id=s0" }, "invalid object type: secret" },
    { { "-object", "memory-backend-ram,id=m0" }, "property 'size' is required" },
    { { "-object", "memory-backend-file,id=m0,size=1M" },
      "property 'mem-path' is required" },
    { { "-object", "memory-backend-ram,id=m0,size=1M,share=maybe" }, "share" },
    { { "-M", "virt,memory-backend=nosuch" }, "Memory backend 'nosuch' not found" },
    { { "-m", "256M", "-object", "memory-backend-ram,id=m0,size=128M",
        "-numa", "node,memdev=m0" },
      "Machine memory size does not match the size of the memory backend" },
    { { "-numa", "node,memdev=a", "-numa", "node,memdev=b" },
      "only one NUMA node is supported" },
    { { "-uuid", "not-a-uuid" }, "-uuid: fail to parse UUID string 'not-a-uuid'" },
    { { "-name", "g,debug-threads=perhaps" }, "debug-threads" },
    { { "-display", "gtk" }, "only -display none is supported" },
    { { "-vga", "std" }, "only -vga none is supported" },
    { { "-global", "e1000.mac=1" }, "-global: unknown driver 'e1000'" },
    { { "-global", "migration" }, "expected DRIVER.PROPERTY=VALUE" },
    { { "-incoming", "bogus:xyz" },
      "-incoming bogus:xyz: unknown migration protocol: bogus:xyz" },
    { { "-incoming", "tcp:nohost" }, "missing port" },
    { { "-global", "migration.nosuch=1" },
      "can't apply global migration.nosuch=1: Property 'migration.nosuch' not found" },
    { { "-global", "migration.send-configuration=maybe" },
      "Parameter 'migration.send-configuration' expects 'on' or 'off'" },
    { { "-accel", "kvm" }, "accelerator 'kvm' is not supported" },
    { { "-cpu", "sifive-u54" }, "unable to find CPU model 'sifive-u54'" },
    { { "-trace", "enable=no_such_event_anywhere_xyz" }, "-trace" },
    { { "-mon", "chardev=nosuch", "-display", "none" }, "chardev 'nosuch' not found" },
};

static void test_bad(gconstpointer opaque)
{
    const BadCase *c = opaque;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    if (!have_binary()) {
        return;
    }
    g_assert_cmpint(run(c->args, &out, &err), ==, 1);
    if (!strstr(err, c->msg)) {
        g_test_message("stderr: %s", err);
    }
    g_assert_nonnull(strstr(err, c->msg));
}

static void test_version(void)
{
    const char *const args[] = { "-version", NULL };
    const char *const args2[] = { "--version", NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *out2 = NULL;

    if (!have_binary()) {
        return;
    }
    g_assert_cmpint(run(args, &out, &err), ==, 0);
    g_assert_true(g_str_has_prefix(out, "QEMU emulator version "));
    g_assert_nonnull(strstr(out, "Godwit"));
    g_assert_nonnull(strstr(out, "Copyright"));
    g_assert_cmpint(run(args2, &out2, NULL), ==, 0);
    g_assert_cmpstr(out, ==, out2);
}

static void test_help(void)
{
    static const char *const opts[] = {
        "-machine", "-m ", "-smp", "-bios", "-kernel", "-device", "-object",
        "-numa", "-mem-prealloc", "-name", "-uuid", "-S", "-nographic",
        "-display", "-vga", "-nodefaults", "-no-user-config", "-no-shutdown",
        "-serial", "-chardev", "-mon ", "-monitor", "-qmp ", "-qmp-pretty",
        "-qtest ", "-qtest-log", "-incoming", "-global", "-trace", "-D ",
        "-pidfile", "-version", "-help", "-accel", "-cpu",
    };
    const char *const args[] = { "-h", NULL };
    g_autofree char *out = NULL;

    if (!have_binary()) {
        return;
    }
    g_assert_cmpint(run(args, &out, NULL), ==, 0);
    for (unsigned i = 0; i < ARRAY_SIZE(opts); i++) {
        if (!strstr(out, opts[i])) {
            g_test_message("-help lacks %s", opts[i]);
        }
        g_assert_nonnull(strstr(out, opts[i]));
    }
}

static void test_machine_help(void)
{
    const char *const args[] = { "-M", "help", NULL };
    g_autofree char *out = NULL;

    if (!have_binary()) {
        return;
    }
    g_assert_cmpint(run(args, &out, NULL), ==, 0);
    g_assert_nonnull(strstr(out, "virt"));
}

int main(int argc, char **argv)
{
    const char *env = g_getenv("GODWIT_BINARY");
    const char *builddir = g_getenv("G_TEST_BUILDDIR");

    g_test_init(&argc, &argv, NULL);
    if (env && *env) {
        binary = g_strdup(env);
    } else if (builddir) {
        binary = g_build_filename(builddir, "..", "..",
                                  "godwit-system-riscv64", NULL);
    }
    g_test_add_func("/vl/version", test_version);
    g_test_add_func("/vl/help", test_help);
    g_test_add_func("/vl/machine-help", test_machine_help);
    for (unsigned i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        g_autofree char *path = g_strdup_printf("/vl/bad/%u", i);

        g_test_add_data_func(path, &bad_cases[i], test_bad);
    }
    return g_test_run();
}
