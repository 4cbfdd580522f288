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

/*
 * -global DRIVER.PROP=VALUE.  Drivers accepted today: "migration".
 * Returns true and sets *value (owned by vl.c) when @driver.@prop was
 * given; the last occurrence wins.
 */
bool qemu_global_option_get(const char *driver, const char *prop,
                            const char **value);
/* Call @fn for every -global of @driver, in command-line order. */
void qemu_global_option_foreach(const char *driver,
                                void (*fn)(const char *prop, const char *value,
                                           void *opaque),
                                void *opaque);

#endif
