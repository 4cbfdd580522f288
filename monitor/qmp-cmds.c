/* QMP commands of the monitor and run-state core (declared in the qapi/ schema). */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "exec/memory.h"
#include "hw/core/cpu.h"
#include "chardev/char.h"
#include "monitor-internal.h"

JsonNode *qmp_query_version(JsonObject *args, Error **errp)
{
    JsonObject *ret = json_object_new();
    JsonObject *qemu = json_object_new();
    char *package = g_strdup_printf("Godwit %s", GODWIT_VERSION);

    json_object_set_int_member(qemu, "micro", 0);
    json_object_set_int_member(qemu, "minor", 2);
    json_object_set_int_member(qemu, "major", 7);
    json_object_set_object_member(ret, "qemu", qemu);
    json_object_set_string_member(ret, "package", package);
    g_free(package);
    return qapi_node_object(ret);
}

JsonNode *qmp_query_commands(JsonObject *args, Error **errp)
{
    JsonArray *arr = json_array_new();

    for (int i = 0; i < qmp_commands.n_cmds; i++) {
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "name", qmp_commands.cmds[i].name);
        json_array_add_object_element(arr, o);
    }
    return qapi_node_array(arr);
}

JsonNode *qmp_quit(JsonObject *args, Error **errp)
{
    /* like QEMU 7.2: quit exits even with -no-shutdown */
    no_shutdown = false;
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    return NULL;
}

JsonNode *qmp_query_status(JsonObject *args, Error **errp)
{
    JsonObject *ret = json_object_new();

    json_object_set_string_member(ret, "status", RunState_str(runstate_get()));
    json_object_set_boolean_member(ret, "singlestep", false);
    json_object_set_boolean_member(ret, "running", runstate_is_running());
    return qapi_node_object(ret);
}

JsonNode *qmp_stop(JsonObject *args, Error **errp)
{
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        autostart = false;
    } else {
        vm_stop(RUN_STATE_PAUSED);
    }
    return NULL;
}

JsonNode *qmp_cont(JsonObject *args, Error **errp)
{
    if (runstate_check(RUN_STATE_INTERNAL_ERROR) ||
        runstate_check(RUN_STATE_SHUTDOWN)) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return NULL;
    }
    if (runstate_check(RUN_STATE_SUSPENDED)) {
        return NULL;
    }
    if (runstate_check(RUN_STATE_FINISH_MIGRATE)) {
        error_setg(errp, "Migration is not finalized yet");
        return NULL;
    }
    if (runstate_check(RUN_STATE_COLO)) {
        error_setg(errp, "COLO checkpoint in progress");
        return NULL;
    }
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        autostart = true;
    } else if (!runstate_is_running()) {
        vm_start();
    }
    return NULL;
}

JsonNode *qmp_system_reset(JsonObject *args, Error **errp)
{
    qemu_system_reset_request(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    return NULL;
}

JsonNode *qmp_query_cpus_fast(JsonObject *args, Error **errp)
{
    JsonArray *arr = json_array_new();
    CPUState *cpu;

    CPU_FOREACH(cpu) {
        JsonObject *o = json_object_new();
        JsonObject *props = json_object_new();
        char *path = g_strdup_printf("/machine/soc0/harts[%d]", cpu->cpu_index);

        json_object_set_int_member(o, "cpu-index", cpu->cpu_index);
        json_object_set_string_member(o, "qom-path", path);
        json_object_set_int_member(o, "thread-id", cpu->thread_id);
        json_object_set_int_member(props, "socket-id", 0);
        json_object_set_int_member(props, "core-id", cpu->cpu_index);
        json_object_set_int_member(props, "thread-id", 0);
        json_object_set_object_member(o, "props", props);
        json_object_set_string_member(o, "target", "riscv64");
        json_array_add_object_element(arr, o);
        g_free(path);
    }
    return qapi_node_array(arr);
}

JsonNode *qmp_query_name(JsonObject *args, Error **errp)
{
    JsonObject *ret = json_object_new();

    if (qemu_name) {
        json_object_set_string_member(ret, "name", qemu_name);
    }
    return qapi_node_object(ret);
}

char *qemu_uuid_unparse_strdup(void)
{
    const uint8_t *u = qemu_uuid;

    return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                           "%02x%02x%02x%02x%02x%02x",
                           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                           u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

JsonNode *qmp_query_uuid(JsonObject *args, Error **errp)
{
    JsonObject *ret = json_object_new();
    char *s = qemu_uuid_unparse_strdup();

    json_object_set_string_member(ret, "UUID", s);
    g_free(s);
    return qapi_node_object(ret);
}

/* Save guest memory [addr, addr+size) to @filename. */
static bool memory_save(uint64_t addr, int64_t size, const char *filename,
                        bool physical, Error **errp)
{
    uint8_t buf[4096];
    int fd;

    if (size < 0 || addr + size < addr) {
        error_setg(errp, "Invalid addr 0x%016" PRIx64 "/size %" PRId64
                   " specified", addr, size);
        return false;
    }
    fd = open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", filename);
        return false;
    }
    while (size > 0) {
        size_t l = MIN((uint64_t)size, sizeof(buf));

        if (!address_space_read(addr, buf, l)) {
            error_setg(errp, "Invalid addr 0x%016" PRIx64 "/size %" PRId64
                       " specified", addr, size);
            close(fd);
            return false;
        }
        for (size_t off = 0; off < l;) {
            ssize_t n = write(fd, buf + off, l - off);

            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                error_setg_errno(errp, errno, "writing memory to '%s'", filename);
                close(fd);
                return false;
            }
            off += n;
        }
        addr += l;
        size -= l;
    }
    if (close(fd) < 0) {
        error_setg_errno(errp, errno, "writing memory to '%s'", filename);
        return false;
    }
    return true;
}

JsonNode *qmp_pmemsave(JsonObject *args, Error **errp)
{
    memory_save(qapi_arg_int(args, "val", 0), qapi_arg_int(args, "size", 0),
                qapi_arg_str(args, "filename"), true, errp);
    return NULL;
}

JsonNode *qmp_memsave(JsonObject *args, Error **errp)
{
    int64_t cpu_index = qapi_arg_int(args, "cpu-index", 0);

    if (cpu_index < 0 || cpu_index > INT_MAX || !qemu_get_cpu(cpu_index)) {
        error_setg(errp, "Parameter '%s' expects %s", "cpu-index",
                   "a CPU number");
        return NULL;
    }
    /* M-mode only, no MMU: virtual addresses are physical addresses */
    memory_save(qapi_arg_int(args, "val", 0), qapi_arg_int(args, "size", 0),
                qapi_arg_str(args, "filename"), false, errp);
    return NULL;
}

JsonNode *qmp_human_monitor_command(JsonObject *args, Error **errp)
{
    int cpu_index = -1;
    char *out;

    if (qapi_arg_has(args, "cpu-index")) {
        int64_t idx = qapi_arg_int(args, "cpu-index", 0);

        if (idx < 0 || idx > INT_MAX || !qemu_get_cpu(idx)) {
            error_setg(errp, "Parameter '%s' expects %s", "cpu-index",
                       "a CPU number");
            return NULL;
        }
        cpu_index = idx;
    }
    out = hmp_run_captured(qapi_arg_str(args, "command-line"), cpu_index);
    JsonNode *ret = qapi_node_str(out);
    g_free(out);
    return ret;
}

/* getfd/closefd act on the monitor the command came from */
bool monitor_getfd(Monitor *mon, const char *fdname, Error **errp)
{
    int fd;

    if (mon && mon->parent) {
        mon = mon->parent;
    }
    if (!mon || !mon->chr) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return false;
    }
    fd = qemu_chr_fe_get_msgfd(mon->chr);
    if (fd == -1) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
        return false;
    }
    if (g_ascii_isdigit(fdname[0])) {
        close(fd);
        error_setg(errp, "Parameter '%s' expects %s", "fdname",
                   "a name not starting with a digit");
        return false;
    }
    monitor_add_fd(mon, fdname, fd);
    return true;
}

bool monitor_closefd(Monitor *mon, const char *fdname, Error **errp)
{
    if (mon && mon->parent) {
        mon = mon->parent;
    }
    if (!mon || !monitor_close_fd(mon, fdname)) {
        error_setg(errp, "File descriptor named '%s' not found", fdname);
        return false;
    }
    return true;
}

JsonNode *qmp_getfd(JsonObject *args, Error **errp)
{
    monitor_getfd(monitor_cur(), qapi_arg_str(args, "fdname"), errp);
    return NULL;
}

JsonNode *qmp_closefd(JsonObject *args, Error **errp)
{
    monitor_closefd(monitor_cur(), qapi_arg_str(args, "fdname"), errp);
    return NULL;
}
