/*
 * The human monitor: a line editor on a chardev, the command-line parser
 * driven by each command's args_type, and HMP through QMP
 * (human-monitor-command).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands.h"
#include "qemu/cutils.h"
#include "chardev/char.h"
#include "hw/core/cpu.h"
#include "monitor-internal.h"
#include "trace.h"

#define HMP_PROMPT "(qemu) "
#define HMP_MAX_LINE 4096

void hmp_handle_error(Monitor *mon, Error *err)
{
    if (err) {
        monitor_printf(mon, "Error: %s\n", error_get_pretty(err));
        error_free(err);
    }
}

CPUState *mon_get_cpu(Monitor *mon)
{
    CPUState *cpu = qemu_get_cpu(mon ? mon->cpu_index : 0);

    if (!cpu) {
        cpu = qemu_get_cpu(0);
    }
    return cpu;
}

bool monitor_set_cpu(Monitor *mon, int index)
{
    if (index < 0 || !qemu_get_cpu(index)) {
        return false;
    }
    mon->cpu_index = index;
    return true;
}

/* ---------------------------------------------------------------- parser */

/* Does @name (one word) match "name|alias|..."? */
static bool cmd_name_matches(const char *names, const char *name, size_t len)
{
    const char *p = names;

    while (*p) {
        const char *end = strchr(p, '|');
        size_t l = end ? (size_t)(end - p) : strlen(p);

        if (l == len && !strncmp(p, name, len)) {
            return true;
        }
        if (!end) {
            break;
        }
        p = end + 1;
    }
    return false;
}

static const HmpCommand *find_cmd(const HmpCommand *table, const char *name,
                                  size_t len)
{
    for (const HmpCommand *c = table; c->name; c++) {
        if (cmd_name_matches(c->name, name, len)) {
            return c;
        }
    }
    return NULL;
}

static const char *skip_spaces(const char *p)
{
    while (*p && g_ascii_isspace(*p)) {
        p++;
    }
    return p;
}

/* A word or a "quoted string"; NULL on a bad quote. */
static char *get_word(const char **pp)
{
    const char *p = skip_spaces(*pp);
    GString *s = g_string_new(NULL);

    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1]) {
                p++;
                switch (*p) {
                case 'n':
                    g_string_append_c(s, '\n');
                    break;
                case 'r':
                    g_string_append_c(s, '\r');
                    break;
                default:
                    g_string_append_c(s, *p);
                }
            } else {
                g_string_append_c(s, *p);
            }
            p++;
        }
        if (*p != '"') {
            g_string_free(s, TRUE);
            return NULL;
        }
        p++;
    } else {
        while (*p && !g_ascii_isspace(*p)) {
            g_string_append_c(s, *p++);
        }
    }
    *pp = p;
    return g_string_free(s, FALSE);
}

/* An integer expression: terms joined by + and -. */
static bool get_expr(const char **pp, int64_t *val)
{
    const char *p = skip_spaces(*pp);
    uint64_t total = 0;
    int sign = 1;
    bool any = false;

    for (;;) {
        char *end;
        uint64_t v;

        p = skip_spaces(p);
        if (*p == '-' && !any) {
            sign = -1;
            p++;
        }
        errno = 0;
        v = strtoull(p, &end, 0);
        if (end == p || errno) {
            return false;
        }
        total += sign > 0 ? v : -v;
        any = true;
        p = skip_spaces(end);
        if (*p == '+') {
            sign = 1;
            p++;
        } else if (*p == '-') {
            sign = -1;
            p++;
        } else {
            /* the next argument starts after the spaces: leave them */
            p = end;
            break;
        }
    }
    if (*p && !g_ascii_isspace(*p)) {
        return false;
    }
    *pp = p;
    *val = total;
    return true;
}

static bool parse_format(Monitor *mon, const HmpCommand *cmd, const char **pp,
                         JsonObject *args)
{
    const char *p = skip_spaces(*pp);
    int64_t count = 1;
    int format = -1, size = -1;

    if (*p == '/') {
        p++;
        if (g_ascii_isdigit(*p)) {
            char *end;

            count = strtoll(p, &end, 10);
            p = end;
        }
        for (;;) {
            switch (*p) {
            case 'o':
            case 'd':
            case 'u':
            case 'x':
            case 'i':
            case 'c':
                format = *p++;
                continue;
            case 'b':
                size = 1;
                p++;
                continue;
            case 'h':
                size = 2;
                p++;
                continue;
            case 'w':
                size = 4;
                p++;
                continue;
            case 'g':
            case 'L':
                size = 8;
                p++;
                continue;
            default:
                break;
            }
            break;
        }
        if (*p && !g_ascii_isspace(*p)) {
            monitor_printf(mon, "invalid char in format: '%c'\n", *p);
            return false;
        }
    }
    if (format < 0) {
        format = mon->last_format;
    }
    if (size < 0) {
        size = format == 'c' ? 1 : mon->last_size;
    }
    mon->last_format = format;
    mon->last_size = size;
    json_object_set_int_member(args, "count", count);
    json_object_set_string_member(args, "format", (char[]){ format, 0 });
    json_object_set_int_member(args, "size", size);
    *pp = p;
    return true;
}

static bool parse_args(Monitor *mon, const HmpCommand *cmd, const char **pp,
                       JsonObject *args)
{
    g_auto(GStrv) specs = g_strsplit(cmd->args_type, ",", -1);
    const char *p = *pp;
    const char *cmdname = cmd->name;
    g_autofree char *primary = g_strndup(cmdname, strcspn(cmdname, "|"));
    bool flags_done = false;

    for (int i = 0; specs[i]; i++) {
        char *colon = strchr(specs[i], ':');
        const char *type;
        bool optional;
        char *name;

        if (!specs[i][0]) {
            continue;
        }
        if (!colon) {
            continue;
        }
        *colon = 0;
        name = specs[i];
        type = colon + 1;
        optional = type[0] && type[strlen(type) - 1] == '?';

        if (type[0] == '-') {
            /* a later flag may have been set by the first flag's loop */
            if (!json_object_has_member(args, name)) {
                json_object_set_boolean_member(args, name, false);
            }
            if (flags_done) {
                continue;
            }
            /* consume every flag of the command, in any order */
            flags_done = true;
            for (;;) {
                const char *q = skip_spaces(p);
                bool found = false;

                if (q[0] != '-' || !g_ascii_isalpha(q[1]) ||
                    (q[2] && !g_ascii_isspace(q[2]))) {
                    break;
                }
                for (int j = i; specs[j]; j++) {
                    char *c2 = strchr(specs[j], ':');

                    if (c2 && c2[1] == '-' && c2[2] == q[1]) {
                        char *fname = g_strndup(specs[j], c2 - specs[j]);

                        json_object_set_boolean_member(args, fname, true);
                        g_free(fname);
                        found = true;
                    } else if (!c2 && j == i && type[1] == q[1]) {
                        json_object_set_boolean_member(args, name, true);
                        found = true;
                    }
                }
                if (!found) {
                    monitor_printf(mon, "%s: unsupported option -%c\n", primary,
                                   q[1]);
                    return false;
                }
                p = q + 2;
            }
            continue;
        }
        if (type[0] == '/') {
            if (!parse_format(mon, cmd, &p, args)) {
                return false;
            }
            continue;
        }

        p = skip_spaces(p);
        if (!*p) {
            if (optional) {
                continue;
            }
            monitor_printf(mon, "%s: missing argument '%s'\n", primary, name);
            return false;
        }
        switch (type[0]) {
        case 's':
        case 'F':
        case 'B': {
            char *w = get_word(&p);

            if (!w) {
                monitor_printf(mon, "%s: unterminated string\n", primary);
                return false;
            }
            json_object_set_string_member(args, name, w);
            g_free(w);
            break;
        }
        case 'S': {
            g_autofree char *rest = g_strstrip(g_strdup(p));

            json_object_set_string_member(args, name, rest);
            p += strlen(p);
            break;
        }
        case 'i':
        case 'l': {
            int64_t v;

            if (!get_expr(&p, &v)) {
                monitor_printf(mon, "%s: invalid number for '%s'\n", primary,
                               name);
                return false;
            }
            if (type[0] == 'i' && (v < INT32_MIN || v > UINT32_MAX)) {
                monitor_printf(mon, "integer is for 32-bit values\n");
                return false;
            }
            json_object_set_int_member(args, name, v);
            break;
        }
        case 'o':
        case 'M': {
            g_autofree char *w = get_word(&p);
            uint64_t v;
            int r;

            r = type[0] == 'M' ? qemu_strtosz_MiB(w, NULL, &v)
                               : qemu_strtosz(w, NULL, &v);
            if (r < 0 || v > INT64_MAX) {
                monitor_printf(mon, "invalid size\n");
                return false;
            }
            json_object_set_int_member(args, name, v);
            break;
        }
        case 'b': {
            g_autofree char *w = get_word(&p);

            if (w && !strcmp(w, "on")) {
                json_object_set_boolean_member(args, name, true);
            } else if (w && !strcmp(w, "off")) {
                json_object_set_boolean_member(args, name, false);
            } else {
                monitor_printf(mon, "Expected 'on' or 'off'\n");
                return false;
            }
            break;
        }
        default:
            monitor_printf(mon, "%s: unknown argument type '%c'\n", primary,
                           type[0]);
            return false;
        }
    }
    p = skip_spaces(p);
    if (*p) {
        monitor_printf(mon, "%s: extraneous characters at the end of line\n",
                       primary);
        return false;
    }
    *pp = p;
    return true;
}

void hmp_handle_command(Monitor *mon, const char *cmdline)
{
    const char *start = skip_spaces(cmdline);
    const char *p = start;
    const HmpCommand *cmd;
    JsonObject *args;
    Monitor *old;

    trace_monitor_hmp_cmd(mon, cmdline);
    while (*p && *p != '/' && !g_ascii_isspace(*p)) {
        p++;
    }
    if (p == start) {
        return;
    }
    cmd = find_cmd(hmp_cmds, start, p - start);
    if (!cmd) {
        monitor_printf(mon, "unknown command: '%.*s'\n", (int)(p - start), start);
        return;
    }
    if (cmd_name_matches(cmd->name, "info", 4)) {
        const char *sub = skip_spaces(p);
        const char *q = sub;

        while (*q && !g_ascii_isspace(*q)) {
            q++;
        }
        if (q > sub) {
            const HmpCommand *subcmd = find_cmd(hmp_info_cmds, sub, q - sub);

            if (!subcmd) {
                monitor_printf(mon, "unknown command: '%.*s'\n",
                               (int)(q - start), start);
                return;
            }
            cmd = subcmd;
            p = q;
        }
    }
    args = json_object_new();
    if (parse_args(mon, cmd, &p, args)) {
        old = monitor_set_cur(mon);
        cmd->fn(mon, args);
        monitor_set_cur(old);
    }
    json_object_unref(args);
}

char *hmp_run_captured(const char *cmdline, int cpu_index)
{
    Monitor *parent = monitor_cur();
    Monitor *mon = monitor_new(NULL, false);
    char *out;

    mon->capture = g_string_new(NULL);
    mon->parent = parent;
    mon->cpu_index = cpu_index >= 0 ? cpu_index : 0;
    hmp_handle_command(mon, cmdline);
    out = g_string_free(mon->capture, FALSE);
    mon->capture = NULL;
    monitor_free(mon);
    return out;
}

/* ---------------------------------------------------------------- help */

static void help_dump(Monitor *mon, const HmpCommand *table, const char *prefix,
                      const char *only, size_t only_len)
{
    for (const HmpCommand *c = table; c->name; c++) {
        if (only && !cmd_name_matches(c->name, only, only_len)) {
            continue;
        }
        monitor_printf(mon, "%s%s %s -- %s\n", prefix, c->name, c->params,
                       c->help);
    }
}

void hmp_help(Monitor *mon, JsonObject *args)
{
    const char *name = json_object_get_string_member_with_default(args, "name",
                                                                  NULL);

    if (!name || !*name) {
        help_dump(mon, hmp_cmds, "", NULL, 0);
        return;
    }
    if (!strncmp(name, "info", 4) && (!name[4] || g_ascii_isspace(name[4]))) {
        const char *sub = skip_spaces(name + 4);

        if (*sub) {
            if (!find_cmd(hmp_info_cmds, sub, strlen(sub))) {
                monitor_printf(mon, "unknown command: '%s'\n", name);
                return;
            }
            help_dump(mon, hmp_info_cmds, "info ", sub, strlen(sub));
        } else {
            help_dump(mon, hmp_info_cmds, "info ", NULL, 0);
        }
        return;
    }
    if (!find_cmd(hmp_cmds, name, strlen(name))) {
        monitor_printf(mon, "unknown command: '%s'\n", name);
        return;
    }
    help_dump(mon, hmp_cmds, "", name, strlen(name));
}

void hmp_info(Monitor *mon, JsonObject *args)
{
    help_dump(mon, hmp_info_cmds, "info ", NULL, 0);
}

/* ---------------------------------------------------------------- readline */

static void hmp_show_prompt(Monitor *mon)
{
    if (!mon->suspended && !mon->suspend_cnt) {
        monitor_write_raw(mon, HMP_PROMPT, strlen(HMP_PROMPT));
    }
}

static void hmp_show_banner(Monitor *mon)
{
    if (mon->banner_shown) {
        return;
    }
    mon->banner_shown = true;
    monitor_printf(mon, "Godwit %s monitor - type 'help' for more information\n",
                   GODWIT_VERSION);
    hmp_show_prompt(mon);
}

static void hmp_execute_line(Monitor *mon)
{
    char *line = g_strdup(mon->line->str);

    g_string_truncate(mon->line, 0);
    hmp_handle_command(mon, line);
    g_free(line);
    hmp_show_prompt(mon);
}

static void hmp_read_byte(Monitor *mon, char c)
{
    if (mon->esc_state == 1) {
        mon->esc_state = (c == '[' || c == 'O') ? 2 : 0;
        return;
    }
    if (mon->esc_state == 2) {
        /* CSI parameters until a final byte; arrows etc. are ignored */
        if (c >= 0x40 && c <= 0x7e) {
            mon->esc_state = 0;
        }
        return;
    }
    if (c == '\n' && mon->last_was_cr) {
        mon->last_was_cr = false;
        return;
    }
    mon->last_was_cr = c == '\r';
    switch (c) {
    case '\r':
    case '\n':
        if (mon->use_readline) {
            monitor_write_raw(mon, "\r\n", 2);
        }
        hmp_execute_line(mon);
        break;
    case 0x1b:
        mon->esc_state = 1;
        break;
    case 0x7f:
    case 0x08:
        if (mon->line->len) {
            g_string_truncate(mon->line, mon->line->len - 1);
            if (mon->use_readline) {
                monitor_write_raw(mon, "\b \b", 3);
            }
        }
        break;
    default:
        if ((unsigned char)c >= 0x20 && mon->line->len < HMP_MAX_LINE) {
            g_string_append_c(mon->line, c);
            if (mon->use_readline) {
                monitor_write_raw(mon, &c, 1);
            }
        }
        break;
    }
}

static int hmp_can_read(void *opaque)
{
    Monitor *mon = opaque;

    return mon->suspended || mon->suspend_cnt ? 0 : HMP_READ_MAX;
}

/*
 * Edit and run @buf until a command suspends the monitor; keep the rest
 * in mon->held for monitor_resume().  Input after 'quit' is dropped.
 */
static void hmp_feed(Monitor *mon, const char *buf, int size)
{
    int i;

    for (i = 0; i < size && !mon->suspended && !mon->suspend_cnt; i++) {
        hmp_read_byte(mon, buf[i]);
    }
    if (i < size && !mon->suspended) {
        size -= i;
        assert(mon->held_len + size <= (int)sizeof(mon->held));
        memmove(mon->held + size, mon->held, mon->held_len);
        memcpy(mon->held, buf + i, size);
        mon->held_len += size;
    }
}

static void hmp_read(void *opaque, const uint8_t *buf, int size)
{
    hmp_feed(opaque, (const char *)buf, size);
}

static void hmp_event(void *opaque, QEMUChrEvent event)
{
    Monitor *mon = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        g_string_truncate(mon->line, 0);
        mon->esc_state = 0;
        mon->held_len = 0;
        hmp_show_banner(mon);
        break;
    case CHR_EVENT_CLOSED:
        /* input held for a suspended monitor was the old client's */
        g_string_truncate(mon->line, 0);
        mon->esc_state = 0;
        mon->held_len = 0;
        mon->banner_shown = false;
        break;
    default:
        break;
    }
}

void monitor_suspend_hmp(Monitor *mon)
{
    mon->suspended = true;
}

/* QMP, or HMP through human-monitor-command: nothing to hold. */
static bool monitor_is_non_interactive(Monitor *mon)
{
    return mon->is_qmp || !mon->chr || mon->capture;
}

int monitor_suspend(Monitor *mon)
{
    if (monitor_is_non_interactive(mon)) {
        return -ENOTTY;
    }
    mon->suspend_cnt++;
    return 0;
}

void monitor_resume(Monitor *mon)
{
    char buf[HMP_READ_MAX];
    int len;

    if (monitor_is_non_interactive(mon) || !mon->suspend_cnt) {
        return;
    }
    if (--mon->suspend_cnt) {
        return;
    }
    hmp_show_prompt(mon);
    /* what came after the line that suspended us, then the chardev */
    len = mon->held_len;
    memcpy(buf, mon->held, len);
    mon->held_len = 0;
    hmp_feed(mon, buf, len);
    if (!mon->suspended && !mon->suspend_cnt) {
        qemu_chr_fe_accept_input(mon->chr);
    }
}

bool monitor_init_hmp(Chardev *chr, bool use_readline, Error **errp)
{
    Monitor *mon;

    if (!chr) {
        error_setg(errp, "HMP monitor needs a character device");
        return false;
    }
    mon = monitor_new(chr, false);
    mon->use_readline = use_readline;
    QTAILQ_INSERT_TAIL(&mon_list, mon, next);
    if (use_readline) {
        /* we echo and edit ourselves: no terminal echo */
        qemu_chr_fe_set_echo(chr, false);
    }
    qemu_chr_fe_set_handlers(chr, hmp_can_read, hmp_read, hmp_event, mon);
    if (qemu_chr_fe_connected(chr)) {
        hmp_show_banner(mon);
    }
    return true;
}
