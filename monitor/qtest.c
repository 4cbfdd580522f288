/*
 * The qtest server: a line protocol on a chardev for tests to read and
 * write guest memory (QEMU keeps it in system/qtest.c).
 *
 *   readb|readw|readl|readq ADDR        -> OK 0x<16 hex digits>
 *   writeb|writew|writel|writeq ADDR V  -> OK
 *   read ADDR SIZE                      -> OK 0x<hex bytes>
 *   write ADDR SIZE 0x<hex bytes>       -> OK
 *   b64read ADDR SIZE                   -> OK <base64>
 *   b64write ADDR SIZE <base64>         -> OK
 *   memset ADDR SIZE VAL                -> OK
 *   endianness                          -> OK little
 * Anything wrong: "FAIL <reason>".  Values are little-endian (RISC-V).
 * Memory goes through address_space_read/write in the main thread with the
 * BQL held (chardev handlers run that way), so RAM works while the vCPUs
 * run and MMIO is dispatched as for a device.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "chardev/char.h"
#include "exec/memory.h"
#include "monitor/monitor.h"
#include "trace.h"

#define QTEST_MAX_SIZE (64 * MiB)

static Chardev *qtest_chr;
static GString *qtest_inbuf;
static FILE *qtest_log_fp;
static bool qtest_on;

bool qtest_enabled(void)
{
    return qtest_on;
}

static void qtest_log(char dir, const char *line)
{
    if (qtest_log_fp) {
        fprintf(qtest_log_fp, "%c %s\n", dir, line);
        fflush(qtest_log_fp);
    }
}

static void qtest_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void qtest_reply(const char *fmt, ...)
{
    va_list ap;
    char *s;
    GString *line;

    va_start(ap, fmt);
    s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_log('<', s);
    line = g_string_new(s);
    g_string_append_c(line, '\n');
    qemu_chr_fe_write_all(qtest_chr, (const uint8_t *)line->str, line->len);
    g_string_free(line, TRUE);
    g_free(s);
}

static bool parse_u64(const char *s, uint64_t *v)
{
    if (!s) {
        qtest_reply("FAIL missing argument");
        return false;
    }
    if (qemu_strtou64(s, NULL, 0, v) < 0) {
        qtest_reply("FAIL invalid number '%s'", s);
        return false;
    }
    return true;
}

static bool parse_addr_size(char **words, uint64_t *addr, uint64_t *size)
{
    if (!parse_u64(words[1], addr) || !parse_u64(words[1] ? words[2] : NULL, size)) {
        return false;
    }
    if (*size > QTEST_MAX_SIZE) {
        qtest_reply("FAIL size too large (at most %" PRIu64 " bytes)",
                    (uint64_t)QTEST_MAX_SIZE);
        return false;
    }
    return true;
}

static void reply_unmapped(uint64_t addr, uint64_t size)
{
    qtest_reply("FAIL memory at 0x%" PRIx64 " size %" PRIu64 " is not mapped",
                addr, size);
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = g_ascii_tolower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static void qtest_process(char **words)
{
    const char *cmd = words[0];
    uint64_t addr, size, val;

    if (!cmd || !*cmd) {
        qtest_reply("FAIL empty command");
        return;
    }
    if (!strcmp(cmd, "readb") || !strcmp(cmd, "readw") ||
        !strcmp(cmd, "readl") || !strcmp(cmd, "readq")) {
        unsigned n = cmd[4] == 'b' ? 1 : cmd[4] == 'w' ? 2 : cmd[4] == 'l' ? 4 : 8;
        uint8_t buf[8] = { 0 };

        if (!parse_u64(words[1], &addr)) {
            return;
        }
        if (!address_space_read(addr, buf, n)) {
            reply_unmapped(addr, n);
            return;
        }
        val = 0;
        for (int i = n - 1; i >= 0; i--) {
            val = (val << 8) | buf[i];
        }
        qtest_reply("OK 0x%016" PRIx64, val);
    } else if (!strcmp(cmd, "writeb") || !strcmp(cmd, "writew") ||
               !strcmp(cmd, "writel") || !strcmp(cmd, "writeq")) {
        unsigned n = cmd[5] == 'b' ? 1 : cmd[5] == 'w' ? 2 : cmd[5] == 'l' ? 4 : 8;
        uint8_t buf[8];

        if (!parse_u64(words[1], &addr) || !parse_u64(words[2], &val)) {
            return;
        }
        for (unsigned i = 0; i < n; i++) {
            buf[i] = val >> (8 * i);
        }
        if (!address_space_write(addr, buf, n)) {
            reply_unmapped(addr, n);
            return;
        }
        qtest_reply("OK");
    } else if (!strcmp(cmd, "read") || !strcmp(cmd, "b64read")) {
        g_autofree uint8_t *data = NULL;

        if (!parse_addr_size(words, &addr, &size)) {
            return;
        }
        if (!size) {
            qtest_reply("FAIL size must not be zero");
            return;
        }
        data = g_malloc(size);
        if (!address_space_read(addr, data, size)) {
            reply_unmapped(addr, size);
            return;
        }
        if (cmd[0] == 'r') {
            GString *hex = g_string_sized_new(2 * size + 4);

            g_string_append(hex, "OK 0x");
            for (uint64_t i = 0; i < size; i++) {
                g_string_append_printf(hex, "%02x", data[i]);
            }
            qtest_reply("%s", hex->str);
            g_string_free(hex, TRUE);
        } else {
            g_autofree char *b64 = g_base64_encode(data, size);

            qtest_reply("OK %s", b64);
        }
    } else if (!strcmp(cmd, "write")) {
        g_autofree uint8_t *data = NULL;
        const char *hex;

        if (!parse_addr_size(words, &addr, &size)) {
            return;
        }
        hex = words[3];
        if (!hex || strncmp(hex, "0x", 2)) {
            qtest_reply("FAIL data must be 0x followed by hex digits");
            return;
        }
        hex += 2;
        data = g_malloc0(size ? size : 1);
        /* missing trailing bytes are zero, as in QEMU */
        for (uint64_t i = 0; i < size && hex[2 * i] && hex[2 * i + 1]; i++) {
            int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

            if (hi < 0 || lo < 0) {
                qtest_reply("FAIL invalid hex data");
                return;
            }
            data[i] = hi << 4 | lo;
        }
        if (size && !address_space_write(addr, data, size)) {
            reply_unmapped(addr, size);
            return;
        }
        qtest_reply("OK");
    } else if (!strcmp(cmd, "b64write")) {
        guchar *data;
        gsize out_len = 0;

        if (!parse_addr_size(words, &addr, &size)) {
            return;
        }
        if (!words[3]) {
            qtest_reply("FAIL missing argument");
            return;
        }
        data = g_base64_decode(words[3], &out_len);
        if (out_len != size) {
            qtest_reply("FAIL b64write: data length mismatch (told %" PRIu64
                        ", found %" G_GSIZE_FORMAT ")", size, out_len);
            g_free(data);
            return;
        }
        if (size && !address_space_write(addr, data, size)) {
            reply_unmapped(addr, size);
            g_free(data);
            return;
        }
        g_free(data);
        qtest_reply("OK");
    } else if (!strcmp(cmd, "memset")) {
        g_autofree uint8_t *data = NULL;

        if (!parse_addr_size(words, &addr, &size) ||
            !parse_u64(words[3], &val)) {
            return;
        }
        if (size) {
            data = g_malloc(size);
            memset(data, (uint8_t)val, size);
            if (!address_space_write(addr, data, size)) {
                reply_unmapped(addr, size);
                return;
            }
        }
        qtest_reply("OK");
    } else if (!strcmp(cmd, "endianness")) {
        qtest_reply("OK little");
    } else {
        qtest_reply("FAIL Unknown command '%s'", cmd);
    }
}

static int qtest_can_read(void *opaque)
{
    return 65536;
}

static void qtest_read(void *opaque, const uint8_t *buf, int size)
{
    char *nl;

    g_string_append_len(qtest_inbuf, (const char *)buf, size);
    while ((nl = memchr(qtest_inbuf->str, '\n', qtest_inbuf->len))) {
        size_t len = nl - qtest_inbuf->str;
        char *line = g_strndup(qtest_inbuf->str, len);
        char **words;

        g_string_erase(qtest_inbuf, 0, len + 1);
        g_strchomp(line);
        trace_qtest_cmd(line);
        qtest_log('>', line);
        words = g_strsplit(line, " ", 0);
        qtest_process(words);
        g_strfreev(words);
        g_free(line);
    }
    if (qtest_inbuf->len > 3 * QTEST_MAX_SIZE) {
        /* no line end in sight: drop it */
        g_string_truncate(qtest_inbuf, 0);
        qtest_reply("FAIL line too long");
    }
}

static void qtest_event(void *opaque, QEMUChrEvent event)
{
    if (event == CHR_EVENT_OPENED || event == CHR_EVENT_CLOSED) {
        g_string_truncate(qtest_inbuf, 0);
        qtest_log('=', event == CHR_EVENT_OPENED ? "OPENED" : "CLOSED");
    }
}

bool qtest_server_init(const char *spec, const char *logfile, Error **errp)
{
    Chardev *chr;

    if (qtest_chr) {
        error_setg(errp, "Only one instance of qtest can be created");
        return false;
    }
    chr = qemu_chr_new("qtest", spec, errp);
    if (!chr) {
        if (errp && !*errp) {
            error_setg(errp, "Failed to initialize device for qtest: \"%s\"", spec);
        }
        return false;
    }
    if (logfile && strcmp(logfile, "none")) {
        qtest_log_fp = fopen(logfile, "w");
        if (!qtest_log_fp) {
            error_setg_errno(errp, errno, "Could not open '%s'", logfile);
            return false;
        }
    }
    qtest_chr = chr;
    qtest_inbuf = g_string_new(NULL);
    qtest_on = true;
    qemu_chr_fe_set_handlers(chr, qtest_can_read, qtest_read, qtest_event, NULL);
    return true;
}
