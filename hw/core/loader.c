/*
 * ELF64 and raw image loaders.  See include/hw/core/loader.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <elf.h>
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "exec/memory.h"
#include "hw/core/loader.h"
#include "hw/trace.h"

#ifndef EM_RISCV
#define EM_RISCV 243
#endif

bool buffer_is_elf(const void *buf, size_t len)
{
    return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

/* Copy @filesz bytes and zero up to @memsz at guest @addr (checked RAM). */
static void copy_to_ram(hwaddr addr, const void *src, uint64_t filesz,
                        uint64_t memsz)
{
    RAMBlock *rb = NULL;
    ram_addr_t off = 0;
    uint8_t *host = memory_ram_ptr(addr, memsz, &rb, &off);

    memcpy(host, src, filesz);
    memset(host + filesz, 0, memsz - filesz);
    memory_set_dirty(rb, off, memsz);
}

bool load_elf_buffer_named(const char *name, const void *buf, size_t len,
                           uint64_t *entry, Error **errp)
{
    const uint8_t *data = buf;
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    int loaded = 0;

    if (len < sizeof(eh)) {
        error_setg(errp, "%s: file too short for an ELF header (%zu bytes)",
                   name, len);
        return false;
    }
    memcpy(&eh, data, sizeof(eh));
    if (!buffer_is_elf(data, len)) {
        error_setg(errp, "%s: not an ELF file", name);
        return false;
    }
    if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
        error_setg(errp, "%s: not a 64-bit ELF file", name);
        return false;
    }
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        error_setg(errp, "%s: not a little-endian ELF file", name);
        return false;
    }
    if (eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT) {
        error_setg(errp, "%s: unsupported ELF version", name);
        return false;
    }
    if (eh.e_machine != EM_RISCV) {
        error_setg(errp, "%s: ELF machine %u is not RISC-V", name,
                   eh.e_machine);
        return false;
    }
    if (eh.e_type != ET_EXEC) {
        error_setg(errp, "%s: ELF type %u is not an executable", name,
                   eh.e_type);
        return false;
    }
    if (eh.e_ehsize < sizeof(eh)) {
        error_setg(errp, "%s: bad ELF header size %u", name, eh.e_ehsize);
        return false;
    }
    if (eh.e_phnum == 0 || eh.e_phnum == PN_XNUM) {
        error_setg(errp, "%s: no program headers", name);
        return false;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
        error_setg(errp, "%s: bad program header size %u", name,
                   eh.e_phentsize);
        return false;
    }
    if (eh.e_phoff > len ||
        (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff) {
        error_setg(errp, "%s: program headers lie outside the file", name);
        return false;
    }

    /* pass 0 checks every segment, pass 1 copies */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < eh.e_phnum; i++) {
            memcpy(&ph, data + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
            if (ph.p_type != PT_LOAD) {
                continue;
            }
            if (pass == 1) {
                trace_loader_segment(ph.p_paddr, ph.p_filesz, ph.p_memsz);
                if (ph.p_memsz) {
                    copy_to_ram(ph.p_paddr, data + ph.p_offset, ph.p_filesz,
                                ph.p_memsz);
                }
                loaded++;
                continue;
            }
            if (ph.p_filesz > ph.p_memsz) {
                error_setg(errp, "%s: segment %d: file size 0x%" PRIx64
                           " exceeds memory size 0x%" PRIx64, name, i,
                           (uint64_t)ph.p_filesz, (uint64_t)ph.p_memsz);
                return false;
            }
            if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset) {
                error_setg(errp, "%s: segment %d: data [0x%" PRIx64 ", +0x%"
                           PRIx64 ") lies outside the file (%zu bytes)", name,
                           i, (uint64_t)ph.p_offset, (uint64_t)ph.p_filesz,
                           len);
                return false;
            }
            if (ph.p_paddr + ph.p_memsz < ph.p_paddr) {
                error_setg(errp, "%s: segment %d: address 0x%" PRIx64
                           " + size 0x%" PRIx64 " overflows", name, i,
                           (uint64_t)ph.p_paddr, (uint64_t)ph.p_memsz);
                return false;
            }
            if (ph.p_memsz &&
                !memory_ram_ptr(ph.p_paddr, ph.p_memsz, NULL, NULL)) {
                error_setg(errp, "%s: segment %d [0x%" PRIx64 ", 0x%" PRIx64
                           ") is not inside guest RAM", name, i,
                           (uint64_t)ph.p_paddr,
                           (uint64_t)(ph.p_paddr + ph.p_memsz));
                return false;
            }
        }
    }
    if (!loaded) {
        error_setg(errp, "%s: no loadable segment", name);
        return false;
    }
    if (entry) {
        *entry = eh.e_entry;
    }
    return true;
}

bool load_elf_buffer(const void *buf, size_t len, uint64_t *entry, Error **errp)
{
    return load_elf_buffer_named("ELF image", buf, len, entry, errp);
}

static bool read_whole_file(const char *path, gchar **contents, gsize *len,
                            Error **errp)
{
    GError *gerr = NULL;

    if (!g_file_get_contents(path, contents, len, &gerr)) {
        error_setg(errp, "could not load '%s': %s", path, gerr->message);
        g_error_free(gerr);
        return false;
    }
    return true;
}

bool load_elf_file(const char *path, uint64_t *entry, Error **errp)
{
    gchar *contents;
    gsize len;
    bool ok;

    if (!read_whole_file(path, &contents, &len, errp)) {
        return false;
    }
    ok = load_elf_buffer_named(path, contents, len, entry, errp);
    g_free(contents);
    return ok;
}

bool load_image_targphys(const char *path, hwaddr addr, uint64_t *size,
                         Error **errp)
{
    gchar *contents;
    gsize len;

    if (!read_whole_file(path, &contents, &len, errp)) {
        return false;
    }
    if (addr + len < addr ||
        (len && !memory_ram_ptr(addr, len, NULL, NULL))) {
        error_setg(errp, "%s: image [0x%" HWADDR_PRIx ", 0x%" PRIx64
                   ") is not inside guest RAM", path, addr,
                   (uint64_t)(addr + len));
        g_free(contents);
        return false;
    }
    if (len) {
        copy_to_ram(addr, contents, len, len);
    }
    if (size) {
        *size = len;
    }
    g_free(contents);
    return true;
}

bool generic_loader_apply(const LoaderSpec *spec, uint64_t *pc, bool *set_pc,
                          Error **errp)
{
    uint64_t start = spec->addr;

    *set_pc = false;
    if (spec->file) {
        gchar *contents;
        gsize len;
        bool ok;

        if (!read_whole_file(spec->file, &contents, &len, errp)) {
            return false;
        }
        if (buffer_is_elf(contents, len)) {
            ok = load_elf_buffer_named(spec->file, contents, len, &start, errp);
        } else if (!spec->has_addr) {
            error_setg(errp, "loader: %s is not an ELF file and no addr= was "
                       "given", spec->file);
            ok = false;
        } else {
            ok = load_image_targphys(spec->file, spec->addr, NULL, errp);
        }
        g_free(contents);
        if (!ok) {
            return false;
        }
    } else if (spec->data_len) {
        uint8_t bytes[8];
        bool ok, locked = bql_locked();

        if (!spec->has_addr) {
            error_setg(errp, "loader: data= needs addr=");
            return false;
        }
        if (spec->data_len != 1 && spec->data_len != 2 &&
            spec->data_len != 4 && spec->data_len != 8) {
            error_setg(errp, "loader: data-len must be 1, 2, 4 or 8");
            return false;
        }
        for (int i = 0; i < 8; i++) {
            bytes[i] = spec->data >> (8 * i);
        }
        if (!locked) {
            bql_lock();
        }
        ok = address_space_write(spec->addr, bytes, spec->data_len);
        if (!locked) {
            bql_unlock();
        }
        if (!ok) {
            error_setg(errp, "loader: cannot write %d bytes at 0x%" HWADDR_PRIx,
                       spec->data_len, spec->addr);
            return false;
        }
    } else if (!spec->has_addr || spec->cpu_num < 0) {
        error_setg(errp, "loader: needs file=, data= or addr= with cpu-num=");
        return false;
    }
    if (spec->cpu_num >= 0) {
        *pc = start;
        *set_pc = true;
    }
    return true;
}
