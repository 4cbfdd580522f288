/*
 * One migration channel's data path, TLS against plain: a sender thread
 * writes pages through a real QEMUFile (an 8-byte header put by copy, then
 * the 4 KiB page queued with qemu_put_buffer_async, as ram.c does) into a
 * QIOChannelTLS over a socketpair; a receiver thread reads them back with
 * qemu_get_be64 + qemu_get_buffer into a destination area, as the RAM
 * loader does.  The destination is compared with the source at the end.
 *
 *   bench-tls-channel [MIB [PRIORITY]]
 *
 * MIB (default 1024) is the amount of page data sent; the source area is
 * 64 MiB of random bytes sent over and over.  PRIORITY, if given, is the
 * GnuTLS priority string of both ends' credentials (default: Godwit's).
 *
 * Figures are per CPU second of each thread (CLOCK_THREAD_CPUTIME_ID), so
 * they do not depend on other load of the host; wall time is printed too.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "io/channel-socket.h"
#include "io/channel-tls.h"
#include "crypto/tlscreds.h"
#include "crypto/tlssession.h"
#include "qom/object_interfaces.h"
#include "migration/qemu-file.h"
#include "../tls-certs.h"

#include <sys/socket.h>

#define PAGE        4096
#define AREA        (64 * MiB)
#define AREA_PAGES  (AREA / PAGE)

typedef struct Run {
    QIOChannel *out, *in;
    const uint8_t *src;
    uint8_t *dst;
    uint64_t pages;
    double cpu_s, wall_s;
    bool ok;
} Run;

static double thread_cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall(void)
{
    return get_clock() / 1e9;
}

static gpointer sender(gpointer opaque)
{
    Run *r = opaque;
    QEMUFile *f = qemu_file_new_output(r->out);
    double c0 = thread_cpu(), t0 = wall();

    for (uint64_t i = 0; i < r->pages; i++) {
        uint64_t idx = i % AREA_PAGES;

        qemu_put_be64(f, idx * PAGE | 0x8);   /* offset | PAGE flag */
        qemu_put_buffer_async(f, r->src + idx * PAGE, PAGE, false);
    }
    qemu_put_be64(f, 0x10);                   /* EOS */
    qemu_fflush(f);
    r->cpu_s = thread_cpu() - c0;
    r->wall_s = wall() - t0;
    r->ok = qemu_file_get_error(f) == 0;
    qemu_fclose(f);
    return NULL;
}

static gpointer receiver(gpointer opaque)
{
    Run *r = opaque;
    QEMUFile *f = qemu_file_new_input(r->in);
    double c0 = thread_cpu(), t0 = wall();
    uint64_t n = 0;

    r->ok = true;
    for (;;) {
        uint64_t hdr = qemu_get_be64(f);

        if (qemu_file_get_error(f) || hdr == 0x10) {
            break;
        }
        if (!(hdr & 0x8) || (hdr & ~0xfffULL) >= AREA) {
            r->ok = false;
            break;
        }
        qemu_get_buffer(f, r->dst + (hdr & ~0xfffULL), PAGE);
        n++;
    }
    r->cpu_s = thread_cpu() - c0;
    r->wall_s = wall() - t0;
    r->ok = r->ok && qemu_file_get_error(f) == 0 && n == r->pages;
    qemu_fclose(f);
    return NULL;
}

typedef struct Side {
    Error *err;
    bool done;
} Side;

static void handshake_done(QIOTask *task, gpointer opaque)
{
    Side *side = opaque;

    qio_task_propagate_error(task, &side->err);
    side->done = true;
}

/* TLS client/server over @sv; returns false (printing why) on failure. */
static bool tls_pair(int sv[2], QIOChannel **out, QIOChannel **in,
                     char **desc)
{
    QIOChannelSocket *a = qio_channel_socket_new_fd(sv[0], &error_abort);
    QIOChannelSocket *b = qio_channel_socket_new_fd(sv[1], &error_abort);
    QCryptoTLSCreds *cc, *sc;
    QIOChannelTLS *c, *s;
    Side cs = { 0 }, ss = { 0 };

    cc = qcrypto_tls_creds_find("bc", QCRYPTO_TLS_CREDS_ENDPOINT_CLIENT,
                                &error_abort);
    sc = qcrypto_tls_creds_find("bs", QCRYPTO_TLS_CREDS_ENDPOINT_SERVER,
                                &error_abort);
    c = qio_channel_tls_new_client(QIO_CHANNEL(a), cc, NULL, &error_abort);
    s = qio_channel_tls_new_server(QIO_CHANNEL(b), sc, NULL, &error_abort);
    qcrypto_tls_creds_unref(cc);
    qcrypto_tls_creds_unref(sc);
    qio_channel_unref(QIO_CHANNEL(a));
    qio_channel_unref(QIO_CHANNEL(b));
    qio_channel_tls_handshake(s, handshake_done, &ss, NULL, NULL);
    qio_channel_tls_handshake(c, handshake_done, &cs, NULL, NULL);
    while (!cs.done || !ss.done) {
        /* a failed end closes its socket so the other one stops too */
        if (cs.done && cs.err && !ss.done) {
            qio_channel_close(QIO_CHANNEL(c), NULL);
        }
        if (ss.done && ss.err && !cs.done) {
            qio_channel_close(QIO_CHANNEL(s), NULL);
        }
        g_main_context_iteration(NULL, TRUE);
    }
    if (cs.err || ss.err) {
        fprintf(stderr, "handshake failed: %s\n",
                error_get_pretty(cs.err ? cs.err : ss.err));
        return false;
    }
    *desc = qcrypto_tls_session_get_description(
        qio_channel_tls_get_session(c));
    *out = QIO_CHANNEL(c);
    *in = QIO_CHANNEL(s);
    return true;
}

static bool run(const char *name, bool tls, const uint8_t *src, uint8_t *dst,
                uint64_t pages)
{
    Run snd = { .src = src, .pages = pages };
    Run rcv = { .dst = dst, .pages = pages };
    g_autofree char *desc = NULL;
    QIOChannel *out, *in;
    GThread *ts, *tr;
    int sv[2];
    double gb = pages * (double)PAGE / 1e9;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("socketpair");
        return false;
    }
    if (tls) {
        if (!tls_pair(sv, &out, &in, &desc)) {
            return false;
        }
    } else {
        out = QIO_CHANNEL(qio_channel_socket_new_fd(sv[0], &error_abort));
        in = QIO_CHANNEL(qio_channel_socket_new_fd(sv[1], &error_abort));
        desc = g_strdup("no TLS");
    }
    memset(dst, 0, AREA);
    snd.out = out;
    rcv.in = in;
    tr = g_thread_new("bench-recv", receiver, &rcv);
    ts = g_thread_new("bench-send", sender, &snd);
    g_thread_join(ts);
    g_thread_join(tr);
    qio_channel_unref(out);
    qio_channel_unref(in);
    if (!snd.ok || !rcv.ok ||
        memcmp(src, dst, MIN(pages, AREA_PAGES) * PAGE) != 0) {
        fprintf(stderr, "%s: transfer failed or data differs\n", name);
        return false;
    }
    printf("%-5s %-28s %6.2f GB  send %6.2f GB/CPU-s (%.2f s CPU)  "
           "recv %6.2f GB/CPU-s (%.2f s CPU)  wall %.2f GB/s\n",
           name, desc, gb, gb / snd.cpu_s, snd.cpu_s, gb / rcv.cpu_s,
           rcv.cpu_s, gb / MAX(snd.wall_s, rcv.wall_s));
    return true;
}

int main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 1024;
    const char *prio = argc > 2 ? argv[2] : NULL;
    g_autofree char *dir = g_dir_make_tmp("bench-tls-XXXXXX", NULL);
    g_autofree char *keys = NULL, *sopt = NULL, *copt = NULL;
    g_autofree char *prio_opt = prio ? g_strdup_printf(",priority=%s", prio)
                                     : g_strdup("");
    uint8_t *src, *dst;
    bool ok;

    if (mib == 0 || !dir) {
        fprintf(stderr, "usage: bench-tls-channel [MIB [PRIORITY]]\n");
        return 1;
    }
    tls_certs_psk(dir, "qemu", "9d5638c40fde0c1234567890abcdef12");
    keys = g_build_filename(dir, "keys.psk", NULL);
    sopt = g_strdup_printf("tls-creds-psk,id=bs,dir=%s,endpoint=server%s",
                           dir, prio_opt);
    copt = g_strdup_printf("tls-creds-psk,id=bc,dir=%s,endpoint=client,"
                           "username=qemu%s", dir, prio_opt);
    user_object_add_str(sopt, false, &error_abort);
    user_object_add_str(copt, false, &error_abort);
    src = g_malloc(AREA);
    dst = g_malloc(AREA);
    for (size_t i = 0; i < AREA / 4; i++) {
        ((uint32_t *)src)[i] = g_random_int();
    }
    ok = run("plain", false, src, dst, mib * MiB / PAGE) &&
         run("tls", true, src, dst, mib * MiB / PAGE);
    unlink(keys);
    rmdir(dir);
    g_free(src);
    g_free(dst);
    return ok ? 0 : 1;
}
