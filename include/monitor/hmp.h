/*
 * HMP (the human monitor): command table entries and helpers for the
 * handlers.  Commands are declared in the qapi/ schema ('hmp' in a command or a
 * separate 'hmp-command'); a command "name|alias" is implemented by
 *
 *     void hmp_name(Monitor *mon, JsonObject *args);
 *
 * ("info foo" by hmp_info_foo).  @args holds what the command line gave,
 * parsed by the args_type string (QEMU's hmp-commands.hx syntax,
 * "name:type" separated by commas, '?' after the type for optional):
 *   s  a word (or a "quoted string")      -> string
 *   F  a file name                        -> string
 *   S  the rest of the line               -> string
 *   i  a 32-bit integer                   -> int
 *   l  a 64-bit integer or address; sums like 0x80000000+16 are allowed
 *   M  a size in MiB (suffixes allowed)   -> int (bytes)
 *   o  a size with optional suffix k/M/G/T -> int (bytes)
 *   b  on|off                             -> bool
 *   -X an optional flag -X                -> bool (always present)
 *   /  a /count-format-size spec          -> ints "count", "size" and
 *                                            string "format"
 * Handlers print with monitor_printf(mon, ...) and report errors with
 * hmp_handle_error().
 */
#ifndef MONITOR_HMP_H
#define MONITOR_HMP_H

#include "qemu/osdep.h"
#include <json-glib/json-glib.h>

typedef void HmpCommandFunc(Monitor *mon, JsonObject *args);

typedef struct HmpCommand {
    const char *name;          /* "cont|c": the name, then aliases */
    const char *args_type;
    const char *params;
    const char *help;
    HmpCommandFunc *fn;
} HmpCommand;

/* Print "Error: <message>" and free @err, if set. */
void hmp_handle_error(Monitor *mon, Error *err);
/* Run one command line on @mon (an HMP monitor). */
void hmp_handle_command(Monitor *mon, const char *cmdline);
/* The vCPU selected with 'cpu' (cpu 0 by default), or NULL. */
CPUState *mon_get_cpu(Monitor *mon);
/* Select vCPU @index for @mon; false if there is no such vCPU. */
bool monitor_set_cpu(Monitor *mon, int index);

/*
 * Hold @mon's input (QEMU's monitor_suspend/monitor_resume): while
 * suspended an interactive HMP monitor reads nothing more from its
 * chardev (what the user types waits there) and shows no prompt; the main
 * loop keeps running.  Suspensions nest.  monitor_suspend() returns
 * -ENOTTY, and monitor_resume() does nothing, for a monitor without
 * interactive input (QMP, HMP through human-monitor-command).  The last
 * monitor_resume() shows the prompt, runs input already read after the
 * line that suspended the monitor, and reads on.
 */
int monitor_suspend(Monitor *mon);
void monitor_resume(Monitor *mon);

#endif
