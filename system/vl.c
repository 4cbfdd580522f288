/*
 * The command line and the start-up sequence of godwit-system-riscv64.
 *
 * Every option is spelled as in qemu-system-riscv64 and may be written
 * with one or two leading dashes.  The options live in one table
 * (vl_options[]) from which -help is generated.  Handlers only record what
 * was asked; qemu_main() then builds everything in a fixed order:
 *
 *   parse -> -D, -trace -> objects (memory backends) -> main loop, BQL ->
 *   chardevs -> serial -> monitors, qtest -> machine -> start or wait (-S)
 *   -> main loop -> cleanup
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "qemu/option.h"
#include "qemu/thread.h"
#include "qemu/main-loop.h"
#include "qemu/trace-core.h"
#include "exec/memory.h"
#include "hw/boards.h"
#include "sysemu/sysemu.h"
#include "sysemu/runstate.h"
#include "sysemu/cpus.h"
#include "sysemu/hostmem.h"
#include "qom/object_interfaces.h"
#include "chardev/char.h"
#include "monitor/monitor.h"
#include "migration/migration.h"   /* migration_cmdline_init (-incoming, -global migration.*) */

#define PROGNAME "godwit-system-riscv64"
#define QEMU_COMPAT_VERSION "7.2.0"
#define MAX_SMP_CPUS 8
#define DEFAULT_RAM_SIZE (128 * MiB)

const char *qemu_name;
uint8_t qemu_uuid[16];
bool qemu_uuid_set;
const char *incoming;
MachineState *current_machine;

/* ---------------------------------------------------------------- state */

typedef enum MonKind {
    MON_HMP,
    MON_QMP,
    MON_QMP_PRETTY,
    MON_CHARDEV,          /* -mon: opts in 'spec' */
} MonKind;

typedef struct MonSpec {
    MonKind kind;
    char *spec;
} MonSpec;

typedef struct GlobalProp {
    char *driver;
    char *prop;
    char *value;
} GlobalProp;

static struct {
    MachineState ms;
    bool ram_size_set;
    GPtrArray *objects;       /* -object strings */
    GPtrArray *chardevs;      /* -chardev strings */
    GPtrArray *serials;       /* -serial specs */
    GPtrArray *monitors;      /* MonSpec */
    GPtrArray *traces;        /* -trace args */
    const char *logfile;      /* -D */
    const char *pidfile;
    const char *qtest;
    const char *qtest_log;
    bool start_stopped;       /* -S */
    bool nographic;
    bool display_none;
    bool nodefaults;
    bool debug_threads;
    bool numa_seen;
} vl;

static GPtrArray *global_props;   /* GlobalProp */
static char *pidfile_written;

/* drivers that -global may name today */
static const char *const global_drivers[] = {
    "migration",
};

bool qemu_global_option_get(const char *driver, const char *prop,
                            const char **value)
{
    bool found = false;

    if (!global_props) {
        return false;
    }
    /* the last one given wins */
    for (guint i = 0; i < global_props->len; i++) {
        GlobalProp *g = g_ptr_array_index(global_props, i);

        if (strcmp(g->driver, driver) == 0 && strcmp(g->prop, prop) == 0) {
            *value = g->value;
            found = true;
        }
    }
    return found;
}

void qemu_global_option_foreach(const char *driver,
                                void (*fn)(const char *prop, const char *value,
                                           void *opaque),
                                void *opaque)
{
    if (!global_props) {
        return;
    }
    for (guint i = 0; i < global_props->len; i++) {
        GlobalProp *g = g_ptr_array_index(global_props, i);

        if (strcmp(g->driver, driver) == 0) {
            fn(g->prop, g->value, opaque);
        }
    }
}

/* ---------------------------------------------------------------- handlers */

typedef bool (*OptHandler)(const char *arg, Error **errp);

typedef struct VLOption {
    const char *name;
    const char *alias;        /* second spelling (-M for -machine) */
    bool has_arg;
    OptHandler handler;
    const char *arg_help;     /* for -help */
    const char *help;
} VLOption;

static void help_exit(void);
static void version_exit(void);

static bool parse_bool_opt(const char *opt, const char *key, const char *val,
                           bool *out, Error **errp)
{
    if (!qemu_parse_bool(val, out)) {
        error_setg(errp, "%s: parameter '%s' expects 'on' or 'off', not '%s'",
                   opt, key, val);
        return false;
    }
    return true;
}

static bool opt_machine(const char *arg, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(arg, "type", errp);
    const char *v;
    bool ok = false;

    if (!opts) {
        error_prepend(errp, "-machine: ");
        return false;
    }
    v = qemu_opt_get(opts, "type");
    if (v && strcmp(v, "help") == 0) {
        printf("Supported machines are:\n"
               "virt                 RISC-V VirtIO board (default)\n");
        exit(0);
    }
    if (v && strcmp(v, MACHINE_VIRT_NAME) != 0) {
        error_setg(errp, "-machine: unsupported machine type '%s'", v);
        error_append_hint(errp, "Use -machine help to list supported "
                          "machines\n");
        goto out;
    }
    v = qemu_opt_get(opts, "memory-backend");
    if (v) {
        vl.ms.memdev = g_strdup(v);
    }
    v = qemu_opt_get(opts, "accel");
    if (v && strcmp(v, "tcg") != 0) {
        error_setg(errp, "-machine: accelerator '%s' is not supported "
                   "(only tcg)", v);
        goto out;
    }
    if (!qemu_opts_check_unused(opts, "-machine", errp)) {
        goto out;
    }
    ok = true;
out:
    qemu_opts_free(opts);
    return ok;
}

static bool opt_m(const char *arg, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(arg, "size", errp);
    const char *v, *end;
    uint64_t sz;
    bool ok = false;

    if (!opts) {
        error_prepend(errp, "-m: ");
        return false;
    }
    v = qemu_opt_get(opts, "size");
    if (!qemu_opts_check_unused(opts, "-m", errp)) {
        goto out;
    }
    if (!v) {
        error_setg(errp, "-m: missing 'size' parameter");
        goto out;
    }
    if (qemu_strtosz_MiB(v, &end, &sz) < 0 || *end) {
        error_setg(errp, "-m: invalid RAM size '%s'", v);
        goto out;
    }
    if (sz == 0) {
        error_setg(errp, "-m: RAM size '%s' must not be zero", v);
        goto out;
    }
    vl.ms.ram_size = QEMU_ALIGN_UP(sz, TARGET_PAGE_SIZE);
    vl.ram_size_set = true;
    ok = true;
out:
    qemu_opts_free(opts);
    return ok;
}

static bool opt_smp(const char *arg, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(arg, "cpus", errp);
    uint64_t cpus, maxcpus;
    bool ok = false;

    if (!opts) {
        error_prepend(errp, "-smp: ");
        return false;
    }
    if (!qemu_opt_get_number_checked(opts, "cpus", 1, &cpus, errp) ||
        !qemu_opt_get_number_checked(opts, "maxcpus", cpus, &maxcpus, errp)) {
        error_prepend(errp, "-smp: ");
        goto out;
    }
    if (!qemu_opts_check_unused(opts, "-smp", errp)) {
        goto out;
    }
    if (cpus < 1 || cpus > MAX_SMP_CPUS) {
        error_setg(errp, "-smp: invalid number of CPUs %" PRIu64 ": machine "
                   "'virt' supports 1 to %d", cpus, MAX_SMP_CPUS);
        goto out;
    }
    if (maxcpus != cpus) {
        error_setg(errp, "-smp: maxcpus must equal cpus (CPU hotplug is "
                   "not supported)");
        goto out;
    }
    vl.ms.smp_cpus = cpus;
    ok = true;
out:
    qemu_opts_free(opts);
    return ok;
}

static bool opt_bios(const char *arg, Error **errp)
{
    if (strcmp(arg, "none") != 0) {
        error_setg(errp, "-bios %s: only -bios none is supported", arg);
        return false;
    }
    vl.ms.bios_name = "none";
    return true;
}

static bool opt_kernel(const char *arg, Error **errp)
{
    vl.ms.kernel_filename = arg;
    return true;
}

static bool parse_u64(const char *opt, const char *key, const char *val,
                      uint64_t *out, Error **errp)
{
    if (qemu_strtou64(val, NULL, 0, out) < 0) {
        error_setg(errp, "%s: parameter '%s' expects a number, not '%s'",
                   opt, key, val);
        return false;
    }
    return true;
}

static bool opt_device(const char *arg, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(arg, "driver", errp);
    const char *driver, *file, *v;
    LoaderSpec *ls = NULL;
    uint64_t n;
    bool ok = false;

    if (!opts) {
        error_prepend(errp, "-device: ");
        return false;
    }
    driver = qemu_opt_get(opts, "driver");
    if (!driver) {
        error_setg(errp, "-device: parameter 'driver' is missing");
        goto out;
    }
    if (strcmp(driver, "help") == 0) {
        printf("Generic devices:\nname \"loader\", desc \"Generic Loader\"\n");
        exit(0);
    }
    if (strcmp(driver, "loader") != 0) {
        error_setg(errp, "-device %s: '%s' is not a valid device model name",
                   driver, driver);
        error_append_hint(errp, "Godwit supports only -device loader\n");
        goto out;
    }

    ls = g_new0(LoaderSpec, 1);
    ls->cpu_num = -1;
    file = qemu_opt_get(opts, "file");
    if ((v = qemu_opt_get(opts, "addr"))) {
        if (!parse_u64("-device loader", "addr", v, &n, errp)) {
            goto out;
        }
        ls->addr = n;
        ls->has_addr = true;
    }
    if ((v = qemu_opt_get(opts, "cpu-num"))) {
        if (!parse_u64("-device loader", "cpu-num", v, &n, errp)) {
            goto out;
        }
        if (n >= MAX_SMP_CPUS) {
            error_setg(errp, "-device loader: cpu-num %" PRIu64 " is out of "
                       "range", n);
            goto out;
        }
        ls->cpu_num = n;
    }
    if ((v = qemu_opt_get(opts, "data"))) {
        if (!parse_u64("-device loader", "data", v, &ls->data, errp)) {
            goto out;
        }
        if (!(v = qemu_opt_get(opts, "data-len"))) {
            error_setg(errp, "-device loader: data requires data-len");
            goto out;
        }
        if (!parse_u64("-device loader", "data-len", v, &n, errp)) {
            goto out;
        }
        if (n != 1 && n != 2 && n != 4 && n != 8) {
            error_setg(errp, "-device loader: data-len must be 1, 2, 4 or 8, "
                       "not %" PRIu64, n);
            goto out;
        }
        ls->data_len = n;
        if (file) {
            error_setg(errp, "-device loader: file and data are exclusive");
            goto out;
        }
        if (!ls->has_addr) {
            error_setg(errp, "-device loader: data requires addr");
            goto out;
        }
    } else if (qemu_opt_has(opts, "data-len")) {
        qemu_opt_get(opts, "data-len");
        error_setg(errp, "-device loader: data-len requires data");
        goto out;
    } else if (file) {
        ls->file = g_strdup(file);
    } else if (!ls->has_addr || ls->cpu_num < 0) {
        error_setg(errp, "-device loader: need file=, data= or addr= with "
                   "cpu-num=");
        goto out;
    }
    qemu_opt_get(opts, "id");
    if (!qemu_opts_check_unused(opts, "-device loader", errp)) {
        goto out;
    }
    if (!vl.ms.loaders) {
        vl.ms.loaders = g_ptr_array_new();
    }
    g_ptr_array_add(vl.ms.loaders, ls);
    ls = NULL;
    ok = true;
out:
    if (ls) {
        g_free(ls->file);
        g_free(ls);
    }
    qemu_opts_free(opts);
    return ok;
}

static bool opt_object(const char *arg, Error **errp)
{
    g_ptr_array_add(vl.objects, (gpointer)arg);
    return true;
}

static bool opt_numa(const char *arg, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(arg, "type", errp);
    const char *type, *memdev;
    uint64_t nodeid;
    bool ok = false;

    if (!opts) {
        error_prepend(errp, "-numa: ");
        return false;
    }
    type = qemu_opt_get(opts, "type");
    if (!type || strcmp(type, "node") != 0) {
        error_setg(errp, "-numa: only 'node' is supported, not '%s'",
                   type ? type : "");
        goto out;
    }
    if (vl.numa_seen) {
        error_setg(errp, "-numa: only one NUMA node is supported");
        goto out;
    }
    if (!qemu_opt_get_number_checked(opts, "nodeid", 0, &nodeid, errp)) {
        error_prepend(errp, "-numa: ");
        goto out;
    }
    if (nodeid != 0) {
        error_setg(errp, "-numa: only node 0 is supported");
        goto out;
    }
    memdev = qemu_opt_get(opts, "memdev");
    if (!qemu_opts_check_unused(opts, "-numa", errp)) {
        goto out;
    }
    if (!memdev) {
        error_setg(errp, "-numa: parameter 'memdev' is missing");
        goto out;
    }
    if (vl.ms.memdev && strcmp(vl.ms.memdev, memdev) != 0) {
        error_setg(errp, "-numa: memdev '%s' conflicts with "
                   "-machine memory-backend=%s", memdev, vl.ms.memdev);
        goto out;
    }
    vl.ms.memdev = g_strdup(memdev);
    vl.numa_seen = true;
    ok = true;
out:
    qemu_opts_free(opts);
    return ok;
}

static bool opt_mem_prealloc(const char *arg, Error **errp)
{
    vl.ms.mem_prealloc = true;
    return true;
}

static bool opt_name(const char *arg, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(arg, "guest", errp);
    const char *v;
    bool ok = false;

    if (!opts) {
        error_prepend(errp, "-name: ");
        return false;
    }
    v = qemu_opt_get(opts, "guest");
    if (v) {
        qemu_name = g_strdup(v);
        vl.ms.name = g_strdup(v);
    }
    v = qemu_opt_get(opts, "debug-threads");
    if (v && !parse_bool_opt("-name", "debug-threads", v, &vl.debug_threads,
                             errp)) {
        goto out;
    }
    /* process=NAME renames the process in QEMU; accepted, no effect */
    qemu_opt_get(opts, "process");
    if (!qemu_opts_check_unused(opts, "-name", errp)) {
        goto out;
    }
    ok = true;
out:
    qemu_opts_free(opts);
    return ok;
}

static bool opt_uuid(const char *arg, Error **errp)
{
    static const int groups[] = { 8, 4, 4, 4, 12 };
    const char *p = arg;
    int nibble = 0;

    for (unsigned g = 0; g < ARRAY_SIZE(groups); g++) {
        for (int i = 0; i < groups[g]; i++, p++) {
            if (!g_ascii_isxdigit(*p)) {
                goto bad;
            }
            if (nibble % 2 == 0) {
                qemu_uuid[nibble / 2] = g_ascii_xdigit_value(*p) << 4;
            } else {
                qemu_uuid[nibble / 2] |= g_ascii_xdigit_value(*p);
            }
            nibble++;
        }
        if (g + 1 < ARRAY_SIZE(groups) && *p++ != '-') {
            goto bad;
        }
    }
    if (*p) {
        goto bad;
    }
    qemu_uuid_set = true;
    memcpy(vl.ms.uuid, qemu_uuid, sizeof(qemu_uuid));
    vl.ms.uuid_set = true;
    return true;
bad:
    error_setg(errp, "-uuid: fail to parse UUID string '%s'", arg);
    return false;
}

static bool opt_S(const char *arg, Error **errp)
{
    vl.start_stopped = true;
    return true;
}

static bool opt_nographic(const char *arg, Error **errp)
{
    vl.nographic = true;
    return true;
}

static bool opt_display(const char *arg, Error **errp)
{
    if (strcmp(arg, "none") != 0 && strncmp(arg, "none,", 5) != 0) {
        error_setg(errp, "-display %s: only -display none is supported", arg);
        return false;
    }
    vl.display_none = true;
    return true;
}

static bool opt_vga(const char *arg, Error **errp)
{
    if (strcmp(arg, "none") != 0) {
        error_setg(errp, "-vga %s: only -vga none is supported", arg);
        return false;
    }
    return true;
}

static bool opt_nodefaults(const char *arg, Error **errp)
{
    vl.nodefaults = true;
    return true;
}

static bool opt_ignored(const char *arg, Error **errp)
{
    return true;
}

static bool opt_no_shutdown(const char *arg, Error **errp)
{
    no_shutdown = true;
    return true;
}

static bool opt_serial(const char *arg, Error **errp)
{
    g_ptr_array_add(vl.serials, (gpointer)arg);
    return true;
}

static bool opt_chardev(const char *arg, Error **errp)
{
    g_ptr_array_add(vl.chardevs, (gpointer)arg);
    return true;
}

static bool add_monitor(MonKind kind, const char *spec)
{
    MonSpec *m = g_new0(MonSpec, 1);

    m->kind = kind;
    m->spec = g_strdup(spec);
    g_ptr_array_add(vl.monitors, m);
    return true;
}

static bool opt_mon(const char *arg, Error **errp)
{
    return add_monitor(MON_CHARDEV, arg);
}

static bool opt_monitor(const char *arg, Error **errp)
{
    return add_monitor(MON_HMP, arg);
}

static bool opt_qmp(const char *arg, Error **errp)
{
    return add_monitor(MON_QMP, arg);
}

static bool opt_qmp_pretty(const char *arg, Error **errp)
{
    return add_monitor(MON_QMP_PRETTY, arg);
}

static bool opt_qtest(const char *arg, Error **errp)
{
    vl.qtest = arg;
    return true;
}

static bool opt_qtest_log(const char *arg, Error **errp)
{
    vl.qtest_log = arg;
    return true;
}

static bool opt_incoming(const char *arg, Error **errp)
{
    incoming = arg;
    return true;
}

static bool opt_global(const char *arg, Error **errp)
{
    const char *dot = strchr(arg, '.');
    const char *eq = dot ? strchr(dot + 1, '=') : NULL;
    g_autofree char *driver = NULL;
    GlobalProp *g;
    bool known = false;

    if (!dot || !eq || dot == arg || eq == dot + 1) {
        error_setg(errp, "-global %s: expected DRIVER.PROPERTY=VALUE", arg);
        return false;
    }
    driver = g_strndup(arg, dot - arg);
    for (unsigned i = 0; i < ARRAY_SIZE(global_drivers); i++) {
        known |= strcmp(driver, global_drivers[i]) == 0;
    }
    if (!known) {
        error_setg(errp, "-global: unknown driver '%s'", driver);
        return false;
    }
    g = g_new0(GlobalProp, 1);
    g->driver = g_steal_pointer(&driver);
    g->prop = g_strndup(dot + 1, eq - dot - 1);
    g->value = g_strdup(eq + 1);
    if (!global_props) {
        global_props = g_ptr_array_new();
    }
    g_ptr_array_add(global_props, g);
    return true;
}

static bool opt_trace(const char *arg, Error **errp)
{
    g_ptr_array_add(vl.traces, (gpointer)arg);
    return true;
}

static bool opt_D(const char *arg, Error **errp)
{
    vl.logfile = arg;
    return true;
}

static bool opt_pidfile(const char *arg, Error **errp)
{
    vl.pidfile = arg;
    return true;
}

static bool opt_version(const char *arg, Error **errp)
{
    version_exit();
    return true;
}

static bool opt_help(const char *arg, Error **errp)
{
    help_exit();
    return true;
}

static bool opt_accel(const char *arg, Error **errp)
{
    QemuOpts *opts = qemu_opts_parse(arg, "accel", errp);
    const char *v;
    bool ok = false;

    if (!opts) {
        error_prepend(errp, "-accel: ");
        return false;
    }
    v = qemu_opt_get(opts, "accel");
    if (!v || strcmp(v, "tcg") != 0) {
        error_setg(errp, "-accel: accelerator '%s' is not supported "
                   "(only tcg)", v ? v : "");
        goto out;
    }
    /* thread=single|multi: Godwit always runs one thread per vCPU */
    qemu_opt_get(opts, "thread");
    if (!qemu_opts_check_unused(opts, "-accel", errp)) {
        goto out;
    }
    ok = true;
out:
    qemu_opts_free(opts);
    return ok;
}

static bool opt_cpu(const char *arg, Error **errp)
{
    if (strcmp(arg, "help") == 0) {
        printf("Available CPUs:\n  any\n  max\n  rv64\n");
        exit(0);
    }
    if (strcmp(arg, "rv64") != 0 && strcmp(arg, "any") != 0 &&
        strcmp(arg, "max") != 0) {
        error_setg(errp, "-cpu: unable to find CPU model '%s'", arg);
        return false;
    }
    return true;
}

static const VLOption vl_options[] = {
    { "machine", "M", true, opt_machine, "virt[,memory-backend=ID][,accel=tcg]",
      "select the machine (only 'virt'; 'help' lists machines)" },
    { "cpu", NULL, true, opt_cpu, "rv64|any|max", "select the CPU model" },
    { "accel", NULL, true, opt_accel, "tcg", "select the accelerator (only tcg)" },
    { "m", NULL, true, opt_m, "[size=]SIZE",
      "guest RAM size (default 128M; suffixes K, M, G, T; no suffix means MiB)" },
    { "smp", NULL, true, opt_smp, "[cpus=]N", "number of vCPUs, 1 to 8" },
    { "bios", NULL, true, opt_bios, "none", "firmware (only 'none')" },
    { "kernel", NULL, true, opt_kernel, "FILE", "load the ELF FILE and boot it" },
    { "device", NULL, true, opt_device,
      "loader,file=F[,addr=A][,cpu-num=N] | loader,addr=A,data=V,data-len=L",
      "generic loader: load a file or store a value in guest memory" },
    { "object", NULL, true, opt_object,
      "memory-backend-ram|memory-backend-file|memory-backend-memfd,id=ID,size=SIZE"
      "[,share=on|off][,prealloc=on|off][,mem-path=PATH][,hugetlb=on|off]"
      "[,hugetlbsize=SIZE][,seal=on|off]",
      "create a memory backend; also tls-creds-x509|tls-creds-psk|"
      "tls-creds-anon and authz-simple|authz-list objects "
      "(docs/user/migration-tls.md), or any object as JSON" },
    { "numa", NULL, true, opt_numa, "node,memdev=ID",
      "one NUMA node backed by the memory backend ID" },
    { "mem-prealloc", NULL, false, opt_mem_prealloc, NULL,
      "preallocate guest memory" },
    { "name", NULL, true, opt_name, "[guest=]NAME[,debug-threads=on|off]",
      "name the guest; debug-threads=on names host threads" },
    { "uuid", NULL, true, opt_uuid, "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX",
      "set the system UUID" },
    { "S", NULL, false, opt_S, NULL, "do not start the CPUs (use 'cont')" },
    { "nographic", NULL, false, opt_nographic, NULL,
      "no display; the serial port defaults to stdio (no mux: the monitor is "
      "on stdio only with -monitor stdio, and then the serial defaults to null)" },
    { "display", NULL, true, opt_display, "none", "display (only 'none')" },
    { "vga", NULL, true, opt_vga, "none", "VGA card (only 'none')" },
    { "nodefaults", NULL, false, opt_nodefaults, NULL,
      "no default devices (the serial port defaults to null)" },
    { "no-user-config", NULL, false, opt_ignored, NULL,
      "accepted; Godwit reads no configuration files" },
    { "no-shutdown", NULL, false, opt_no_shutdown, NULL,
      "stop instead of exiting when the guest powers off" },
    { "serial", NULL, true, opt_serial, "stdio|null|none|file:PATH|unix:PATH|"
      "tcp:HOST:PORT|chardev:ID",
      "serial port backend (default: stdio; null with -display none or "
      "-nodefaults)" },
    { "chardev", NULL, true, opt_chardev, "BACKEND,id=ID[,...]",
      "create a character device (stdio, file, socket, null)" },
    { "mon", NULL, true, opt_mon, "chardev=ID[,mode=control|readline][,pretty=on|off]",
      "attach a monitor to a chardev" },
    { "monitor", NULL, true, opt_monitor, "SPEC",
      "HMP monitor on a chardev shorthand (none by default)" },
    { "qmp", NULL, true, opt_qmp, "SPEC", "QMP monitor on a chardev shorthand" },
    { "qmp-pretty", NULL, true, opt_qmp_pretty, "SPEC",
      "QMP monitor with pretty-printed JSON" },
    { "qtest", NULL, true, opt_qtest, "SPEC", "qtest protocol server" },
    { "qtest-log", NULL, true, opt_qtest_log, "FILE", "log the qtest protocol" },
    { "incoming", NULL, true, opt_incoming, "URI|defer",
      "wait for an incoming migration" },
    { "global", NULL, true, opt_global, "DRIVER.PROP=VALUE",
      "set a default property (driver 'migration')" },
    { "trace", NULL, true, opt_trace, "[enable=]PATTERN|events=FILE|file=LOG",
      "enable trace events" },
    { "D", NULL, true, opt_D, "FILE", "write the log and traces to FILE" },
    { "pidfile", NULL, true, opt_pidfile, "FILE", "write the process id to FILE" },
    { "version", NULL, false, opt_version, NULL, "print the version and exit" },
    { "help", "h", false, opt_help, NULL, "print this help and exit" },
};

static void version_exit(void)
{
    printf("QEMU emulator version " QEMU_COMPAT_VERSION " (Godwit "
           GODWIT_VERSION ")\n"
           "Copyright (c) 2024-2025 the Godwit authors\n");
    exit(0);
}

static void help_exit(void)
{
    printf("QEMU emulator version " QEMU_COMPAT_VERSION " (Godwit "
           GODWIT_VERSION ")\n"
           "usage: " PROGNAME " [options]\n\n"
           "Every option may be written with one or two leading dashes.\n\n");
    for (unsigned i = 0; i < ARRAY_SIZE(vl_options); i++) {
        const VLOption *o = &vl_options[i];
        g_autofree char *names = o->alias ?
            g_strdup_printf("-%s, -%s", o->alias, o->name) :
            g_strdup_printf("-%s", o->name);

        printf("%s%s%s\n                %s\n", names, o->arg_help ? " " : "",
               o->arg_help ? o->arg_help : "", o->help);
    }
    exit(0);
}

static const VLOption *lookup_option(const char *name)
{
    for (unsigned i = 0; i < ARRAY_SIZE(vl_options); i++) {
        const VLOption *o = &vl_options[i];

        if (strcmp(name, o->name) == 0 ||
            (o->alias && strcmp(name, o->alias) == 0)) {
            return o;
        }
    }
    return NULL;
}

static bool parse_command_line(int argc, char **argv, Error **errp)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *name = a;
        const VLOption *o;
        const char *arg = NULL;

        if (a[0] != '-' || !a[1]) {
            error_setg(errp, "%s: invalid option", a);
            return false;
        }
        name = a + 1;
        if (name[0] == '-') {
            name++;
        }
        o = lookup_option(name);
        if (!o) {
            error_setg(errp, "%s: invalid option", a);
            return false;
        }
        if (o->has_arg) {
            if (i + 1 >= argc) {
                error_setg(errp, "%s: requires an argument", a);
                return false;
            }
            arg = argv[++i];
        }
        if (!o->handler(arg, errp)) {
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- start-up */

static void pidfile_remove(void)
{
    if (pidfile_written) {
        unlink(pidfile_written);
        g_free(pidfile_written);
        pidfile_written = NULL;
    }
}

static bool pidfile_create(const char *path, Error **errp)
{
    g_autofree char *content = g_strdup_printf("%d\n", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot create PID file '%s'", path);
        return false;
    }
    if (qemu_write_full(fd, content, strlen(content)) < 0) {
        error_setg_errno(errp, errno, "cannot write PID file '%s'", path);
        close(fd);
        unlink(path);
        return false;
    }
    close(fd);
    pidfile_written = g_strdup(path);
    atexit(pidfile_remove);
    return true;
}

static bool check_kernel(const char *path, Error **errp)
{
    if (access(path, R_OK) != 0) {
        error_setg(errp, "could not load kernel '%s': %s", path,
                   g_strerror(errno));
        return false;
    }
    return true;
}

static bool create_monitors(Error **errp)
{
    for (guint i = 0; i < vl.monitors->len; i++) {
        MonSpec *m = g_ptr_array_index(vl.monitors, i);
        g_autofree char *label = g_strdup_printf("compat_monitor%u", i);
        Chardev *chr;

        if (m->kind == MON_CHARDEV) {
            QemuOpts *opts = qemu_opts_parse(m->spec, "chardev", errp);
            const char *id, *mode;
            bool pretty = false, ok = false;

            if (!opts) {
                error_prepend(errp, "-mon: ");
                return false;
            }
            id = qemu_opt_get(opts, "chardev");
            mode = qemu_opt_get(opts, "mode");
            if (!qemu_opt_get_bool_checked(opts, "pretty", false, &pretty,
                                           errp)) {
                error_prepend(errp, "-mon: ");
            } else if (!qemu_opts_check_unused(opts, "-mon", errp)) {
                /* errp set */
            } else if (!id) {
                error_setg(errp, "-mon: parameter 'chardev' is missing");
            } else if (!(chr = qemu_chr_find(id))) {
                error_setg(errp, "-mon: chardev '%s' not found", id);
            } else if (mode && strcmp(mode, "control") != 0 &&
                       strcmp(mode, "readline") != 0) {
                error_setg(errp, "-mon: mode must be 'control' or 'readline', "
                           "not '%s'", mode);
            } else if (mode && strcmp(mode, "control") == 0) {
                ok = monitor_init_qmp(chr, pretty, errp);
            } else {
                ok = monitor_init_hmp(chr, true, errp);
            }
            qemu_opts_free(opts);
            if (!ok) {
                return false;
            }
            continue;
        }

        if (strcmp(m->spec, "none") == 0) {
            continue;
        }
        chr = qemu_chr_new(label, m->spec, errp);
        if (!chr) {
            if (errp && *errp) {
                error_prepend(errp, "%s %s: ", m->kind == MON_HMP ? "-monitor" :
                              m->kind == MON_QMP ? "-qmp" : "-qmp-pretty",
                              m->spec);
                return false;
            }
            continue;
        }
        if (m->kind == MON_HMP) {
            if (!monitor_init_hmp(chr, true, errp)) {
                return false;
            }
        } else if (!monitor_init_qmp(chr, m->kind == MON_QMP_PRETTY, errp)) {
            return false;
        }
    }
    return true;
}

static bool monitor_on_stdio(void)
{
    for (guint i = 0; i < vl.monitors->len; i++) {
        MonSpec *m = g_ptr_array_index(vl.monitors, i);

        if (m->kind != MON_CHARDEV && strcmp(m->spec, "stdio") == 0) {
            return true;
        }
    }
    return false;
}

static bool create_serial(Error **errp)
{
    const char *spec;

    if (vl.serials->len) {
        spec = g_ptr_array_index(vl.serials, 0);
        if (vl.serials->len > 1) {
            warn_report("-serial: the virt machine has one UART; only "
                        "'%s' is used", spec);
        }
    } else if (vl.nodefaults || vl.display_none || monitor_on_stdio()) {
        spec = "null";
    } else {
        /* -nographic, or nothing said */
        spec = "stdio";
    }
    if (strcmp(spec, "none") == 0) {
        vl.ms.serial = NULL;
        return true;
    }
    vl.ms.serial = qemu_chr_new("serial0", spec, errp);
    if (!vl.ms.serial) {
        if (errp && *errp) {
            error_prepend(errp, "-serial %s: ", spec);
            return false;
        }
    }
    return true;
}

static bool setup_machine_memory(Error **errp)
{
    HostMemoryBackend *be;

    if (!vl.ms.memdev) {
        vl.ms.ram = NULL;     /* the board creates "riscv_virt_board.ram" */
        return true;
    }
    be = host_memory_backend_find(vl.ms.memdev);
    if (!be) {
        error_setg(errp, "Memory backend '%s' not found", vl.ms.memdev);
        return false;
    }
    if (!vl.ram_size_set) {
        vl.ms.ram_size = host_memory_backend_get_size(be);
    } else if (vl.ms.ram_size != host_memory_backend_get_size(be)) {
        error_setg(errp, "Machine memory size does not match the size of "
                   "the memory backend");
        return false;
    }
    if (vl.ms.mem_prealloc) {
        host_memory_backend_set_prealloc(be);
    }
    return true;
}

static void fatal(Error *err)
{
    error_report_err(err);
    exit(1);
}

int qemu_main(int argc, char **argv)
{
    Error *err = NULL;
    int status;

    error_set_progname(argv[0]);
    vl.ms.type = MACHINE_VIRT_NAME;
    vl.ms.ram_size = DEFAULT_RAM_SIZE;
    vl.ms.smp_cpus = 1;
    vl.objects = g_ptr_array_new();
    vl.chardevs = g_ptr_array_new();
    vl.serials = g_ptr_array_new();
    vl.monitors = g_ptr_array_new();
    vl.traces = g_ptr_array_new();

    if (!parse_command_line(argc, argv, &err)) {
        fatal(err);
    }

    /* logging and tracing first, so that everything after is traced */
    if (vl.logfile && !qemu_set_log_filename(vl.logfile, &err)) {
        error_prepend(&err, "-D %s: ", vl.logfile);
        fatal(err);
    }
    for (guint i = 0; i < vl.traces->len; i++) {
        const char *t = g_ptr_array_index(vl.traces, i);

        if (!trace_opt_parse(t, &err)) {
            error_prepend(&err, "-trace %s: ", t);
            fatal(err);
        }
    }
    if (vl.debug_threads) {
        qemu_thread_naming(true);
    }
    if (vl.ms.kernel_filename && !check_kernel(vl.ms.kernel_filename, &err)) {
        fatal(err);
    }
    /*
     * objects: memory backends, TLS credentials, authz; before -incoming,
     * which may need the credentials
     */
    for (guint i = 0; i < vl.objects->len; i++) {
        const char *o = g_ptr_array_index(vl.objects, i);

        if (!user_object_add_str(o, true, &err)) {
            error_prepend(&err, "-object %s: ", o);
            fatal(err);
        }
    }
    if (!migration_cmdline_init(incoming, &err)) {
        fatal(err);
    }

    if (!setup_machine_memory(&err) || !host_memory_backends_alloc(&err)) {
        fatal(err);
    }
    if (vl.ms.memdev) {
        vl.ms.ram = host_memory_backend_get_ramblock(
            host_memory_backend_find(vl.ms.memdev));
    }

    if (vl.pidfile && !pidfile_create(vl.pidfile, &err)) {
        fatal(err);
    }

    /* from here on the main thread holds the BQL */
    qemu_init_main_loop();

    for (guint i = 0; i < vl.chardevs->len; i++) {
        const char *c = g_ptr_array_index(vl.chardevs, i);

        if (!qemu_chr_new_from_opts_str(c, &err)) {
            if (!err) {
                error_setg(&err, "-chardev %s: cannot create the chardev", c);
            }
            fatal(err);
        }
    }
    if (!create_serial(&err) || !create_monitors(&err)) {
        fatal(err);
    }
    if (vl.qtest && !qtest_server_init(vl.qtest, vl.qtest_log, &err)) {
        error_prepend(&err, "-qtest %s: ", vl.qtest);
        fatal(err);
    }

    current_machine = &vl.ms;
    if (!virt_machine_init(&vl.ms, &err)) {
        fatal(err);
    }

    if (vl.start_stopped) {
        autostart = false;
    } else if (!incoming) {
        vm_start();
    }

    qemu_main_loop();
    status = qemu_main_loop_status();

    cpus_shutdown();
    monitor_cleanup();
    qemu_chr_cleanup();
    pidfile_remove();
    return status;
}
