/*
 * Loading guest images into guest RAM: ELF64 RISC-V executables (-kernel,
 * -device loader,file=) and raw images (-device loader,file=,addr=), and the
 * data= form of the generic loader.
 *
 * Every header field of an ELF file is checked before anything is written:
 * a file that is truncated, for another machine, or has a segment outside
 * guest RAM is refused and guest memory is left as it was.  Segments are
 * placed at their physical address (p_paddr); p_memsz beyond p_filesz is
 * zeroed.  Errors name the file and the segment.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_CORE_LOADER_H
#define HW_CORE_LOADER_H

#include "qemu/osdep.h"
#include "hw/boards.h"

/* True if @buf starts with the ELF magic. */
bool buffer_is_elf(const void *buf, size_t len);

bool load_elf_buffer(const void *buf, size_t len, uint64_t *entry, Error **errp);
/* As load_elf_buffer; @name is used in error messages. */
bool load_elf_buffer_named(const char *name, const void *buf, size_t len,
                           uint64_t *entry, Error **errp);
bool load_elf_file(const char *path, uint64_t *entry, Error **errp);

/* Copy the whole of @path to guest RAM at @addr; *size receives its size. */
bool load_image_targphys(const char *path, hwaddr addr, uint64_t *size,
                         Error **errp);

/*
 * Apply one -device loader: an ELF file is loaded as ELF (addr= ignored,
 * as QEMU's generic loader does), another file raw at addr=; data= is
 * stored at addr= (little endian, data-len bytes).  If the spec has a
 * cpu-num=, *pc receives the start address for that CPU (the ELF entry, or
 * addr=) and *set_pc is set true.
 */
bool generic_loader_apply(const LoaderSpec *spec, uint64_t *pc, bool *set_pc,
                          Error **errp);

#endif
