/*
 * Memory backends (-object memory-backend-ram|file|memfd,id=ID,...) and
 * the small registry of user-created objects, by id (system/hostmem.c).
 *
 * An object is parsed and registered by user_creatable_add_opts_str(); the
 * memory of every backend is allocated later, in one go, by
 * host_memory_backends_alloc(), once the whole command line is known.
 * The RAMBlock of a backend is named by its id alone (as QEMU 7.2 does).
 */
#ifndef SYSEMU_HOSTMEM_H
#define SYSEMU_HOSTMEM_H

#include "qemu/osdep.h"
#include "exec/memory.h"

typedef struct HostMemoryBackend HostMemoryBackend;

/*
 * Parse "TYPE,id=ID,prop=value,..." (the argument of -object) and register
 * the object.  Unknown types, unknown or malformed properties, a missing or
 * duplicate id are errors naming the object.
 */
bool user_creatable_add_opts_str(const char *optstr, Error **errp);
/* Type name ("memory-backend-ram", ...) of the object @id, or NULL. */
const char *user_creatable_type(const char *id);

HostMemoryBackend *host_memory_backend_find(const char *id);
/* Size in bytes from size=. */
uint64_t host_memory_backend_get_size(HostMemoryBackend *be);
/* Force prealloc=on (the machine's backend under -mem-prealloc). */
void host_memory_backend_set_prealloc(HostMemoryBackend *be);
/* Allocate every registered backend's RAMBlock (in creation order). */
bool host_memory_backends_alloc(Error **errp);
/* The block, once allocated; NULL before. */
RAMBlock *host_memory_backend_get_ramblock(HostMemoryBackend *be);

#endif
