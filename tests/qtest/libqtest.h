/*
 * libqtest: start Godwit processes and drive them through QMP, qtest and
 * their serial port, for qtest-style tests.
 *
 * Every process started here is killed and reaped when the test ends,
 * also when it fails: children run with PR_SET_PDEATHSIG=SIGKILL, and an
 * abort handler plus atexit() kill whatever is still registered.
 *
 * QMP messages are json-glib objects; the caller owns what is returned
 * (json_object_unref).  Functions that wait take their timeout from
 * QTEST_TIMEOUT_MS (default 120000) and fail the test on expiry.
 *
 * Environment: QTEST_QEMU_BINARY (the emulator), QTEST_TIMEOUT_MS,
 * QTEST_EXTRA_ARGS (arguments put before the test's own; e.g. "-accel tcg
 * -qtest-log /dev/null -monitor none" runs the tests on stock QEMU),
 * QTEST_LOG (log QMP and qtest traffic to stderr).
 */
#ifndef LIBQTEST_H
#define LIBQTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <json-glib/json-glib.h>

typedef struct QTestState QTestState;

/*
 * Start $QTEST_QEMU_BINARY with a QMP unix socket, a qtest unix socket and
 * the serial port written to a file in a private temp dir, plus @extra_args
 * (split on spaces, shell-like quoting not supported).  Performs the QMP
 * greeting and qmp_capabilities.
 */
QTestState *qtest_init(const char *extra_args);
QTestState *qtest_initf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As qtest_init but stops after reading the greeting (returned in *greeting if non-NULL). */
QTestState *qtest_init_without_qmp_handshake(const char *extra_args, JsonObject **greeting);
/* Send "quit", wait for exit (bounded), then SIGKILL if needed; frees @s. */
void qtest_quit(QTestState *s);
/* SIGKILL and reap at once; frees @s. */
void qtest_kill(QTestState *s);
/*
 * Wait for the process to exit by itself; returns its wait status, or -1
 * if it is still running after @timeout_ms (<= 0: QTEST_TIMEOUT_MS).
 */
int qtest_wait_exit(QTestState *s, int timeout_ms);
pid_t qtest_pid(QTestState *s);
/* Private temp dir of this instance (sockets, serial file). */
const char *qtest_tmpdir(QTestState *s);

/* ---- QMP */
/* Send a command (printf-style JSON text), return the response (not an event). */
JsonObject *qtest_qmp(QTestState *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qtest_qmp_send(QTestState *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw bytes, for malformed-input tests. */
void qtest_qmp_send_raw(QTestState *s, const char *text);
/* Send with an fd attached through SCM_RIGHTS (for getfd). */
void qtest_qmp_send_fd(QTestState *s, int fd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Next response (events are queued for qtest_qmp_eventwait). */
JsonObject *qtest_qmp_receive(QTestState *s);
/* Next message of any kind, events included (skips nothing). */
JsonObject *qtest_qmp_receive_any(QTestState *s);
/* Wait for event @name (queued or new); returns the whole event message. */
JsonObject *qtest_qmp_eventwait_ref(QTestState *s, const char *name);
void qtest_qmp_eventwait(QTestState *s, const char *name);
/* Assert the response is a success and return its "return" member (a new ref). */
JsonNode *qtest_qmp_assert_success_ref(QTestState *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qtest_qmp_assert_success(QTestState *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* HMP through human-monitor-command; returns the output (g_free). */
char *qtest_hmp(QTestState *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Serialize a JsonObject for messages. */
char *qtest_json_to_string(JsonObject *obj);

/* ---- qtest memory access (works while the vCPUs run) */
uint8_t  qtest_readb(QTestState *s, uint64_t addr);
uint16_t qtest_readw(QTestState *s, uint64_t addr);
uint32_t qtest_readl(QTestState *s, uint64_t addr);
uint64_t qtest_readq(QTestState *s, uint64_t addr);
void qtest_writeb(QTestState *s, uint64_t addr, uint8_t v);
void qtest_writew(QTestState *s, uint64_t addr, uint16_t v);
void qtest_writel(QTestState *s, uint64_t addr, uint32_t v);
void qtest_writeq(QTestState *s, uint64_t addr, uint64_t v);
void qtest_memread(QTestState *s, uint64_t addr, void *buf, size_t size);   /* "read" hex */
void qtest_memwrite(QTestState *s, uint64_t addr, const void *buf, size_t size);
void qtest_bufread(QTestState *s, uint64_t addr, void *buf, size_t size);   /* "b64read" */
void qtest_bufwrite(QTestState *s, uint64_t addr, const void *buf, size_t size);
void qtest_memset(QTestState *s, uint64_t addr, uint8_t patt, size_t size);
/* Send a raw qtest line and return the reply line (g_free), for protocol tests. */
char *qtest_raw_cmd(QTestState *s, const char *line);

/* ---- serial */
const char *qtest_serial_path(QTestState *s);
/* Everything the guest printed so far (g_free). */
char *qtest_serial_read(QTestState *s);
/*
 * Wait until the serial output contains @c after byte offset *pos (updated
 * to just past it).  Returns false on timeout_ms expiry (<= 0:
 * QTEST_TIMEOUT_MS) or when the process has exited without printing it.
 */
bool qtest_serial_wait_char(QTestState *s, char c, size_t *pos, int timeout_ms);

/* ---- guests */
/*
 * Write a built-in guest image (tests/migration-guest/<name>.h: "a-b",
 * "rate", "rate-low", "verify"; see the README there) to a file in a test
 * temp dir; returns its path (g_free).
 */
char *qtest_guest_image(const char *name);

#endif
