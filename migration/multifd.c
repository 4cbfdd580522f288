/*
 * Multifd: RAM pages over extra channels, one thread per channel
 * (multifd.h has the overview; docs/devel/migration/multifd.rst the byte
 * layouts and the sync sequence).  Compression goes through the
 * MultiFDMethods of multifd-compression: "none" is here, zlib and zstd
 * have their own files.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bitops.h"
#include "qemu/cutils.h"
#include "qemu/main-loop.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "sysemu/sysemu.h"
#include "migration/migration.h"
#include "migration/channel.h"
#include "migration/multifd.h"
#include "migration/options.h"
#include "migration/ram.h"
#include "migration/socket.h"
#include "migration/tls.h"
#include "migration/trace.h"
#include "migration/wire.h"
#include "io/channel-socket.h"

/* Offsets of the fields of the initial packet and the packet header. */
#define INIT_OFF_MAGIC      0
#define INIT_OFF_VERSION    4
#define INIT_OFF_UUID       8
#define INIT_OFF_ID         24
#define PKT_OFF_MAGIC       0
#define PKT_OFF_VERSION     4
#define PKT_OFF_FLAGS       8
#define PKT_OFF_PAGES_ALLOC 12
#define PKT_OFF_NORMAL      16
#define PKT_OFF_NEXT_SIZE   20
#define PKT_OFF_PACKET_NUM  24
#define PKT_OFF_ZERO_PAGES  32
#define PKT_OFF_IDSTR       64
#define PKT_OFF_OFFSETS     MULTIFD_PACKET_HEADER_SIZE

/* Pages per packet: 128 for 4 KiB target pages. */
#define MULTIFD_PAGE_COUNT  (MULTIFD_PACKET_SIZE / TARGET_PAGE_SIZE)
/* Bytes of a packet header with its offset array (1344 for 4 KiB). */
#define MULTIFD_PACKET_LEN  (MULTIFD_PACKET_HEADER_SIZE + 8 * MULTIFD_PAGE_COUNT)

static void put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

static uint32_t get_be32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_BE(v);
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_BE(v);
}

/* ============================================================ methods */

/* none: the pages themselves are the payload, read straight into RAM. */
static bool nocomp_setup(void **state, Error **errp)
{
    *state = NULL;
    return true;
}

static void nocomp_cleanup(void *state)
{
}

static bool nocomp_send_prepare(void *state, uint8_t *const *pages,
                                uint32_t n, struct iovec *iov, uint32_t *niov,
                                uint32_t *size, Error **errp)
{
    for (uint32_t i = 0; i < n; i++) {
        iov[i].iov_base = pages[i];
        iov[i].iov_len = TARGET_PAGE_SIZE;
    }
    *niov = n;
    *size = n * TARGET_PAGE_SIZE;
    return true;
}

static bool nocomp_check_size(uint32_t n, uint32_t size, Error **errp)
{
    if ((uint64_t)n * TARGET_PAGE_SIZE != size) {
        error_setg(errp, "next_packet_size %" PRIu32 " does not match "
                   "normal_pages %" PRIu32 " of %u bytes", size, n,
                   (unsigned)TARGET_PAGE_SIZE);
        return false;
    }
    return true;
}

static bool nocomp_recv_pages(void *state, QIOChannel *ioc, uint32_t size,
                              const struct iovec *pages, uint32_t n,
                              Error **errp)
{
    return qio_channel_readv_all(ioc, pages, n, errp) == 0;
}

const MultiFDMethods multifd_nocomp_methods = {
    .name = "none",
    .flag = MULTIFD_FLAG_NOCOMP,
    .send_setup = nocomp_setup,
    .send_cleanup = nocomp_cleanup,
    .send_prepare = nocomp_send_prepare,
    .recv_setup = nocomp_setup,
    .recv_cleanup = nocomp_cleanup,
    .recv_check_size = nocomp_check_size,
    .recv_pages = nocomp_recv_pages,
};

const MultiFDMethods *multifd_methods_get(int compression, Error **errp)
{
    switch (compression) {
    case MULTIFD_COMPRESSION_NONE:
        return &multifd_nocomp_methods;
    case MULTIFD_COMPRESSION_ZLIB:
        return &multifd_zlib_methods;
    case MULTIFD_COMPRESSION_ZSTD:
#ifdef CONFIG_ZSTD
        return &multifd_zstd_methods;
#else
        error_setg(errp, "multifd-compression 'zstd' is not available: this "
                   "build of Godwit has no libzstd (./configure "
                   "--enable-zstd needs libzstd-dev)");
        return NULL;
#endif
    default:
        error_setg(errp, "multifd-compression %d is unknown", compression);
        return NULL;
    }
}

bool multifd_comp_check_size(uint32_t n, uint32_t size, Error **errp)
{
    if (!n && size) {
        error_setg(errp, "next_packet_size %" PRIu32 " but no normal page",
                   size);
        return false;
    }
    if (n && (!size || size > MULTIFD_COMP_PAYLOAD_MAX(n))) {
        error_setg(errp, "next_packet_size %" PRIu32 " is not a possible "
                   "compressed size for %" PRIu32 " pages (1..%llu)", size,
                   n, (unsigned long long)MULTIFD_COMP_PAYLOAD_MAX(n));
        return false;
    }
    return true;
}

bool multifd_recv_read_payload(QIOChannel *ioc, uint8_t **buf,
                               uint32_t *buf_size, uint32_t size,
                               Error **errp)
{
    if (*buf_size < size) {
        g_free(*buf);
        *buf = g_malloc(size);
        *buf_size = size;
    }
    if (qio_channel_read_all(ioc, (char *)*buf, size, errp) < 0) {
        error_prepend(errp, "reading the %" PRIu32 " payload bytes: ", size);
        return false;
    }
    return true;
}

/* ================================================================ source */

/* A batch: up to MULTIFD_PAGE_COUNT page offsets of one block. */
typedef struct MultiFDPages {
    RAMBlock *block;
    uint32_t num;
    uint64_t offset[MULTIFD_PAGE_COUNT];
} MultiFDPages;

typedef struct MultiFDSendState MultiFDSendState;

/*
 * One channel of the source.
 *
 * Set once (main thread) before the thread starts: st, id, ioc (under
 * mutex too, because shutdown reads it from any thread), thread.
 * Under mutex: ioc, pending_job, pending_sync, pages (the migration thread
 * hands a batch over by swapping pointers; the send thread owns it while
 * pending_job is set).
 * Owned by the send thread: packet, iov, page_ptrs, comp (the method's
 * stream).
 */
typedef struct MultiFDSendParams {
    MultiFDSendState *st;
    uint8_t id;
    QemuThread thread;
    bool thread_created;          /* main thread */
    QemuSemaphore sem;            /* wakes the send thread */
    QemuSemaphore sem_sync;       /* posted when a SYNC was written */

    QemuMutex mutex;
    QIOChannel *ioc;
    bool pending_job;
    bool pending_sync;
    MultiFDPages *pages;

    uint8_t *packet;
    struct iovec *iov;
    uint8_t **page_ptrs;
    void *comp;
} MultiFDSendParams;

/*
 * The channels of one outgoing migration.
 *
 * Set once at setup: s, n, params, hostname, ops, zero_detect, zero_copy.
 * Main thread: refs (the state lives while connections are pending).
 * Migration thread: pages (the batch being filled), next_channel.
 * Atomic: exiting, packet_num.  Under error_mutex: error.
 */
struct MultiFDSendState {
    MigrationState *s;
    int n;
    const MultiFDMethods *ops;
    bool zero_detect;             /* zero-page-detection=multifd */
    bool zero_copy;               /* the zero-copy-send capability */
    MultiFDSendParams *params;
    char *hostname;
    int refs;
    MultiFDPages *pages;
    int next_channel;
    QemuSemaphore channels_ready; /* one post per channel ready for a batch */
    bool exiting;
    uint64_t packet_num;
    QemuMutex error_mutex;
    Error *error;
};

static MultiFDSendState *send_state;

static void multifd_send_state_unref(MultiFDSendState *st)
{
    if (--st->refs) {
        return;
    }
    for (int i = 0; i < st->n; i++) {
        MultiFDSendParams *p = &st->params[i];

        qemu_sem_destroy(&p->sem);
        qemu_sem_destroy(&p->sem_sync);
        qemu_mutex_destroy(&p->mutex);
        g_free(p->pages);
        g_free(p->packet);
        g_free(p->iov);
        g_free(p->page_ptrs);
    }
    qemu_sem_destroy(&st->channels_ready);
    qemu_mutex_destroy(&st->error_mutex);
    error_free(st->error);
    g_free(st->params);
    g_free(st->pages);
    g_free(st->hostname);
    g_free(st);
}

/* Any thread: stop every channel and wake everyone waiting on them. */
static void multifd_send_stop(MultiFDSendState *st)
{
    if (qatomic_xchg(&st->exiting, true)) {
        return;
    }
    for (int i = 0; i < st->n; i++) {
        MultiFDSendParams *p = &st->params[i];

        qemu_mutex_lock(&p->mutex);
        if (p->ioc) {
            qio_channel_shutdown(p->ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
        }
        qemu_mutex_unlock(&p->mutex);
        qemu_sem_post(&p->sem);
        qemu_sem_post(&p->sem_sync);
        qemu_sem_post(&st->channels_ready);
    }
}

/* Any thread: the first error wins; the channels stop. */
static void multifd_send_set_error(MultiFDSendState *st, Error *err)
{
    trace_multifd_send_error(error_get_pretty(err));
    qemu_mutex_lock(&st->error_mutex);
    if (!st->error) {
        st->error = err;
        err = NULL;
    }
    qemu_mutex_unlock(&st->error_mutex);
    error_free(err);
    multifd_send_stop(st);
}

/* Migration thread: the channels failed or stopped; tell @f. */
static bool multifd_send_fail_file(MultiFDSendState *st, QEMUFile *f)
{
    Error *err = NULL;

    qemu_mutex_lock(&st->error_mutex);
    if (st->error) {
        err = error_copy(st->error);
    }
    qemu_mutex_unlock(&st->error_mutex);
    if (!err) {
        error_setg(&err, "multifd: the channels were shut down");
    }
    qemu_file_set_error_obj(f, -EIO, err);
    return false;
}

static void multifd_send_fill_init(MultiFDSendParams *p, uint8_t *buf)
{
    memset(buf, 0, MULTIFD_INIT_SIZE);
    put_be32(buf + INIT_OFF_MAGIC, MULTIFD_MAGIC);
    put_be32(buf + INIT_OFF_VERSION, MULTIFD_VERSION);
    memcpy(buf + INIT_OFF_UUID, qemu_uuid, sizeof(qemu_uuid));
    buf[INIT_OFF_ID] = p->id;
}

/*
 * Build the header of a packet into p->packet: @normal pages of @pages
 * (may be NULL: no page) with @size payload bytes.
 */
static void multifd_send_fill_packet(MultiFDSendParams *p,
                                     const MultiFDPages *pages,
                                     uint32_t normal, uint32_t zero,
                                     uint32_t size, uint32_t flags,
                                     uint64_t packet_num)
{
    uint8_t *h = p->packet;

    memset(h, 0, MULTIFD_PACKET_LEN);
    put_be32(h + PKT_OFF_MAGIC, MULTIFD_MAGIC);
    put_be32(h + PKT_OFF_VERSION, MULTIFD_VERSION);
    put_be32(h + PKT_OFF_FLAGS, flags);
    put_be32(h + PKT_OFF_PAGES_ALLOC, MULTIFD_PAGE_COUNT);
    put_be32(h + PKT_OFF_NORMAL, normal);
    put_be32(h + PKT_OFF_NEXT_SIZE, size);
    put_be64(h + PKT_OFF_PACKET_NUM, packet_num);
    put_be32(h + PKT_OFF_ZERO_PAGES, zero);
    if (normal + zero) {
        /* idstr is at most 255 bytes (checked at ram setup): NUL padded */
        size_t len = strnlen(pages->block->idstr, MULTIFD_IDSTR_SIZE - 1);

        memcpy(h + PKT_OFF_IDSTR, pages->block->idstr, len);
    }
    for (uint32_t i = 0; i < normal + zero; i++) {
        put_be64(h + PKT_OFF_OFFSETS + 8 * i, pages->offset[i]);
    }
}

/*
 * zero-page-detection=multifd: reorder @pages so that its normal pages
 * come first and its zero pages last (the packet's order); returns how
 * many are normal.
 */
static uint32_t multifd_send_sort_zero(MultiFDPages *pages)
{
    uint32_t normal = 0, end = pages->num;

    while (normal < end) {
        uint64_t off = pages->offset[normal];

        if (buffer_is_zero(pages->block->host + off, TARGET_PAGE_SIZE)) {
            pages->offset[normal] = pages->offset[--end];
            pages->offset[end] = off;
        } else {
            normal++;
        }
    }
    return normal;
}

/*
 * Send thread: the packet of p->pages (when @has_pages) with @flags:
 * header and payload into p->iov.  Returns the iovec count, 0 on error.
 */
static size_t multifd_send_build(MultiFDSendParams *p, bool has_pages,
                                 uint32_t flags, uint64_t num, size_t *bytes,
                                 Error **errp)
{
    MultiFDPages *pages = has_pages ? p->pages : NULL;
    uint32_t total = pages ? pages->num : 0, niov = 0, size = 0;
    uint32_t n = total;

    if (total && p->st->zero_detect) {
        n = multifd_send_sort_zero(pages);
        stat64_add(&p->st->s->stats.normal_pages, n);
        stat64_add(&p->st->s->stats.zero_pages, total - n);
    }
    if (n) {
        for (uint32_t i = 0; i < n; i++) {
            p->page_ptrs[i] = pages->block->host + pages->offset[i];
        }
        if (!p->st->ops->send_prepare(p->comp, p->page_ptrs, n, p->iov + 1,
                                      &niov, &size, errp)) {
            error_prepend(errp, "packet %" PRIu64 ": ", num);
            return 0;
        }
    }
    multifd_send_fill_packet(p, pages, n, total - n, size,
                             flags | p->st->ops->flag, num);
    p->iov[0].iov_base = p->packet;
    p->iov[0].iov_len = MULTIFD_PACKET_LEN;
    *bytes = MULTIFD_PACKET_LEN + (size_t)size;
    return 1 + niov;
}

/*
 * Send thread: write the packet in p->iov.  With zero-copy-send the
 * header goes by copy (it is rewritten for the next packet at once) and
 * the pages by MSG_ZEROCOPY straight from guest RAM.
 */
static bool multifd_send_write(MultiFDSendParams *p, size_t niov,
                               Error **errp)
{
    if (!p->st->zero_copy || niov == 1) {
        return qio_channel_writev_all(p->ioc, p->iov, niov, errp) == 0;
    }
    if (qio_channel_writev_all(p->ioc, p->iov, 1, errp) < 0) {
        return false;
    }
    return qio_channel_writev_full_all(p->ioc, p->iov + 1, niov - 1, NULL, 0,
                                       QIO_CHANNEL_WRITE_FLAG_ZERO_COPY,
                                       errp) == 0;
}

/*
 * Send thread, after writing a SYNC with zero-copy-send: wait until the
 * kernel is done with every page sent so far (QEMU flushes at each sync
 * too).  A page sent by MSG_ZEROCOPY is read by the kernel when it
 * transmits, not when sendmsg returns, so what goes on the wire may be a
 * later version written by a vCPU: harmless, because that write is in
 * the dirty log and the page is sent again after the next sync.  What
 * the flush gives is a bound: every page of a round is out of the
 * kernel's hands (unpinned, its completion read off the error queue,
 * which would otherwise fill up and fail sends) before the round's sync
 * point; the last sync of the migration is before the device state.
 * When the kernel copied everything (always on loopback), count a miss
 * (query-migrate ram/dirty-sync-missed-zero-copy), as QEMU does.
 */
static bool multifd_send_zero_copy_flush(MultiFDSendParams *p, Error **errp)
{
    int r = qio_channel_flush(p->ioc, errp);

    if (r < 0) {
        error_prepend(errp, "zero-copy-send: ");
        return false;
    }
    if (r == 1) {
        stat64_add(&p->st->s->stats.dirty_sync_missed_zero_copy, 1);
    }
    return true;
}

static void *multifd_send_thread(void *opaque)
{
    MultiFDSendParams *p = opaque;
    MultiFDSendState *st = p->st;
    uint8_t init[MULTIFD_INIT_SIZE];
    uint64_t packets = 0, pages_sent = 0;
    Error *err = NULL;

    if (!st->ops->send_setup(&p->comp, &err)) {
        goto out;
    }
    if (st->zero_copy && p->ioc->klass != &qio_channel_socket_class) {
        error_setg(&err, "zero-copy-send needs a plain socket channel, not "
                   "%s", qio_channel_type_name(p->ioc));
        goto out;
    }
    if (st->zero_copy &&
        !qio_channel_socket_set_zero_copy((QIOChannelSocket *)p->ioc, &err)) {
        error_prepend(&err, "zero-copy-send: ");
        goto out;
    }
    multifd_send_fill_init(p, init);
    if (qio_channel_write_all(p->ioc, (char *)init, sizeof(init), &err) < 0) {
        goto out;
    }
    stat64_add(&st->s->stats.multifd_bytes, sizeof(init));
    qemu_sem_post(&st->channels_ready);

    for (;;) {
        bool has_pages, sync;
        uint32_t flags, npages;
        uint64_t num;
        size_t niov, bytes;

        qemu_sem_wait(&p->sem);
        if (qatomic_read(&st->exiting)) {
            break;
        }
        qemu_mutex_lock(&p->mutex);
        has_pages = p->pending_job;
        sync = p->pending_sync;
        p->pending_sync = false;
        qemu_mutex_unlock(&p->mutex);
        if (!has_pages && !sync) {
            continue;           /* a wake-up already served */
        }
        flags = sync ? MULTIFD_FLAG_SYNC : 0;
        num = qatomic_fetch_add(&st->packet_num, 1);
        npages = has_pages ? p->pages->num : 0;
        niov = multifd_send_build(p, has_pages, flags, num, &bytes, &err);
        if (!niov) {
            break;
        }
        trace_multifd_send(p->id, num, npages, bytes, flags);
        if (!multifd_send_write(p, niov, &err)) {
            break;
        }
        stat64_add(&st->s->stats.multifd_bytes, bytes);
        packets++;
        pages_sent += npages;
        if (has_pages) {
            qemu_mutex_lock(&p->mutex);
            p->pages->num = 0;
            p->pages->block = NULL;
            p->pending_job = false;
            qemu_mutex_unlock(&p->mutex);
            qemu_sem_post(&st->channels_ready);
        }
        if (sync && st->zero_copy && !multifd_send_zero_copy_flush(p, &err)) {
            break;
        }
        if (sync) {
            qemu_sem_post(&p->sem_sync);
        }
    }
out:
    st->ops->send_cleanup(p->comp);
    p->comp = NULL;
    if (err) {
        if (qatomic_read(&st->exiting)) {
            error_free(err);        /* shut down on purpose */
        } else {
            error_prepend(&err, "multifd channel %u: ", p->id);
            multifd_send_set_error(st, err);
        }
    }
    trace_multifd_send_thread_end(p->id, packets, pages_sent);
    return NULL;
}

/* Main thread: channel @p is connected (and TLS-wrapped if wanted). */
static void multifd_send_channel_start(MultiFDSendParams *p, QIOChannel *ioc)
{
    char name[32];

    qemu_mutex_lock(&p->mutex);
    p->ioc = qio_channel_ref(ioc);
    qemu_mutex_unlock(&p->mutex);
    /* the thread writes whole packets; TLS: the master too */
    (void)qio_channel_set_blocking(ioc, true, NULL);
    qio_channel_set_delay(ioc, false);
    snprintf(name, sizeof(name), "mig/src/send_%u", p->id);
    qemu_thread_create(&p->thread, name, multifd_send_thread, p,
                       QEMU_THREAD_JOINABLE);
    p->thread_created = true;
    trace_multifd_send_channel_started(p->id, qio_channel_type_name(ioc));
}

/* Main thread: the TLS handshake of a channel ended. */
static void multifd_send_tls_done(QIOTask *task, gpointer opaque)
{
    MultiFDSendParams *p = opaque;
    MultiFDSendState *st = p->st;
    QIOChannel *tioc = qio_task_get_source(task);
    Error *err = NULL;

    if (qio_task_propagate_error(task, &err)) {
        error_prepend(&err, "multifd channel %u: TLS: ", p->id);
        multifd_send_set_error(st, err);
    } else if (!qatomic_read(&st->exiting)) {
        multifd_send_channel_start(p, tioc);
    }
    multifd_send_state_unref(st);
}

/* Main thread: the socket of a channel connected, or failed to. */
static void multifd_send_connected(QIOTask *task, gpointer opaque)
{
    MultiFDSendParams *p = opaque;
    MultiFDSendState *st = p->st;
    QIOChannel *ioc = qio_task_get_source(task);
    Error *err = NULL;

    if (qio_task_propagate_error(task, &err)) {
        error_prepend(&err, "multifd channel %u: connect: ", p->id);
        multifd_send_set_error(st, err);
    } else if (qatomic_read(&st->exiting)) {
        /* cleaned up meanwhile: drop the connection */
    } else if (migrate_tls() && !migration_channel_is_tls(ioc)) {
        st->refs++;
        if (!migration_tls_client_start(ioc,
                                        migration_tls_hostname(st->hostname),
                                        multifd_send_tls_done, p, NULL, NULL,
                                        &err)) {
            st->refs--;
            error_prepend(&err, "multifd channel %u: TLS: ", p->id);
            multifd_send_set_error(st, err);
        }
    } else {
        multifd_send_channel_start(p, ioc);
    }
    multifd_send_state_unref(st);
}

bool multifd_send_setup(MigrationState *s, Error **errp)
{
    MultiFDSendState *st;
    int n = migrate_multifd_channels();
    const MultiFDMethods *ops =
        multifd_methods_get(migrate_multifd_compression(), errp);

    if (send_state) {
        multifd_send_cleanup();     /* a previous migration not cleaned */
    }
    if (n < 1 || n > 255) {
        error_setg(errp, "multifd-channels %d is out of range 1..255", n);
        return false;
    }
    if (!ops) {
        return false;
    }
    st = g_new0(MultiFDSendState, 1);
    st->s = s;
    st->n = n;
    st->ops = ops;
    st->zero_detect =
        migrate_zero_page_detection() == ZERO_PAGE_DETECTION_MULTIFD;
    st->zero_copy = migrate_cap(MIGRATION_CAPABILITY_ZERO_COPY_SEND);
    st->refs = 1;
    st->hostname = g_strdup(socket_send_channel_host());
    st->params = g_new0(MultiFDSendParams, n);
    st->pages = g_new0(MultiFDPages, 1);
    qemu_sem_init(&st->channels_ready, 0);
    qemu_mutex_init(&st->error_mutex);
    for (int i = 0; i < n; i++) {
        MultiFDSendParams *p = &st->params[i];

        p->st = st;
        p->id = i;
        qemu_sem_init(&p->sem, 0);
        qemu_sem_init(&p->sem_sync, 0);
        qemu_mutex_init(&p->mutex);
        p->pages = g_new0(MultiFDPages, 1);
        p->packet = g_malloc0(MULTIFD_PACKET_LEN);
        p->iov = g_new0(struct iovec, 1 + MULTIFD_PAGE_COUNT);
        p->page_ptrs = g_new0(uint8_t *, MULTIFD_PAGE_COUNT);
    }
    send_state = st;
    trace_multifd_send_setup(n, ops->name);
    for (int i = 0; i < n; i++) {
        st->refs++;
        if (!socket_send_channel_create(multifd_send_connected,
                                        &st->params[i], NULL, errp)) {
            st->refs--;
            multifd_send_stop(st);
            return false;
        }
    }
    return true;
}

bool multifd_send_active(void)
{
    return send_state != NULL;
}

/* Migration thread: hand st->pages to an idle channel. */
static bool multifd_send_pages(MultiFDSendState *st, QEMUFile *f)
{
    for (;;) {
        qemu_sem_wait(&st->channels_ready);
        if (qatomic_read(&st->exiting)) {
            return multifd_send_fail_file(st, f);
        }
        for (int k = 0; k < st->n; k++) {
            int i = (st->next_channel + k) % st->n;
            MultiFDSendParams *p = &st->params[i];
            MultiFDPages *tmp;
            uint64_t bytes;

            qemu_mutex_lock(&p->mutex);
            if (!p->ioc || p->pending_job) {
                qemu_mutex_unlock(&p->mutex);
                continue;
            }
            tmp = p->pages;
            p->pages = st->pages;
            st->pages = tmp;
            p->pending_job = true;
            bytes = MULTIFD_PACKET_LEN +
                    (uint64_t)p->pages->num * TARGET_PAGE_SIZE;
            qemu_mutex_unlock(&p->mutex);
            st->next_channel = (i + 1) % st->n;
            qemu_sem_post(&p->sem);
            qemu_file_acct_rate_limit(f, bytes);
            return true;
        }
        /* a ready post with no idle channel cannot happen; wait again */
    }
}

bool multifd_queue_page(QEMUFile *f, RAMBlock *rb, uint64_t offset)
{
    MultiFDSendState *st = send_state;
    MultiFDPages *pages;

    if (!st || qatomic_read(&st->exiting)) {
        return st ? multifd_send_fail_file(st, f) : false;
    }
    pages = st->pages;
    if (pages->num && pages->block != rb) {
        if (!multifd_send_pages(st, f)) {
            return false;
        }
        pages = st->pages;
    }
    pages->block = rb;
    pages->offset[pages->num++] = offset;
    if (pages->num == MULTIFD_PAGE_COUNT) {
        return multifd_send_pages(st, f);
    }
    return true;
}

bool multifd_send_sync_main(QEMUFile *f)
{
    MultiFDSendState *st = send_state;

    if (!st) {
        return true;
    }
    if (st->pages->num && !multifd_send_pages(st, f)) {
        return false;
    }
    for (int i = 0; i < st->n; i++) {
        MultiFDSendParams *p = &st->params[i];

        qemu_mutex_lock(&p->mutex);
        p->pending_sync = true;
        qemu_mutex_unlock(&p->mutex);
        qemu_sem_post(&p->sem);
    }
    for (int i = 0; i < st->n; i++) {
        qemu_sem_wait(&st->params[i].sem_sync);
        if (qatomic_read(&st->exiting)) {
            return multifd_send_fail_file(st, f);
        }
    }
    trace_multifd_send_sync_main(qatomic_read(&st->packet_num));
    return true;
}

void multifd_send_shutdown(void)
{
    if (send_state) {
        multifd_send_stop(send_state);
    }
}

void multifd_send_cleanup(void)
{
    MultiFDSendState *st = send_state;

    if (!st) {
        return;
    }
    send_state = NULL;
    multifd_send_stop(st);
    for (int i = 0; i < st->n; i++) {
        MultiFDSendParams *p = &st->params[i];

        if (p->thread_created) {
            qemu_thread_join(&p->thread);
            p->thread_created = false;
        }
        qemu_mutex_lock(&p->mutex);
        if (p->ioc) {
            qio_channel_close(p->ioc, NULL);
            qio_channel_unref(p->ioc);
            p->ioc = NULL;
        }
        qemu_mutex_unlock(&p->mutex);
    }
    trace_multifd_send_cleanup();
    multifd_send_state_unref(st);
}

/* =========================================================== destination */

typedef struct MultiFDRecvState MultiFDRecvState;

/*
 * One incoming connection (main thread creates it; its thread owns it).
 *
 * Set once before the thread starts: st, conn, ioc, peek.
 * Set by the thread under st->mutex: id (-1 until the initial packet).
 * Owned by the thread: packet, iov, packets, pages.
 */
typedef struct MultiFDRecvParams {
    MultiFDRecvState *st;
    unsigned conn;                /* arrival number, for messages */
    int id;
    QIOChannel *ioc;
    bool peek;                    /* classify by the first bytes */
    bool is_main;                 /* the peek found the main stream */
    QemuThread thread;
    QemuSemaphore sem_sync;       /* released by the main stream's EOS */
    uint8_t *packet;
    struct iovec *iov;
    uint64_t packets, pages;
    const MultiFDMethods *ops;    /* set by the thread before any packet */
    void *comp;                   /* the method's stream */
} MultiFDRecvParams;

/*
 * The channels of the incoming migration.
 *
 * Set once: n (multifd-channels at the first connection), compression.
 * Main thread: conns (appended; joined at cleanup), nconn.
 * Under mutex: by_id, main_seen, main_ioc, error.
 * Atomic: exiting.
 */
struct MultiFDRecvState {
    int n;
    int compression;              /* multifd-compression, set once */
    GPtrArray *conns;
    unsigned nconn;
    QemuSemaphore sem_sync;       /* one post per SYNC (or failure) */
    QemuMutex mutex;
    MultiFDRecvParams **by_id;
    bool main_seen;
    QIOChannel *main_ioc;
    Error *error;
    bool error_fatal;             /* not just a channel closed */
    bool exiting;
};

static MultiFDRecvState *recv_state;

static MultiFDRecvState *multifd_recv_state_get(void)
{
    MultiFDRecvState *st = recv_state;

    if (!st) {
        st = g_new0(MultiFDRecvState, 1);
        st->n = migrate_multifd_channels();
        st->compression = migrate_multifd_compression();
        st->conns = g_ptr_array_new();
        st->by_id = g_new0(MultiFDRecvParams *, st->n);
        qemu_sem_init(&st->sem_sync, 0);
        qemu_mutex_init(&st->mutex);
        recv_state = st;
        trace_multifd_recv_setup(st->n, st->compression ==
                                 MULTIFD_COMPRESSION_ZLIB ? "zlib" :
                                 st->compression == MULTIFD_COMPRESSION_ZSTD ?
                                 "zstd" : "none");
    }
    return st;
}

/*
 * Any receive thread: the first error wins; the main stream is shut down
 * so that the loader stops, and a waiting sync wakes.  With @fatal false
 * (a channel closed at a packet boundary) only the sync is woken: the main
 * stream ends by itself.
 */
static void multifd_recv_set_error(MultiFDRecvState *st, Error *err,
                                   bool fatal)
{
    trace_multifd_recv_error(error_get_pretty(err));
    qemu_mutex_lock(&st->mutex);
    if (!st->error) {
        st->error = err;
        st->error_fatal = fatal;
        err = NULL;
    }
    if (fatal && st->main_ioc) {
        qio_channel_shutdown(st->main_ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
    }
    qemu_mutex_unlock(&st->mutex);
    if (err && fatal) {
        error_report_err(err);
    } else {
        error_free(err);
    }
    qemu_sem_post(&st->sem_sync);
}

/* The first channel error; with @fatal_only, only one that stopped the load. */
static Error *multifd_recv_copy_error(bool fatal_only)
{
    MultiFDRecvState *st = recv_state;
    Error *err = NULL;

    if (st) {
        qemu_mutex_lock(&st->mutex);
        if (st->error && (st->error_fatal || !fatal_only)) {
            err = error_copy(st->error);
        }
        qemu_mutex_unlock(&st->mutex);
    }
    return err;
}

Error *multifd_recv_get_error(void)
{
    return multifd_recv_copy_error(true);
}

/* Main thread: the peek found the main channel. */
static void multifd_recv_main_bh(void *opaque)
{
    QIOChannel *ioc = opaque;

    if (recv_state && !qatomic_read(&recv_state->exiting)) {
        migration_incoming_process_channel(ioc);
    }
    qio_channel_unref(ioc);
}

/*
 * Look at the first 4 bytes without taking them.  Returns 1 for the main
 * stream (QEVM), 0 for anything else (a multifd channel, checked next),
 * -1 on error or end of file.
 */
static int multifd_recv_peek_main(MultiFDRecvParams *p, Error **errp)
{
    uint8_t magic[4];
    struct iovec iov = { magic, sizeof(magic) };

    for (;;) {
        ssize_t r = qio_channel_readv_full(p->ioc, &iov, 1, NULL, NULL,
                                           QIO_CHANNEL_READ_FLAG_MSG_PEEK,
                                           errp);

        if (r == QIO_CHANNEL_ERR_BLOCK) {
            qio_channel_wait(p->ioc, G_IO_IN);
            continue;
        }
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            error_setg(errp, "end of file before the first 4 bytes");
            return -1;
        }
        if (r == sizeof(magic)) {
            return get_be32(magic) == QEMU_VM_FILE_MAGIC;
        }
        if (qatomic_read(&p->st->exiting)) {
            error_setg(errp, "shut down");
            return -1;
        }
        g_usleep(1000);         /* fewer than 4 bytes arrived so far */
    }
}

/* Check the initial packet and claim its channel id. */
static bool multifd_recv_init(MultiFDRecvParams *p, Error **errp)
{
    MultiFDRecvState *st = p->st;
    uint8_t init[MULTIFD_INIT_SIZE];
    uint32_t magic, version;
    unsigned id;

    if (qio_channel_read_all(p->ioc, (char *)init, sizeof(init), errp) < 0) {
        error_prepend(errp, "reading the initial packet: ");
        return false;
    }
    magic = get_be32(init + INIT_OFF_MAGIC);
    version = get_be32(init + INIT_OFF_VERSION);
    if (magic != MULTIFD_MAGIC) {
        error_setg(errp, "initial packet: bad magic 0x%08" PRIx32
                   " (expected 0x%08x)", magic, MULTIFD_MAGIC);
        return false;
    }
    if (version != MULTIFD_VERSION) {
        error_setg(errp, "initial packet: version %" PRIu32 " is not "
                   "supported (expected %d)", version, MULTIFD_VERSION);
        return false;
    }
    if (memcmp(init + INIT_OFF_UUID, qemu_uuid, sizeof(qemu_uuid))) {
        error_setg(errp, "initial packet: the source's UUID differs from "
                   "this VM's (-uuid must be the same on both sides)");
        return false;
    }
    id = init[INIT_OFF_ID];
    if (id >= (unsigned)st->n) {
        error_setg(errp, "initial packet: channel id %u is out of range "
                   "(multifd-channels is %d here)", id, st->n);
        return false;
    }
    qemu_mutex_lock(&st->mutex);
    if (st->by_id[id]) {
        qemu_mutex_unlock(&st->mutex);
        error_setg(errp, "initial packet: channel id %u arrived twice", id);
        return false;
    }
    st->by_id[id] = p;
    p->id = id;
    qemu_mutex_unlock(&st->mutex);
    trace_multifd_recv_channel(p->conn, id);
    return true;
}

/*
 * Check one packet header (p->packet); on success *@rb is the block (NULL
 * with no pages) and p->iov holds the page destinations.
 */
static bool multifd_recv_check_packet(MultiFDRecvParams *p, RAMBlock **rbp,
                                      uint32_t *normalp, uint32_t *zerop,
                                      uint32_t *flagsp, uint32_t *sizep,
                                      Error **errp)
{
    const uint8_t *h = p->packet;
    uint32_t magic = get_be32(h + PKT_OFF_MAGIC);
    uint32_t version = get_be32(h + PKT_OFF_VERSION);
    uint32_t flags = get_be32(h + PKT_OFF_FLAGS);
    uint32_t alloc = get_be32(h + PKT_OFF_PAGES_ALLOC);
    uint32_t normal = get_be32(h + PKT_OFF_NORMAL);
    uint32_t size = get_be32(h + PKT_OFF_NEXT_SIZE);
    uint32_t zero = get_be32(h + PKT_OFF_ZERO_PAGES);
    char idstr[MULTIFD_IDSTR_SIZE];
    RAMBlock *rb;

    if (magic != MULTIFD_MAGIC) {
        error_setg(errp, "packet: bad magic 0x%08" PRIx32 " (expected "
                   "0x%08x)", magic, MULTIFD_MAGIC);
        return false;
    }
    if (version != MULTIFD_VERSION) {
        error_setg(errp, "packet: version %" PRIu32 " is not supported "
                   "(expected %d)", version, MULTIFD_VERSION);
        return false;
    }
    if (flags & ~(uint32_t)(MULTIFD_FLAG_SYNC | MULTIFD_FLAG_COMPRESSION_MASK)) {
        error_setg(errp, "packet: unknown flags 0x%" PRIx32, flags);
        return false;
    }
    if (normal && (flags & MULTIFD_FLAG_COMPRESSION_MASK) != p->ops->flag) {
        error_setg(errp, "packet: compression flag 0x%" PRIx32 " but "
                   "multifd-compression is %s here (flag 0x%" PRIx32 ")",
                   flags & MULTIFD_FLAG_COMPRESSION_MASK, p->ops->name,
                   p->ops->flag);
        return false;
    }
    if (alloc > MULTIFD_PAGE_COUNT) {
        error_setg(errp, "packet: pages_alloc %" PRIu32 " is more than "
                   "this side's %u pages per packet", alloc,
                   (unsigned)MULTIFD_PAGE_COUNT);
        return false;
    }
    if (normal > alloc) {
        error_setg(errp, "packet: normal_pages %" PRIu32 " is more than "
                   "pages_alloc %" PRIu32, normal, alloc);
        return false;
    }
    if (zero > alloc - normal) {
        error_setg(errp, "packet: zero_pages %" PRIu32 " is more than "
                   "pages_alloc %" PRIu32 " minus normal_pages %" PRIu32,
                   zero, alloc, normal);
        return false;
    }
    if (!p->ops->recv_check_size(normal, size, errp)) {
        error_prepend(errp, "packet (%s): ", p->ops->name);
        return false;
    }
    *rbp = NULL;
    *normalp = normal;
    *zerop = zero;
    *flagsp = flags;
    *sizep = size;
    if (!normal && !zero) {
        return true;
    }
    memcpy(idstr, h + PKT_OFF_IDSTR, sizeof(idstr));
    idstr[sizeof(idstr) - 1] = 0;
    rb = qemu_ram_block_by_name(idstr);
    if (!rb) {
        error_setg(errp, "packet: unknown ramblock \"%s\"", idstr);
        return false;
    }
    if (ramblock_is_ignored(rb) || !rb->host) {
        error_setg(errp, "packet: ramblock \"%s\" is not migrated", idstr);
        return false;
    }
    for (uint32_t i = 0; i < normal + zero; i++) {
        uint64_t off = get_be64(h + PKT_OFF_OFFSETS + 8 * i);

        if (off >= rb->used_length ||
            rb->used_length - off < TARGET_PAGE_SIZE ||
            (off & (TARGET_PAGE_SIZE - 1))) {
            error_setg(errp, "packet: offset[%" PRIu32 "] 0x%" PRIx64 " is "
                       "not a page inside ramblock \"%s\" (used length 0x%"
                       PRIx64 ")", i, off, idstr, (uint64_t)rb->used_length);
            return false;
        }
        if (i < normal) {
            p->iov[i].iov_base = rb->host + off;
            p->iov[i].iov_len = TARGET_PAGE_SIZE;
        }
    }
    *rbp = rb;
    return true;
}

/* The pages of a checked packet are in guest RAM: mark them. */
static void multifd_recv_mark(MultiFDRecvParams *p, RAMBlock *rb,
                              uint32_t normal)
{
    for (uint32_t i = 0; i < normal; i++) {
        unsigned long page = ((uint8_t *)p->iov[i].iov_base - rb->host) >>
                             TARGET_PAGE_BITS;

        if (rb->receivedmap) {
            set_bit_atomic(page, rb->receivedmap);
        }
        if (rb->known_zero) {
            clear_bit_atomic(page, rb->known_zero);
        }
    }
}

/*
 * The zero pages of a checked packet (zero-page-detection=multifd on the
 * source).  QEMU clears a page only when it was received before (or in
 * postcopy), trusting that the rest is still fresh zero memory.  Here a
 * page not received before is also read, and cleared if it is not zero:
 * the destination's loader may have written it (-kernel), so "never
 * received" does not mean "zero".  Reading a never-touched anonymous
 * page maps the shared zero page and allocates nothing.
 */
static void multifd_recv_zero_pages(MultiFDRecvParams *p, RAMBlock *rb,
                                    uint32_t normal, uint32_t zero)
{
    for (uint32_t i = normal; i < normal + zero; i++) {
        uint64_t off = get_be64(p->packet + PKT_OFF_OFFSETS + 8 * i);
        unsigned long page = off >> TARGET_PAGE_BITS;
        uint8_t *host = rb->host + off;

        if ((rb->receivedmap && test_bit(page, rb->receivedmap)) ||
            !buffer_is_zero(host, TARGET_PAGE_SIZE)) {
            memset(host, 0, TARGET_PAGE_SIZE);
        }
        if (rb->receivedmap) {
            set_bit_atomic(page, rb->receivedmap);
        }
    }
}

/* Read and apply packets until end of file; false with @errp on error. */
static bool multifd_recv_packets(MultiFDRecvParams *p, Error **errp)
{
    MultiFDRecvState *st = p->st;

    for (;;) {
        RAMBlock *rb;
        uint32_t normal, zero, flags, size;
        int r = qio_channel_read_all_eof(p->ioc, (char *)p->packet,
                                         MULTIFD_PACKET_LEN, errp);

        if (r < 0) {
            error_prepend(errp, "reading packet %" PRIu64 ": ", p->packets);
            return false;
        }
        if (r == 0) {
            error_setg(errp, "closed by the source after %" PRIu64
                       " packets", p->packets);
            return true;
        }
        if (!multifd_recv_check_packet(p, &rb, &normal, &zero, &flags,
                                       &size, errp)) {
            error_prepend(errp, "packet %" PRIu64 " (number %" PRIu64 "): ",
                          p->packets,
                          get_be64(p->packet + PKT_OFF_PACKET_NUM));
            return false;
        }
        if (normal && !p->ops->recv_pages(p->comp, p->ioc, size, p->iov,
                                          normal, errp)) {
            error_prepend(errp, "the %" PRIu32 " pages of packet %" PRIu64
                          " (number %" PRIu64 "): ", normal, p->packets,
                          get_be64(p->packet + PKT_OFF_PACKET_NUM));
            return false;
        }
        if (normal) {
            multifd_recv_mark(p, rb, normal);
        }
        if (zero) {
            multifd_recv_zero_pages(p, rb, normal, zero);
        }
        trace_multifd_recv(p->id, get_be64(p->packet + PKT_OFF_PACKET_NUM),
                           normal, flags);
        p->packets++;
        p->pages += normal + zero;
        if (flags & MULTIFD_FLAG_SYNC) {
            qemu_sem_post(&st->sem_sync);
            qemu_sem_wait(&p->sem_sync);
            if (qatomic_read(&st->exiting)) {
                return true;
            }
        }
    }
}

static void *multifd_recv_thread(void *opaque)
{
    MultiFDRecvParams *p = opaque;
    MultiFDRecvState *st = p->st;
    Error *err = NULL;
    bool ok = true, fatal = true;

    if (p->peek) {
        int r = multifd_recv_peek_main(p, &err);

        if (r < 0) {
            ok = false;
            goto out;
        }
        if (r == 1) {
            qemu_mutex_lock(&st->mutex);
            if (st->main_seen) {
                qemu_mutex_unlock(&st->mutex);
                error_setg(&err, "a second main stream (QEVM) connection");
                ok = false;
                goto out;
            }
            st->main_seen = true;
            st->main_ioc = qio_channel_ref(p->ioc);
            p->is_main = true;
            qemu_mutex_unlock(&st->mutex);
            trace_multifd_recv_main(p->conn);
            qemu_bh_schedule_oneshot(multifd_recv_main_bh,
                                     qio_channel_ref(p->ioc));
            return NULL;
        }
    }
    ok = multifd_recv_init(p, &err);
    if (ok) {
        p->ops = multifd_methods_get(st->compression, &err);
        ok = p->ops && p->ops->recv_setup(&p->comp, &err);
    }
    if (ok) {
        ok = multifd_recv_packets(p, &err);
        fatal = !ok;
    }
    if (p->ops) {
        p->ops->recv_cleanup(p->comp);
        p->comp = NULL;
    }
out:
    if (err && qatomic_read(&st->exiting)) {
        error_free(err);            /* shut down on purpose */
    } else if (err) {
        if (p->id >= 0) {
            error_prepend(&err, "multifd channel %d (connection %u): ", p->id,
                          p->conn);
        } else {
            error_prepend(&err, "multifd connection %u: ", p->conn);
        }
        multifd_recv_set_error(st, err, fatal || !ok);
    }
    trace_multifd_recv_thread_end(p->conn, p->id, p->packets, p->pages);
    return NULL;
}

void multifd_recv_new_channel(QIOChannel *ioc)
{
    MultiFDRecvState *st = multifd_recv_state_get();
    MultiFDRecvParams *p;
    bool tls = migration_channel_is_tls(ioc);
    char name[32];

    trace_multifd_recv_new_channel(st->nconn, tls);
    if (qatomic_read(&st->exiting)) {
        qio_channel_close(ioc, NULL);
        return;
    }
    if (st->nconn >= (unsigned)st->n + 1) {
        error_report("multifd: connection %u is one more than the main "
                     "channel and multifd-channels (%d): closed", st->nconn,
                     st->n);
        st->nconn++;
        qio_channel_close(ioc, NULL);
        return;
    }
    p = g_new0(MultiFDRecvParams, 1);
    p->st = st;
    p->conn = st->nconn++;
    p->id = -1;
    p->ioc = qio_channel_ref(ioc);
    p->peek = true;             /* TLS channels too: they keep peeked bytes */
    qemu_sem_init(&p->sem_sync, 0);
    p->packet = g_malloc0(MULTIFD_PACKET_LEN);
    p->iov = g_new0(struct iovec, MULTIFD_PAGE_COUNT);
    (void)qio_channel_set_blocking(ioc, true, NULL);
    g_ptr_array_add(st->conns, p);
    snprintf(name, sizeof(name), "mig/dst/recv_%u", p->conn);
    qemu_thread_create(&p->thread, name, multifd_recv_thread, p,
                       QEMU_THREAD_JOINABLE);
}

bool multifd_recv_sync_main(Error **errp)
{
    MultiFDRecvState *st = recv_state;
    Error *err;

    if (!st) {
        error_setg(errp, "multifd: a sync point in the main stream but no "
                   "multifd channel connected");
        return false;
    }
    for (int i = 0; i < st->n; i++) {
        qemu_sem_wait(&st->sem_sync);
        err = multifd_recv_copy_error(false);
        if (err || qatomic_read(&st->exiting)) {
            if (!err) {
                error_setg(&err, "multifd: the channels were shut down");
            }
            error_propagate(errp, err);
            return false;
        }
    }
    qemu_mutex_lock(&st->mutex);
    for (int i = 0; i < st->n; i++) {
        qemu_sem_post(&st->by_id[i]->sem_sync);
    }
    qemu_mutex_unlock(&st->mutex);
    trace_multifd_recv_sync_main();
    return true;
}

void multifd_recv_cleanup(void)
{
    MultiFDRecvState *st = recv_state;

    if (!st) {
        return;
    }
    qatomic_set(&st->exiting, true);
    for (guint i = 0; i < st->conns->len; i++) {
        MultiFDRecvParams *p = g_ptr_array_index(st->conns, i);

        /* the main stream's file is closed by its owner */
        qemu_mutex_lock(&st->mutex);
        if (!p->is_main) {
            qio_channel_shutdown(p->ioc, QIO_CHANNEL_SHUTDOWN_BOTH, NULL);
        }
        qemu_mutex_unlock(&st->mutex);
        qemu_sem_post(&p->sem_sync);
    }
    for (guint i = 0; i < st->conns->len; i++) {
        MultiFDRecvParams *p = g_ptr_array_index(st->conns, i);

        qemu_thread_join(&p->thread);
        if (!p->is_main) {
            qio_channel_close(p->ioc, NULL);
        }
        qio_channel_unref(p->ioc);
        qemu_sem_destroy(&p->sem_sync);
        g_free(p->packet);
        g_free(p->iov);
        g_free(p);
    }
    recv_state = NULL;
    trace_multifd_recv_cleanup();
    g_ptr_array_free(st->conns, true);
    if (st->main_ioc) {
        qio_channel_unref(st->main_ioc);
    }
    qemu_sem_destroy(&st->sem_sync);
    qemu_mutex_destroy(&st->mutex);
    error_free(st->error);
    g_free(st->by_id);
    g_free(st);
}
