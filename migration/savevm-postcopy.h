/*
 * Private to savevm.c and savevm-postcopy.c: the state of one load loop
 * and the helpers both files use.
 */
#ifndef MIGRATION_SAVEVM_POSTCOPY_H
#define MIGRATION_SAVEVM_POSTCOPY_H

#include "migration/qemu-file.h"

typedef struct MigrationIncomingState MigrationIncomingState;

/*
 * What one load loop knows: qemu_loadvm_state() has one on its stack, a
 * PACKAGED command one for the package (@parent: the main stream's), and
 * the postcopy listen thread one of its own that shares the main stream's
 * sections (a reference on the table).
 */
typedef struct LoadVMState LoadVMState;
struct LoadVMState {
    QEMUFile *f;
    MigrationIncomingState *mis;
    /* section_id -> LoadSection, from the START/FULL headers */
    GHashTable *sections;
    /* the main stream's state while a package is loaded, else NULL */
    LoadVMState *parent;
    /* POSTCOPY_RUN was processed: the loop ends */
    bool quit;
};

/* ---- savevm.c */

/* One command: u8 QEMU_VM_COMMAND, be16 @cmd, be16 @len, @data; flushes. */
void qemu_savevm_command_send(QEMUFile *f, int cmd, uint16_t len,
                              const uint8_t *data);
void put_be64_p(uint8_t *p, uint64_t v);
uint64_t get_be64_p(const uint8_t *p);
/*
 * If the load's file failed, hand its error to @errp, naming @what and the
 * offset.  True when there was an error.
 */
bool lv_file_failed(LoadVMState *lv, const char *what, Error **errp);
/* Load sections and commands until EOF, a quitting command or an error. */
bool loadvm_main_loop(LoadVMState *lv, Error **errp);

/* ---- savevm-postcopy.c: command handlers (the loading thread) */

bool loadvm_postcopy_handle_advise(LoadVMState *lv, uint16_t len,
                                   Error **errp);
bool loadvm_postcopy_handle_discard(LoadVMState *lv, uint16_t len,
                                    Error **errp);
/* LISTEN (only inside a package): userfaultfd and the listen thread. */
bool loadvm_postcopy_handle_listen(LoadVMState *lv, Error **errp);
bool loadvm_postcopy_handle_run(LoadVMState *lv, Error **errp);
/* Recovery: RECV_BITMAP (answered on the return path) and RESUME. */
bool loadvm_handle_recv_bitmap(LoadVMState *lv, uint16_t len, Error **errp);
bool loadvm_handle_postcopy_resume(LoadVMState *lv, Error **errp);
/* Returns 1 to go on, 0 when the package ran POSTCOPY_RUN, -1 on error. */
int loadvm_handle_packaged(LoadVMState *lv, Error **errp);

#endif
