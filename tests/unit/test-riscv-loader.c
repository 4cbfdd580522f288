/*
 * ELF loader: a minimal RISC-V executable built in memory, loaded into a
 * RAM block; every refusal leaves guest memory untouched.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <elf.h>
#include "qapi/error.h"
#include "exec/memory.h"
#include "hw/core/loader.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (64 * KiB)

static RAMBlock *ram;

typedef struct Image {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
    uint8_t data[16];
} Image;

static void make_image(Image *im)
{
    memset(im, 0, sizeof(*im));
    memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
    im->eh.e_ident[EI_CLASS] = ELFCLASS64;
    im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im->eh.e_ident[EI_VERSION] = EV_CURRENT;
    im->eh.e_type = ET_EXEC;
    im->eh.e_machine = 243;
    im->eh.e_version = EV_CURRENT;
    im->eh.e_entry = RAM_BASE + 0x100;
    im->eh.e_phoff = offsetof(Image, ph);
    im->eh.e_ehsize = sizeof(Elf64_Ehdr);
    im->eh.e_phentsize = sizeof(Elf64_Phdr);
    im->eh.e_phnum = 2;
    im->ph[0].p_type = PT_LOAD;
    im->ph[0].p_offset = offsetof(Image, data);
    im->ph[0].p_paddr = RAM_BASE + 0x100;
    im->ph[0].p_vaddr = RAM_BASE + 0x100;
    im->ph[0].p_filesz = 16;
    im->ph[0].p_memsz = 32;             /* 16 bytes of bss */
    im->ph[1].p_type = PT_NOTE;
    for (int i = 0; i < 16; i++) {
        im->data[i] = 0xa0 + i;
    }
}

static void test_load_ok(void)
{
    Image im;
    uint64_t entry = 0;
    uint8_t *h = ram->host + 0x100;

    make_image(&im);
    memset(ram->host, 0xff, RAM_SIZE);
    g_assert_true(load_elf_buffer(&im, sizeof(im), &entry, &error_abort));
    g_assert_cmphex(entry, ==, RAM_BASE + 0x100);
    g_assert_cmpmem(h, 16, im.data, 16);
    for (int i = 16; i < 32; i++) {
        g_assert_cmpuint(h[i], ==, 0);
    }
    g_assert_cmpuint(h[32], ==, 0xff);
}

typedef void (*Breaker)(Image *im);

static void b_magic(Image *im) { im->eh.e_ident[1] = 'X'; }
static void b_class(Image *im) { im->eh.e_ident[EI_CLASS] = ELFCLASS32; }
static void b_endian(Image *im) { im->eh.e_ident[EI_DATA] = ELFDATA2MSB; }
static void b_machine(Image *im) { im->eh.e_machine = EM_X86_64; }
static void b_type(Image *im) { im->eh.e_type = ET_DYN; }
static void b_phentsize(Image *im) { im->eh.e_phentsize = 32; }
static void b_phnum(Image *im) { im->eh.e_phnum = 0; }
static void b_phoff(Image *im) { im->eh.e_phoff = sizeof(Image) - 8; }
static void b_phoff_huge(Image *im) { im->eh.e_phoff = UINT64_MAX - 8; }
static void b_filesz(Image *im) { im->ph[0].p_filesz = 64; im->ph[0].p_memsz = 64; }
static void b_offset(Image *im) { im->ph[0].p_offset = UINT64_MAX - 4; }
static void b_memsz(Image *im) { im->ph[0].p_memsz = 8; }
static void b_outside(Image *im) { im->ph[0].p_memsz = RAM_SIZE; }
static void b_below(Image *im) { im->ph[0].p_paddr = 0x1000; }
static void b_wrap(Image *im) { im->ph[0].p_paddr = UINT64_MAX - 8; }
static void b_noload(Image *im) { im->ph[0].p_type = PT_NULL; }

static void test_refused(void)
{
    static const Breaker breakers[] = {
        b_magic, b_class, b_endian, b_machine, b_type, b_phentsize, b_phnum,
        b_phoff, b_phoff_huge, b_filesz, b_offset, b_memsz, b_outside,
        b_below, b_wrap, b_noload,
    };
    Image im;

    for (size_t i = 0; i < ARRAY_SIZE(breakers); i++) {
        Error *err = NULL;
        uint64_t entry = 0;

        make_image(&im);
        breakers[i](&im);
        memset(ram->host, 0x55, RAM_SIZE);
        g_assert_false(load_elf_buffer_named("t.elf", &im, sizeof(im), &entry,
                                             &err));
        g_assert_nonnull(err);
        g_assert_true(g_str_has_prefix(error_get_pretty(err), "t.elf: "));
        error_free(err);
        g_assert_cmpuint(ram->host[0x100], ==, 0x55);
    }
    /* truncated file */
    {
        Error *err = NULL;
        make_image(&im);
        g_assert_false(load_elf_buffer(&im, 20, NULL, &err));
        error_free(err);
    }
}

static void test_generic_loader(void)
{
    char *path = NULL;
    int fd = g_file_open_tmp("loader-XXXXXX", &path, NULL);
    LoaderSpec spec = { .cpu_num = -1 };
    uint64_t pc = 0;
    bool set_pc;
    Image im;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, "RAWDATA", 7), ==, 7);
    close(fd);

    /* raw file at addr=, cpu-num sets the pc to addr */
    spec.file = path;
    spec.addr = RAM_BASE + 0x2000;
    spec.has_addr = true;
    spec.cpu_num = 0;
    g_assert_true(generic_loader_apply(&spec, &pc, &set_pc, &error_abort));
    g_assert_true(set_pc);
    g_assert_cmphex(pc, ==, RAM_BASE + 0x2000);
    g_assert_cmpmem(ram->host + 0x2000, 7, "RAWDATA", 7);

    /* an ELF file is loaded as ELF; the pc is its entry */
    make_image(&im);
    g_assert_true(g_file_set_contents(path, (char *)&im, sizeof(im), NULL));
    g_assert_true(generic_loader_apply(&spec, &pc, &set_pc, &error_abort));
    g_assert_cmphex(pc, ==, RAM_BASE + 0x100);

    /* data= */
    spec.file = NULL;
    spec.cpu_num = -1;
    spec.addr = RAM_BASE + 0x3000;
    spec.data = 0x1122334455667788ULL;
    spec.data_len = 4;
    g_assert_true(generic_loader_apply(&spec, &pc, &set_pc, &error_abort));
    g_assert_false(set_pc);
    g_assert_cmphex(*(uint32_t *)(ram->host + 0x3000), ==, 0x55667788);

    /* raw file outside RAM */
    {
        Error *err = NULL;
        spec.file = path;
        spec.data_len = 0;
        spec.addr = RAM_BASE + RAM_SIZE - 4;
        g_assert_true(g_file_set_contents(path, "RAWDATA", 7, NULL));
        g_assert_false(generic_loader_apply(&spec, &pc, &set_pc, &err));
        g_assert_nonnull(strstr(error_get_pretty(err), path));
        error_free(err);
    }
    unlink(path);
    g_free(path);
}

int main(int argc, char **argv)
{
    RAMBlockConfig cfg = { .name = "test.ram", .size = RAM_SIZE };

    g_test_init(&argc, &argv, NULL);
    ram = qemu_ram_alloc(&cfg, &error_abort);
    memory_region_add_ram("test.ram", RAM_BASE, ram);
    g_test_add_func("/riscv-loader/load", test_load_ok);
    g_test_add_func("/riscv-loader/refused", test_refused);
    g_test_add_func("/riscv-loader/generic-loader", test_generic_loader);
    return g_test_run();
}
