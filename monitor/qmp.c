/*
 * The QMP server: JSON commands and events on a chardev.
 *
 * Session: greeting on connect, capabilities negotiation (only
 * qmp_capabilities is accepted), then commands; each reply is one line
 * ending in "\r\n".  Input is split into complete JSON texts by the
 * JsonSplitter and parsed by json-glib.  Commands run in the main thread
 * with the BQL held (chardev handlers are called that way).
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qjson.h"
#include "qapi/qapi-commands.h"
#include "chardev/char.h"
#include "monitor-internal.h"
#include "trace.h"

/* the only command accepted before negotiation */
static const QmpCommand *cap_negotiation_cmds;
static QmpCommandList cap_negotiation_list;

static void qmp_send_object(Monitor *mon, JsonObject *obj)
{
    char *text = qjson_object_to_string(obj);
    GString *line = g_string_new(text);

    trace_monitor_qmp_reply(mon, text);
    g_string_append(line, "\r\n");
    monitor_write_raw(mon, line->str, line->len);
    g_string_free(line, TRUE);
    g_free(text);
}

static void qmp_send_error(Monitor *mon, Error *err)
{
    JsonObject *rsp = qmp_error_response(err);

    qmp_send_object(mon, rsp);
    json_object_unref(rsp);
}

static void qmp_send_greeting(Monitor *mon)
{
    JsonObject *qemu = json_object_new();
    JsonObject *ver = json_object_new();
    JsonObject *qmp = json_object_new();
    JsonObject *greeting = json_object_new();
    JsonArray *caps = json_array_new();
    char *package = g_strdup_printf("Godwit %s", GODWIT_VERSION);

    json_object_set_int_member(qemu, "micro", 0);
    json_object_set_int_member(qemu, "minor", 2);
    json_object_set_int_member(qemu, "major", 7);
    json_object_set_object_member(ver, "qemu", qemu);
    json_object_set_string_member(ver, "package", package);
    json_object_set_object_member(qmp, "version", ver);
    json_array_add_string_element(caps, "oob");
    json_object_set_array_member(qmp, "capabilities", caps);
    json_object_set_object_member(greeting, "QMP", qmp);
    qmp_send_object(mon, greeting);
    json_object_unref(greeting);
    g_free(package);
}

static void qmp_handle_request(Monitor *mon, JsonObject *req)
{
    Monitor *old = monitor_set_cur(mon);
    JsonObject *rsp;

    if (!mon->negotiated) {
        rsp = qmp_dispatch(&cap_negotiation_list, req, false);
        if (json_object_has_member(rsp, "error")) {
            JsonObject *e = json_object_get_object_member(rsp, "error");

            if (!strcmp(json_object_get_string_member(e, "class"),
                        "CommandNotFound")) {
                json_object_set_string_member(e, "desc",
                    "Expecting capabilities negotiation with 'qmp_capabilities'");
            }
        }
    } else {
        rsp = qmp_dispatch(&qmp_commands, req, mon->oob_enabled);
    }
    monitor_set_cur(old);
    qmp_send_object(mon, rsp);
    json_object_unref(rsp);
}

static void qmp_handle_text(void *opaque, const char *text, size_t len,
                            const char *error)
{
    Monitor *mon = opaque;
    g_autoptr(JsonParser) parser = NULL;
    GError *gerr = NULL;
    JsonNode *root;
    Error *err = NULL;

    if (error) {
        error_setg(&err, "JSON parse error, %s", error);
        qmp_send_error(mon, err);
        return;
    }
    trace_monitor_qmp_cmd_in(mon, text);
    parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(parser, text, len, &gerr)) {
        error_setg(&err, "JSON parse error, %s", gerr->message);
        g_error_free(gerr);
        qmp_send_error(mon, err);
        return;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        error_setg(&err, "QMP input must be a JSON object");
        qmp_send_error(mon, err);
        return;
    }
    qmp_handle_request(mon, json_node_get_object(root));
}

static int qmp_can_read(void *opaque)
{
    return 4096;
}

static void qmp_read(void *opaque, const uint8_t *buf, int size)
{
    Monitor *mon = opaque;

    json_splitter_feed(&mon->splitter, (const char *)buf, size);
}

static void qmp_event(void *opaque, QEMUChrEvent event)
{
    Monitor *mon = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        trace_monitor_qmp_open(mon);
        json_splitter_reset(&mon->splitter);
        mon->negotiated = false;
        mon->oob_enabled = false;
        qmp_send_greeting(mon);
        break;
    case CHR_EVENT_CLOSED:
        trace_monitor_qmp_close(mon);
        /* a half-sent command dies with its client */
        json_splitter_reset(&mon->splitter);
        mon->negotiated = false;
        mon->oob_enabled = false;
        break;
    default:
        break;
    }
}

static void cap_negotiation_init(void)
{
    if (!cap_negotiation_cmds) {
        cap_negotiation_cmds = qmp_find_command(&qmp_commands, "qmp_capabilities");
        assert(cap_negotiation_cmds);
        cap_negotiation_list.cmds = cap_negotiation_cmds;
        cap_negotiation_list.n_cmds = 1;
    }
}

bool monitor_init_qmp(Chardev *chr, bool pretty, Error **errp)
{
    Monitor *mon;

    if (!chr) {
        error_setg(errp, "QMP monitor needs a character device");
        return false;
    }
    cap_negotiation_init();
    mon = monitor_new(chr, true);
    mon->pretty = pretty;
    json_splitter_init(&mon->splitter, qmp_handle_text, mon);
    QTAILQ_INSERT_TAIL(&mon_list, mon, next);
    qemu_chr_fe_set_handlers(chr, qmp_can_read, qmp_read, qmp_event, mon);
    return true;
}

/* ---------------------------------------------------------------- commands */

JsonNode *qmp_qmp_capabilities(JsonObject *args, Error **errp)
{
    Monitor *mon = monitor_cur();
    JsonArray *enable;

    if (!mon || !mon->is_qmp) {
        error_setg(errp, "qmp_capabilities is only valid on a QMP monitor");
        return NULL;
    }
    if (mon->negotiated) {
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Capabilities negotiation is already complete, command ignored");
        return NULL;
    }
    if (qapi_arg_has(args, "enable")) {
        enable = json_object_get_array_member(args, "enable");
        for (guint i = 0; i < json_array_get_length(enable); i++) {
            /* the schema allows only "oob" */
            mon->oob_enabled = true;
        }
    }
    mon->negotiated = true;
    return NULL;
}
