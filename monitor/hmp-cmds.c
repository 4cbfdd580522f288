/* HMP commands of the monitor and run-state core (declared in the qapi/ schema). */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands.h"
#include "qemu/cutils.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "exec/memory.h"
#include "hw/core/cpu.h"
#include "monitor-internal.h"

/* Run a QMP handler for HMP; print its error; returns its result (or NULL). */
static JsonNode *hmp_call(Monitor *mon, QmpCommandFunc *fn, JsonObject *args)
{
    Error *err = NULL;
    JsonNode *ret = fn(args, &err);

    if (err) {
        if (ret) {
            json_node_unref(ret);
            ret = NULL;
        }
        hmp_handle_error(mon, err);
    }
    return ret;
}

static void hmp_call_void(Monitor *mon, QmpCommandFunc *fn, JsonObject *args)
{
    JsonNode *ret = hmp_call(mon, fn, args);

    if (ret) {
        json_node_unref(ret);
    }
}

void hmp_info_status(Monitor *mon, JsonObject *args)
{
    RunState s = runstate_get();
    bool running = runstate_is_running();

    monitor_printf(mon, "VM status: %s", running ? "running" : "paused");
    if (!running && s != RUN_STATE_PAUSED) {
        monitor_printf(mon, " (%s)", RunState_str(s));
    }
    monitor_printf(mon, "\n");
}

void hmp_info_version(Monitor *mon, JsonObject *args)
{
    monitor_printf(mon, "7.2.0 (Godwit %s)\n", GODWIT_VERSION);
}

void hmp_info_name(Monitor *mon, JsonObject *args)
{
    if (qemu_name) {
        monitor_printf(mon, "%s\n", qemu_name);
    }
}

void hmp_info_uuid(Monitor *mon, JsonObject *args)
{
    char *s = qemu_uuid_unparse_strdup();

    monitor_printf(mon, "%s\n", s);
    g_free(s);
}

void hmp_info_registers(Monitor *mon, JsonObject *args)
{
    CPUState *cpu = mon_get_cpu(mon);
    GString *out;

    if (!cpu || !cpu->ops || !cpu->ops->dump_state) {
        monitor_printf(mon, "No CPU available\n");
        return;
    }
    out = g_string_new(NULL);
    cpu->ops->dump_state(cpu, out);
    monitor_puts(mon, out->str);
    g_string_free(out, TRUE);
}

void hmp_info_ramblock(Monitor *mon, JsonObject *args)
{
    RAMBlock *rb;

    monitor_printf(mon, "%24s %8s  %18s %18s %18s\n",
                   "Block Name", "PSize", "Offset", "Used", "Total");
    RAMBLOCK_FOREACH(rb) {
        char *psize = size_to_str(rb->page_size);

        monitor_printf(mon, "%24s %8s  0x%016" PRIx64 " 0x%016" PRIx64
                       " 0x%016" PRIx64 "\n", rb->idstr, psize,
                       (uint64_t)rb->offset, (uint64_t)rb->used_length,
                       (uint64_t)rb->max_length);
        g_free(psize);
    }
}

void hmp_cpu(Monitor *mon, JsonObject *args)
{
    int64_t index = json_object_get_int_member(args, "index");

    if (index < 0 || index > INT_MAX || !monitor_set_cpu(mon, index)) {
        monitor_printf(mon, "invalid CPU index\n");
    }
}

static void monitor_printc(Monitor *mon, int c)
{
    monitor_printf(mon, "'");
    switch (c) {
    case '\'':
        monitor_printf(mon, "\\'");
        break;
    case '\\':
        monitor_printf(mon, "\\\\");
        break;
    case '\n':
        monitor_printf(mon, "\\n");
        break;
    case '\r':
        monitor_printf(mon, "\\r");
        break;
    default:
        if (c >= 32 && c <= 126) {
            monitor_printf(mon, "%c", c);
        } else {
            monitor_printf(mon, "\\x%02x", c);
        }
        break;
    }
    monitor_printf(mon, "'");
}

static void memory_dump(Monitor *mon, JsonObject *args)
{
    int64_t count = json_object_get_int_member(args, "count");
    int format = json_object_get_string_member(args, "format")[0];
    int wsize = json_object_get_int_member(args, "size");
    hwaddr addr = json_object_get_int_member(args, "addr");
    int line_size, max_digits = 0;
    int64_t len;
    uint8_t buf[16];

    if (format == 'i') {
        monitor_printf(mon, "Asm output not supported on this arch\n");
        return;
    }
    if (format == 'c') {
        wsize = 1;
    }
    len = wsize * count;
    line_size = wsize == 1 ? 8 : 16;
    switch (format) {
    case 'o':
        max_digits = (wsize * 8 + 2) / 3;
        break;
    case 'u':
    case 'd':
        max_digits = (wsize * 8 * 10 + 32) / 33;
        break;
    case 'x':
    default:
        max_digits = (wsize * 8) / 4;
        break;
    }
    while (len > 0) {
        int l = MIN(len, line_size);

        monitor_printf(mon, "%016" PRIx64 ":", addr);
        if (!address_space_read(addr, buf, l)) {
            monitor_printf(mon, " Cannot access memory\n");
            break;
        }
        for (int i = 0; i < l; i += wsize) {
            uint64_t v;

            switch (wsize) {
            case 2:
                v = buf[i] | (buf[i + 1] << 8);
                break;
            case 4:
                v = (uint32_t)buf[i] | ((uint32_t)buf[i + 1] << 8) |
                    ((uint32_t)buf[i + 2] << 16) | ((uint32_t)buf[i + 3] << 24);
                break;
            case 8:
                v = 0;
                for (int b = 7; b >= 0; b--) {
                    v = (v << 8) | buf[i + b];
                }
                break;
            case 1:
            default:
                v = buf[i];
                break;
            }
            monitor_printf(mon, " ");
            switch (format) {
            case 'o':
                monitor_printf(mon, "%#*" PRIo64, max_digits, v);
                break;
            case 'u':
                monitor_printf(mon, "%*" PRIu64, max_digits, v);
                break;
            case 'd':
                monitor_printf(mon, "%*" PRId64, max_digits, (int64_t)v);
                break;
            case 'c':
                monitor_printc(mon, v);
                break;
            case 'x':
            default:
                monitor_printf(mon, "0x%0*" PRIx64, max_digits, v);
                break;
            }
        }
        monitor_printf(mon, "\n");
        addr += l;
        len -= l;
    }
}

void hmp_x(Monitor *mon, JsonObject *args)
{
    /* M-mode only, no MMU: virtual addresses are physical addresses */
    memory_dump(mon, args);
}

void hmp_xp(Monitor *mon, JsonObject *args)
{
    memory_dump(mon, args);
}

void hmp_stop(Monitor *mon, JsonObject *args)
{
    hmp_call_void(mon, qmp_stop, args);
}

void hmp_cont(Monitor *mon, JsonObject *args)
{
    hmp_call_void(mon, qmp_cont, args);
}

void hmp_quit(Monitor *mon, JsonObject *args)
{
    if (mon->chr && !mon->capture) {
        monitor_suspend_hmp(mon);
    }
    hmp_call_void(mon, qmp_quit, args);
}

void hmp_system_reset(Monitor *mon, JsonObject *args)
{
    hmp_call_void(mon, qmp_system_reset, args);
}

void hmp_pmemsave(Monitor *mon, JsonObject *args)
{
    hmp_call_void(mon, qmp_pmemsave, args);
}

void hmp_memsave(Monitor *mon, JsonObject *args)
{
    json_object_set_int_member(args, "cpu-index", mon->cpu_index);
    hmp_call_void(mon, qmp_memsave, args);
}

void hmp_getfd(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;

    monitor_getfd(mon, json_object_get_string_member(args, "fdname"), &err);
    hmp_handle_error(mon, err);
}

void hmp_closefd(Monitor *mon, JsonObject *args)
{
    Error *err = NULL;

    monitor_closefd(mon, json_object_get_string_member(args, "fdname"), &err);
    hmp_handle_error(mon, err);
}
