/*
 * Memory backends and the registry of -object instances.
 *
 * Types and their properties (names and defaults as QEMU's):
 *   memory-backend-ram    size, share=off, prealloc=off, prealloc-threads
 *   memory-backend-file   the above + mem-path (required)
 *   memory-backend-memfd  the above with share=on, + hugetlb=off,
 *                         hugetlbsize, seal=on
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/option.h"
#include "sysemu/hostmem.h"

typedef enum BackendKind {
    BACKEND_RAM,
    BACKEND_FILE,
    BACKEND_MEMFD,
} BackendKind;

struct HostMemoryBackend {
    char *id;
    const char *type;
    BackendKind kind;
    uint64_t size;
    bool share;
    bool prealloc;
    char *mem_path;
    bool hugetlb;
    uint64_t hugetlbsize;
    bool seal;
    RAMBlock *rb;
};

static const struct {
    const char *type;
    BackendKind kind;
} backend_types[] = {
    { "memory-backend-ram", BACKEND_RAM },
    { "memory-backend-file", BACKEND_FILE },
    { "memory-backend-memfd", BACKEND_MEMFD },
};

/* every object, by id, in creation order */
static GPtrArray *objects;

static HostMemoryBackend *object_find(const char *id)
{
    if (!objects) {
        return NULL;
    }
    for (guint i = 0; i < objects->len; i++) {
        HostMemoryBackend *be = g_ptr_array_index(objects, i);

        if (strcmp(be->id, id) == 0) {
            return be;
        }
    }
    return NULL;
}

static bool id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

static void backend_free(HostMemoryBackend *be)
{
    g_free(be->id);
    g_free(be->mem_path);
    g_free(be);
}

bool user_creatable_add_opts_str(const char *optstr, Error **errp)
{
    HostMemoryBackend *be = NULL;
    QemuOpts *opts;
    const char *type, *id, *path;
    uint64_t threads;
    bool ok = false;
    int kind = -1;

    opts = qemu_opts_parse(optstr, "qom-type", errp);
    if (!opts) {
        return false;
    }
    type = qemu_opt_get(opts, "qom-type");
    if (!type) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        goto out;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(backend_types); i++) {
        if (strcmp(type, backend_types[i].type) == 0) {
            kind = backend_types[i].kind;
            type = backend_types[i].type;
        }
    }
    if (kind < 0) {
        error_setg(errp, "invalid object type: %s", type);
        goto out;
    }
    id = qemu_opt_get(opts, "id");
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        goto out;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        goto out;
    }
    if (object_find(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        goto out;
    }

    be = g_new0(HostMemoryBackend, 1);
    be->id = g_strdup(id);
    be->type = type;
    be->kind = kind;
    if (!qemu_opt_has(opts, "size")) {
        error_setg(errp, "%s '%s': property 'size' is required", type, id);
        goto out;
    }
    if (!qemu_opt_get_size_checked(opts, "size", 0, &be->size, errp) ||
        !qemu_opt_get_bool_checked(opts, "share", kind == BACKEND_MEMFD,
                                   &be->share, errp) ||
        !qemu_opt_get_bool_checked(opts, "prealloc", false, &be->prealloc,
                                   errp) ||
        /* accepted for compatibility: Godwit sizes its own thread pool */
        !qemu_opt_get_number_checked(opts, "prealloc-threads", 1, &threads,
                                     errp)) {
        goto out;
    }
    if (be->size == 0) {
        error_setg(errp, "%s '%s': property 'size' must be greater than 0",
                   type, id);
        goto out;
    }
    if (kind == BACKEND_FILE) {
        path = qemu_opt_get(opts, "mem-path");
        if (!path || !*path) {
            error_setg(errp, "%s '%s': property 'mem-path' is required",
                       type, id);
            goto out;
        }
        be->mem_path = g_strdup(path);
    }
    if (kind == BACKEND_MEMFD) {
        if (!qemu_opt_get_bool_checked(opts, "hugetlb", false, &be->hugetlb,
                                       errp) ||
            !qemu_opt_get_size_checked(opts, "hugetlbsize", 0,
                                       &be->hugetlbsize, errp) ||
            !qemu_opt_get_bool_checked(opts, "seal", true, &be->seal, errp)) {
            goto out;
        }
        if (be->hugetlbsize && !be->hugetlb) {
            error_setg(errp, "%s '%s': hugetlbsize requires hugetlb=on",
                       type, id);
            goto out;
        }
    }
    if (!qemu_opts_check_unused(opts, type, errp)) {
        goto out;
    }

    if (!objects) {
        objects = g_ptr_array_new();
    }
    g_ptr_array_add(objects, be);
    be = NULL;
    ok = true;
out:
    if (be) {
        backend_free(be);
    }
    qemu_opts_free(opts);
    return ok;
}

const char *user_creatable_type(const char *id)
{
    HostMemoryBackend *be = object_find(id);

    return be ? be->type : NULL;
}

HostMemoryBackend *host_memory_backend_find(const char *id)
{
    return object_find(id);
}

uint64_t host_memory_backend_get_size(HostMemoryBackend *be)
{
    return be->size;
}

void host_memory_backend_set_prealloc(HostMemoryBackend *be)
{
    be->prealloc = true;
}

RAMBlock *host_memory_backend_get_ramblock(HostMemoryBackend *be)
{
    return be->rb;
}

bool host_memory_backends_alloc(Error **errp)
{
    if (!objects) {
        return true;
    }
    for (guint i = 0; i < objects->len; i++) {
        HostMemoryBackend *be = g_ptr_array_index(objects, i);
        RAMBlockConfig cfg = {
            .name = be->id,
            .size = be->size,
            .shared = be->share,
            .prealloc = be->prealloc,
            .mem_path = be->mem_path,
            .memfd = be->kind == BACKEND_MEMFD,
            .hugetlb = be->hugetlb,
            .hugetlbsize = be->hugetlbsize,
            .seal = be->seal,
        };

        if (be->rb) {
            continue;
        }
        be->rb = qemu_ram_alloc(&cfg, errp);
        if (!be->rb) {
            return false;
        }
    }
    return true;
}
