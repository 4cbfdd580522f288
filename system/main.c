/* Entry point of godwit-system-riscv64; everything happens in vl.c. */
#include "qemu/osdep.h"
#include "sysemu/sysemu.h"

int main(int argc, char **argv)
{
    return qemu_main(argc, argv);
}
