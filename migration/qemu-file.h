/*
 * QEMUFile: a buffered, big-endian byte stream over a QIOChannel.
 *
 * A QEMUFile is either for writing (output) or for reading (input); the
 * reverse direction of the same channel (the return path) is a second
 * QEMUFile from qemu_file_get_return_path().
 *
 * Errors are sticky: the first failure (I/O error, end of stream in the
 * middle of a value, shutdown, or one set by a caller) is recorded with
 * an Error and every later operation is a no-op.  put/get functions are
 * therefore void and cheap; check qemu_file_get_error() at batch
 * boundaries and always before trusting data that was read.  After an
 * error, reads return no data (get_buffer returns 0 bytes, integer getters
 * return 0) and never serve bytes still in the buffer.
 *
 * Threads: one thread reads or writes a given QEMUFile.  The exceptions
 * are qemu_file_shutdown(), qemu_file_set_error_obj(),
 * qemu_file_get_error*(), qemu_file_set_rate_limit(),
 * qemu_file_get_rate_limit() and qemu_file_acct_rate_limit(), which any
 * thread may call (the error is under an internal mutex, those counters
 * are atomic).
 */
#ifndef MIGRATION_QEMU_FILE_H
#define MIGRATION_QEMU_FILE_H

#include "io/channel.h"

typedef struct QEMUFile QEMUFile;

/*
 * Size of the internal buffer; a peek or in-place get is at most this.
 * Input reads up to this much per read syscall.
 */
#define QEMU_FILE_BUF_SIZE  (256 * KiB)
/*
 * Most iovec entries queued before a flush (the writev batch): a page
 * record is two entries (header in buf, page in guest RAM), so 128 pages
 * (512 KiB) per writev.  At most IOV_MAX (1024).
 */
#define QEMU_FILE_MAX_IOV   256

/*
 * Length of the rate-limit period in milliseconds.  The budget given to
 * qemu_file_set_rate_limit() is in bytes per period, so a bandwidth of
 * B bytes/s is a budget of B / (1000 / QEMU_FILE_RATE_LIMIT_PERIOD_MS).
 * (QEMU's BUFFER_DELAY and XFER_LIMIT_RATIO.)
 */
#define QEMU_FILE_RATE_LIMIT_PERIOD_MS 100

/*
 * Create a file over @ioc, taking a reference on it.  The channel is
 * closed when the last QEMUFile over it (the file and its return path) is
 * closed with qemu_fclose().
 */
QEMUFile *qemu_file_new_input(QIOChannel *ioc);
QEMUFile *qemu_file_new_output(QIOChannel *ioc);

/*
 * The reverse direction over the same channel: an input file for an
 * output file and vice versa.  Each call returns a new QEMUFile that the
 * caller closes with qemu_fclose().  The two files share nothing but the
 * channel, so they may be used from two threads.
 */
QEMUFile *qemu_file_get_return_path(QEMUFile *f);

/*
 * Flush (output), close the channel if this is its last file, and free
 * @f.  Returns 0 or the first error of the file (-errno).  NULL is ok.
 */
int qemu_fclose(QEMUFile *f);

bool qemu_file_is_writable(QEMUFile *f);
QIOChannel *qemu_file_get_ioc(QEMUFile *f);

/* ---- writing ---- */

void qemu_put_byte(QEMUFile *f, int v);
void qemu_put_be16(QEMUFile *f, unsigned int v);
void qemu_put_be32(QEMUFile *f, unsigned int v);
void qemu_put_be64(QEMUFile *f, uint64_t v);
/* Copies @buf into the stream. */
void qemu_put_buffer(QEMUFile *f, const uint8_t *buf, size_t size);
/*
 * Queues a pointer to @buf without copying (e.g. a guest page): the
 * caller keeps @buf valid and unchanged until the next qemu_fflush() (or
 * a flush caused by a later put).  With @may_free the whole host pages
 * inside @buf are given back to the kernel (MADV_DONTNEED) after they
 * were written (release-ram).
 */
void qemu_put_buffer_async(QEMUFile *f, const uint8_t *buf, size_t size,
                           bool may_free);
/* u8 length then the bytes, no NUL; @str must be at most 255 bytes. */
void qemu_put_counted_string(QEMUFile *f, const char *str);
/* Write everything queued to the channel. */
void qemu_fflush(QEMUFile *f);

/* ---- reading ---- */

int qemu_get_byte(QEMUFile *f);
unsigned int qemu_get_be16(QEMUFile *f);
unsigned int qemu_get_be32(QEMUFile *f);
uint64_t qemu_get_be64(QEMUFile *f);
/*
 * Read exactly @size bytes into @buf.  Returns @size, or fewer (0 after
 * an error) with the error set when the stream ended or failed.
 */
size_t qemu_get_buffer(QEMUFile *f, uint8_t *buf, size_t size);
/*
 * Read @size bytes and set *@buf to them.  When @size fits the internal
 * buffer *@buf is changed to point into it (valid until the next read
 * call); otherwise the bytes are copied to the caller's *@buf, which must
 * hold @size bytes.  Returns as qemu_get_buffer().
 */
size_t qemu_get_buffer_in_place(QEMUFile *f, uint8_t **buf, size_t size);
/*
 * Read a counted string into @buf (NUL terminated).  Returns its length,
 * or 0 on error (with the error set) and for the empty string.
 */
size_t qemu_get_counted_string(QEMUFile *f, char buf[256]);
/*
 * Look at up to @size bytes starting @offset bytes ahead without
 * consuming them; *@buf points into the internal buffer.  Returns how many
 * bytes are available (fewer at the end of the stream, 0 after an error).
 * @offset + @size must be at most QEMU_FILE_BUF_SIZE.  Reaching the end of
 * the stream while peeking is not an error by itself.
 */
size_t qemu_peek_buffer(QEMUFile *f, uint8_t **buf, size_t size,
                        size_t offset);
/*
 * The bytes already buffered and not consumed, without reading the
 * channel (never blocks): *@buf points at them.  0 after an error.
 */
size_t qemu_peek_buffered(QEMUFile *f, uint8_t **buf);
/* The byte @offset ahead, or -1 at the end of the stream or after an error. */
int qemu_peek_byte(QEMUFile *f, int offset);
/* Consume @size bytes already peeked (at most what is buffered). */
void qemu_file_skip(QEMUFile *f, int size);

/* ---- errors ---- */

/* 0 or the first error (-errno). */
int qemu_file_get_error(QEMUFile *f);
/* As above; also gives a copy of the first Error in *@errp if set. */
int qemu_file_get_error_obj(QEMUFile *f, Error **errp);
/*
 * Record @ret (< 0) with @err as the file's error unless one is already
 * set; takes ownership of @err (freed if not kept).  @err may be NULL:
 * a generic message naming @ret is made.
 */
void qemu_file_set_error_obj(QEMUFile *f, int ret, Error *err);
void qemu_file_set_error(QEMUFile *f, int ret);
/*
 * Fail the file with -EIO ("shut down") and then shut the channel down
 * both ways, which wakes a thread blocked in a read or write on either
 * the file or its return path.  The error is set first, so the woken
 * thread sees it and never mistakes the end of the stream for data.
 * Returns 0, or -ENOTSUP when the channel cannot shut down (the file is
 * failed anyway), or -EIO if the channel shutdown failed.
 */
int qemu_file_shutdown(QEMUFile *f);

/* ---- accounting and rate limiting ---- */

/*
 * Output: bytes put so far, including those still buffered.
 * Input: bytes consumed so far, i.e. the stream offset of the next read.
 */
uint64_t qemu_file_transferred(QEMUFile *f);
/*
 * Budget in bytes per QEMU_FILE_RATE_LIMIT_PERIOD_MS period; 0 means no
 * limit.
 */
void qemu_file_set_rate_limit(QEMUFile *f, uint64_t budget);
uint64_t qemu_file_get_rate_limit(QEMUFile *f);
/*
 * True when the caller should stop sending for this period: the bytes put
 * since the last reset reached the budget, or the file has an error.
 * The thread that writes @f only (puts are counted without atomics).
 */
bool qemu_file_rate_limit(QEMUFile *f);
/*
 * Start a new period: forget the bytes counted so far.  The thread that
 * writes @f only.
 */
void qemu_file_reset_rate_limit(QEMUFile *f);
/* Count @len bytes sent outside this file (e.g. multifd) in the budget. */
void qemu_file_acct_rate_limit(QEMUFile *f, uint64_t len);

#endif
