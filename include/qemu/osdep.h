/*
 * Godwit: the header every .c file includes first.
 *
 * Pulls in the C library, GLib and the build configuration, and defines the
 * handful of macros used everywhere.  Keep it small: anything with a single
 * user belongs beside that user.
 */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#include "config-host.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "qemu/compiler.h"

typedef uint64_t hwaddr;
typedef uint64_t ram_addr_t;
#define HWADDR_PRIx PRIx64
#define RAM_ADDR_FMT "%" PRIx64

/* Forward declarations of the types most headers pass around. */
typedef struct Error Error;
typedef struct RAMBlock RAMBlock;
typedef struct MemoryRegion MemoryRegion;
typedef struct CPUState CPUState;
typedef struct Chardev Chardev;
typedef struct QIOChannel QIOChannel;
typedef struct Monitor Monitor;
typedef struct MachineState MachineState;

#ifndef MIN
#define MIN(a, b) (((a) < (b)) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) (((a) > (b)) ? (a) : (b))
#endif

#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

#define QEMU_ALIGN_DOWN(n, m) ((n) / (m) * (m))
#define QEMU_ALIGN_UP(n, m) QEMU_ALIGN_DOWN((n) + (m) - 1, (m))
#define QEMU_IS_ALIGNED(n, m) (((n) % (m)) == 0)
#define ROUND_UP(n, d) (((n) + (d) - 1) & -(0 ? (n) : (d)))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define NANOSECONDS_PER_SECOND 1000000000LL

/* Host page size, cached at start-up. */
extern uintptr_t qemu_real_host_page_size;
#define qemu_real_host_page_mask (~(qemu_real_host_page_size - 1))

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
static inline int64_t get_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Wall clock in nanoseconds (CLOCK_REALTIME). */
static inline int64_t get_clock_realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
