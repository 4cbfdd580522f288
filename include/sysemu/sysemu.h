/* System emulation entry points (system/vl.c). */
#ifndef SYSEMU_SYSEMU_H
#define SYSEMU_SYSEMU_H

#include "qemu/osdep.h"

/* Parse the command line, build the machine, run the main loop; exit status. */
int qemu_main(int argc, char **argv);

extern const char *qemu_name;        /* -name */
extern uint8_t qemu_uuid[16];        /* -uuid */
extern bool qemu_uuid_set;
/* -incoming URI as given (NULL if none); "defer" is kept as is. */
extern const char *incoming;

#endif
