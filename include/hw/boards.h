/* The machine: what vl.c collects from the command line and the board builds. */
#ifndef HW_BOARDS_H
#define HW_BOARDS_H

#include "qemu/osdep.h"
#include "exec/memory.h"

struct MachineState {
    const char *type;          /* "virt" */
    uint64_t ram_size;         /* -m */
    int smp_cpus;              /* -smp */
    const char *kernel_filename;  /* -kernel */
    const char *bios_name;     /* -bios: only "none" is supported */
    const char *memdev;        /* -machine memory-backend=ID or -numa node,memdev=ID */
    RAMBlock *ram;             /* DRAM block (created by vl.c from the backend or default) */
    bool mem_prealloc;
    Chardev *serial;           /* serial_hd(0), may be NULL */
    uint8_t uuid[16];
    bool uuid_set;
    char *name;                /* -name */
    /* loader devices: -device loader,file=F,addr=A (and data=,data-len=) */
    GPtrArray *loaders;        /* of LoaderSpec* */
    void *board;               /* the board's private state */
};

typedef struct LoaderSpec {
    char *file;
    hwaddr addr;
    bool has_addr;
    uint64_t data;
    int data_len;              /* 0: file; 1,2,4,8: store @data at @addr */
    int cpu_num;               /* -1: none; else set that CPU's pc to the entry */
} LoaderSpec;

/*
 * Machine name used in the migration configuration record ("virt" for
 * QEMU's riscv64 virt machine).
 */
#define MACHINE_VIRT_NAME "virt"

/* Build the board: CPUs, devices, ROM, load the kernel/loaders. */
bool virt_machine_init(MachineState *ms, Error **errp);
/* Reset every device and CPU (system_reset). BQL held, VM stopped. */
void qemu_devices_reset(void);
extern MachineState *current_machine;

#endif
