/*
 * Registering state with the migration stream.
 *
 * Two kinds of handler feed the stream (docs/devel/migration/framing.rst):
 *
 *  - device state described by a VMStateDescription: vmstate_register().
 *    It becomes one FULL section, written once with the VM stopped.
 *  - live ("iterative") state with its own SaveVMHandlers, such as RAM:
 *    register_savevm_live().  It becomes a START section at setup, PART
 *    sections while the VM runs, and an END section with the VM stopped.
 *
 * The registry is process-wide and private to migration/savevm.c.  It is
 * changed only by the main thread with the BQL held, and never while a
 * migration (outgoing or incoming) is running: devices register when the
 * machine is built.  Every registration takes the next section id from a
 * global counter (starting at 0); the wire only needs START and PART/END
 * of one section to agree.
 *
 * Handlers are written to the stream sorted by MigrationPriority, highest
 * first, then in registration order.
 */
#ifndef MIGRATION_REGISTER_H
#define MIGRATION_REGISTER_H

#include "qemu/osdep.h"
#include "migration/vmstate.h"

typedef struct QEMUFile QEMUFile;

/*
 * Ordering of sections on the wire, QEMU 7.2's enum (10.2 added LOW and
 * APIC, which never reach the wire either).  Nothing in Godwit needs more
 * than DEFAULT yet.
 */
typedef enum MigrationPriority {
    MIG_PRI_DEFAULT = 0,
    MIG_PRI_IOMMU,
    MIG_PRI_PCI_BUS,
    MIG_PRI_VIRTIO_MEM,
    MIG_PRI_GICV3_ITS,
    MIG_PRI_GICV3,
    MIG_PRI_MAX,
} MigrationPriority;

/*
 * Callbacks of a live handler.  Any of them may be NULL.  Unless said
 * otherwise, "migration thread" means the outgoing migration thread
 * without the BQL, and "incoming thread" the thread that runs
 * qemu_loadvm_state(), which holds the BQL while it loads.
 *
 * Errors while saving are also recorded as the QEMUFile's sticky error
 * (qemu_file_set_error_obj()), so the caller can report the first one.
 */
typedef struct SaveVMHandlers {
    /* ---- source ---- */

    /*
     * Whether this handler takes part in the migration at all; NULL means
     * always.  Migration thread.
     */
    bool (*is_active)(void *opaque);
    /*
     * Write the START payload (after the section header; savevm writes the
     * footer).  Allocates what the iterations need.  Migration thread.
     * Returns 0 or -errno with @errp set.
     */
    int (*save_setup)(QEMUFile *f, void *opaque, Error **errp);
    /*
     * Write one PART payload, within the file's rate limit.  Returns 1 when
     * nothing is left to send for now, 0 when more remains, -errno on error
     * (file error set).  Migration thread.
     */
    int (*save_live_iterate)(QEMUFile *f, void *opaque);
    /*
     * Write the END payload: everything that is left.  VM stopped, BQL
     * held, migration thread.  Returns 0 or -errno (file error set).
     */
    int (*save_live_complete_precopy)(QEMUFile *f, void *opaque);
    /*
     * Whether this handler goes on sending after the postcopy switch
     * (RAM with postcopy-ram); NULL means no.  Migration thread.
     */
    bool (*has_postcopy)(void *opaque);
    /*
     * Write the END payload at the end of postcopy: everything that is
     * left.  VM stopped, no BQL, migration thread.  Returns 0 or -errno.
     */
    int (*save_live_complete_postcopy)(QEMUFile *f, void *opaque);
    /*
     * Bytes still to send, added to *@must_precopy (and *@can_postcopy
     * for what postcopy could move later).  The estimate must be cheap;
     * the exact one may synchronise the dirty log.  Migration thread.
     */
    void (*state_pending_estimate)(void *opaque, uint64_t *must_precopy,
                                   uint64_t *can_postcopy);
    void (*state_pending_exact)(void *opaque, uint64_t *must_precopy,
                                uint64_t *can_postcopy);
    /*
     * Free what save_setup allocated; called after success, failure or
     * cancel, also when save_setup was never called or failed.  Migration
     * thread or main thread (BQL held), never both.
     */
    void (*save_cleanup)(void *opaque);

    /* ---- destination ---- */

    /*
     * Before the first section is read.  Incoming thread.  Returns 0 or
     * -errno with @errp set.
     */
    int (*load_setup)(QEMUFile *f, void *opaque, Error **errp);
    /*
     * Read one START, PART, END (or FULL) payload written at @version_id
     * (already checked to be at most the registered version).  Must check
     * every length, offset and name it reads.  Incoming thread.  Returns 0
     * or -errno with @errp set.
     */
    int (*load_state)(QEMUFile *f, void *opaque, int version_id,
                      Error **errp);
    /*
     * After the load ended, successfully or not; also when load_setup was
     * never called or failed.  Incoming thread.  Returns 0 or -errno.
     */
    int (*load_cleanup)(void *opaque);
} SaveVMHandlers;

/*
 * Register a live handler @idstr (at most 255 bytes) with @instance_id
 * (or VMSTATE_INSTANCE_ID_ANY) at @version_id.  @ops must outlive the
 * registration.  Returns 0, or -1 when the idstr is too long or
 * (idstr, instance) is already registered.  Main thread, BQL.
 */
int register_savevm_live(const char *idstr, uint32_t instance_id,
                         int version_id, const SaveVMHandlers *ops,
                         void *opaque);
/* Remove every handler registered with this @idstr and @opaque. */
void unregister_savevm(const char *idstr, void *opaque);

/* "Pick an instance id for me": 1 + the largest of the same idstr, or 0. */
#define VMSTATE_INSTANCE_ID_ANY (-1)

/*
 * Register device state: a FULL section whose idstr is @vmsd->name (Godwit
 * devices have no qdev path), with @instance_id (>= 0, or
 * VMSTATE_INSTANCE_ID_ANY) and version @vmsd->version_id.  @dev_or_null is
 * accepted for QEMU's signature and ignored.  Returns 0 or -1 (see
 * register_savevm_live).  Main thread, BQL, while no migration runs.
 */
int vmstate_register(void *dev_or_null, int instance_id,
                     const VMStateDescription *vmsd, void *opaque);
/* As vmstate_register, at an explicit priority. */
int vmstate_register_with_priority(void *dev_or_null, int instance_id,
                                   const VMStateDescription *vmsd,
                                   void *opaque, MigrationPriority priority);
/* Remove the registration of @vmsd with @opaque (no-op if absent). */
void vmstate_unregister(void *dev_or_null, const VMStateDescription *vmsd,
                        void *opaque);

#endif
