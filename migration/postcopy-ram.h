/*
 * Postcopy live migration over userfaultfd (docs/devel/migration/postcopy.rst).
 *
 * Source side: the page request queue (the return-path thread adds the
 * destination's REQ_PAGES, the migration thread serves them before the
 * background scan; a preempt channel can later serve the same queue from
 * another thread).
 *
 * Destination side: the incoming postcopy state machine
 * NONE -> ADVISE -> [DISCARD] -> LISTENING -> RUNNING -> END, the host
 * support checks, userfaultfd registration, the fault thread that turns
 * faults into page requests, and atomic page placement.
 *
 * Threads on the destination:
 *   "mig/dst/main"    loads the precopy part and the PACKAGED device state;
 *                     ADVISE, DISCARD, LISTEN and RUN run here;
 *   "mig/dst/listen"  loads the main stream while the guest runs and places
 *                     pages (postcopy_place_page*);
 *   "mig/dst/fault"   reads the userfaultfd and sends page requests.
 */
#ifndef MIGRATION_POSTCOPY_RAM_H
#define MIGRATION_POSTCOPY_RAM_H

#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "exec/memory.h"

typedef struct MigrationIncomingState MigrationIncomingState;

/* ------------------------------------------------------------ source */

/* One REQ_PAGES(_ID) the migration thread has not served yet. */
typedef struct PostcopyPageRequest {
    RAMBlock *rb;
    uint64_t offset;           /* bytes, aligned to rb->page_size */
    uint64_t len;              /* bytes, a multiple of rb->page_size */
    QSIMPLEQ_ENTRY(PostcopyPageRequest) next;
} PostcopyPageRequest;

/*
 * Requested pages, oldest first.  Producers: the return-path thread.
 * Consumer: the migration thread (later also a preempt sender).  All
 * fields under @lock; @pending is also read without it as a hint.
 */
typedef struct PostcopyReqQueue {
    QemuMutex lock;
    QSIMPLEQ_HEAD(, PostcopyPageRequest) head;
    unsigned pending;
    /* the block named by the last REQ_PAGES_ID (return-path thread only) */
    RAMBlock *last_rb;
} PostcopyReqQueue;

void postcopy_req_queue_init(PostcopyReqQueue *q);
/* Drop every queued request and forget the last block. */
void postcopy_req_queue_reset(PostcopyReqQueue *q);
/*
 * Check and queue a request: @name is the block of REQ_PAGES_ID, or NULL
 * for REQ_PAGES (the last named block).  The range must be aligned to the
 * block's page size and inside it.  Errors name the block and the range.
 */
bool postcopy_req_queue_add(PostcopyReqQueue *q, const char *name,
                            uint64_t start, uint64_t len, Error **errp);
/*
 * The checks of postcopy_req_queue_add without queueing (the block of
 * REQ_PAGES is remembered the same way): *@out is the block.
 */
bool postcopy_req_resolve(PostcopyReqQueue *q, const char *name,
                          uint64_t start, uint64_t len, RAMBlock **out,
                          Error **errp);
/* Take the oldest request (g_free it), or NULL. */
PostcopyPageRequest *postcopy_req_queue_take(PostcopyReqQueue *q);
static inline bool postcopy_req_queue_has(PostcopyReqQueue *q)
{
    return qatomic_read(&q->pending) != 0;
}

/*
 * Source checks when a migration with postcopy-ram starts: every block a
 * whole number of its host pages.
 */
bool postcopy_ram_source_check(Error **errp);

/* ------------------------------------------------------------ destination */

/* QEMU's PostcopyState (values are QEMU's; they never reach the wire). */
typedef enum PostcopyState {
    POSTCOPY_INCOMING_NONE = 0,
    POSTCOPY_INCOMING_ADVISE,
    POSTCOPY_INCOMING_DISCARD,
    POSTCOPY_INCOMING_LISTENING,
    POSTCOPY_INCOMING_RUNNING,
    POSTCOPY_INCOMING_END,
} PostcopyState;

const char *postcopy_state_name(PostcopyState s);
PostcopyState postcopy_state_get(void);
/* Move to @new; returns the previous state.  Any thread. */
PostcopyState postcopy_state_set(PostcopyState new);
/* LISTENING or RUNNING: RAM records go through the postcopy loader. */
bool postcopy_is_running(void);

/*
 * Whether this host can receive a postcopy migration into the RAMBlocks
 * of this machine: userfaultfd available, missing mode on every block's
 * memory kind (anonymous, shmem, hugetlbfs), UFFDIO_COPY on every block,
 * every block a whole number of host pages, target page <= host page.
 * The error says which check failed and for which block.
 */
bool postcopy_ram_supported_by_host(Error **errp);
/* UFFD_FEATURE_THREAD_ID is available (postcopy-blocktime needs it). */
bool postcopy_ram_thread_id_supported(void);

/*
 * ADVISE: the checks above, then prepare RAM: no transparent huge pages
 * on private anonymous blocks (a THP would make pages present that must
 * still fault), and every block discarded.  Incoming thread.
 */
bool postcopy_ram_incoming_init(MigrationIncomingState *mis, Error **errp);
/*
 * DISCARD of [start, start+len) of @rb: checked to be aligned to the
 * block's page size and inside it; receivedmap bits cleared, memory
 * dropped so that the next access faults.  Incoming thread.
 */
bool postcopy_ram_discard_range(RAMBlock *rb, uint64_t start, uint64_t len,
                                Error **errp);
/*
 * LISTEN: open the userfaultfd, register every block (missing mode), start
 * the fault thread.  Incoming thread.
 */
bool postcopy_ram_incoming_setup(MigrationIncomingState *mis, Error **errp);
/*
 * End of postcopy (or the end of a load that advised): stop the fault
 * thread, unregister, transparent huge pages back.  Safe to call twice.
 */
void postcopy_ram_incoming_cleanup(MigrationIncomingState *mis);
/*
 * Fault-thread counters so far: userfaultfd messages read, and pages
 * mapped ahead of local faults (see pc_zero_ahead).  0 without postcopy.
 */
void postcopy_ram_incoming_fault_counts(MigrationIncomingState *mis,
                                        uint64_t *faults,
                                        uint64_t *zero_ahead);

/*
 * Place one host page of @rb at @offset atomically, waking every thread
 * that waits on it: @from holds rb->page_size bytes.  Listen thread.
 */
bool postcopy_place_page(MigrationIncomingState *mis, RAMBlock *rb,
                         uint64_t offset, void *from, Error **errp);
/* The same for a host page of zeroes. */
bool postcopy_place_zero_page(MigrationIncomingState *mis, RAMBlock *rb,
                              uint64_t offset, Error **errp);

/*
 * After POSTCOPY_RESUME: ask again for every page requested and not
 * placed (their requests may have been lost with the old channel).
 */
void postcopy_ram_resend_requests(MigrationIncomingState *mis);

/* Largest page size of any block: the size of a placement buffer. */
size_t postcopy_max_page_size(void);

#endif
