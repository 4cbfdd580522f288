/*
 * RDMA migration in a build without libibverbs/librdmacm (no CONFIG_RDMA):
 * every entry point refuses with an error that says so, and the ram
 * section hooks do nothing (no file is ever over RDMA).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/rdma.h"

static void rdma_not_built(Error **errp)
{
    error_setg(errp, "RDMA migration is not available: this build of Godwit "
               "has no RDMA (configure found no libibverbs and librdmacm; "
               "install libibverbs-dev and librdmacm-dev and reconfigure)");
}

bool migration_rdma_check(const char *uri, bool source, Error **errp)
{
    if (g_str_has_prefix(uri, "rdma:")) {
        rdma_not_built(errp);
        return false;
    }
    return true;
}

void rdma_start_outgoing_migration(MigrationState *s, const char *hostport,
                                   Error **errp)
{
    rdma_not_built(errp);
}

bool rdma_start_incoming_migration(const char *hostport, Error **errp)
{
    rdma_not_built(errp);
    return false;
}

bool rdma_file_active(QEMUFile *f)
{
    return false;
}

void rdma_registration_start(QEMUFile *f, RDMARound round)
{
}

void rdma_registration_stop(QEMUFile *f, RDMARound round)
{
}

void rdma_save_page(QEMUFile *f, RAMBlock *rb, uint64_t offset)
{
}

uint64_t rdma_bytes_written(QEMUFile *f)
{
    return 0;
}

bool rdma_block_notify(QEMUFile *f, const char *name, Error **errp)
{
    return true;
}

bool rdma_load_hook(QEMUFile *f, Error **errp)
{
    error_setg(errp, "ram: RAM_SAVE_FLAG_HOOK (RDMA registration) in a "
               "stream that is not over RDMA (this build has no RDMA)");
    return false;
}
