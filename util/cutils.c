/*
 * Godwit: string, number-parsing and small I/O helpers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/cutils.h"

#include <math.h>

/* ---------------------------------------------------------------- strings */

void pstrcpy(char *buf, int buf_size, const char *str)
{
    int n;

    if (buf_size <= 0) {
        return;
    }
    n = qemu_strnlen(str, buf_size - 1);
    memcpy(buf, str, n);
    buf[n] = '\0';
}

char *pstrcat(char *buf, int buf_size, const char *s)
{
    int len = qemu_strnlen(buf, buf_size);

    if (len < buf_size) {
        pstrcpy(buf + len, buf_size - len, s);
    }
    return buf;
}

bool strstart(const char *str, const char *val, const char **ptr)
{
    size_t n = strlen(val);

    if (strncmp(str, val, n) != 0) {
        return false;
    }
    if (ptr) {
        *ptr = str + n;
    }
    return true;
}

bool stristart(const char *str, const char *val, const char **ptr)
{
    size_t n = strlen(val);

    if (g_ascii_strncasecmp(str, val, n) != 0) {
        return false;
    }
    if (ptr) {
        *ptr = str + n;
    }
    return true;
}

int qemu_strnlen(const char *s, int max_len)
{
    int i;

    for (i = 0; i < max_len && s[i]; i++) {
        /* count */
    }
    return i;
}

/* ---------------------------------------------------------------- integers */

/*
 * Common tail of the integer parsers: decide between success, -EINVAL and
 * -ERANGE and store the end pointer.
 */
static int strtox_finish(const char *nptr, const char *ep,
                         const char **endptr, int libc_errno)
{
    if (ep == nptr) {
        /* no digits at all */
        if (endptr) {
            *endptr = nptr;
        }
        return -EINVAL;
    }
    if (endptr) {
        *endptr = ep;
    } else if (*ep) {
        return -EINVAL;
    }
    if (libc_errno == ERANGE) {
        return -ERANGE;
    }
    return 0;
}

static int parse_signed(const char *nptr, const char **endptr, int base,
                        long long min, long long max, long long *result)
{
    char *ep;
    long long v;
    int ret;

    if (!nptr) {
        if (endptr) {
            *endptr = NULL;
        }
        *result = 0;
        return -EINVAL;
    }
    errno = 0;
    v = strtoll(nptr, &ep, base);
    ret = strtox_finish(nptr, ep, endptr, errno);
    if (ret == -EINVAL) {
        *result = 0;
        return ret;
    }
    if (v > max) {
        v = max;
        ret = -ERANGE;
    } else if (v < min) {
        v = min;
        ret = -ERANGE;
    }
    *result = v;
    return ret;
}

/*
 * Unsigned parse with a range check that, unlike strtoull, refuses a
 * negative number whose magnitude exceeds @max ("-1" is @max, as
 * strtoul does).
 */
static int parse_unsigned(const char *nptr, const char **endptr, int base,
                          unsigned long long max, unsigned long long *result)
{
    const char *s;
    char *ep;
    unsigned long long v;
    bool neg;
    int ret;

    if (!nptr) {
        if (endptr) {
            *endptr = NULL;
        }
        *result = 0;
        return -EINVAL;
    }
    s = nptr;
    while (g_ascii_isspace(*s)) {
        s++;
    }
    neg = *s == '-';
    if (neg || *s == '+') {
        s++;
    }
    if (*s == '-' || *s == '+' || g_ascii_isspace(*s)) {
        /* strtoull would accept a second sign after whitespace... no */
        if (endptr) {
            *endptr = nptr;
        }
        *result = 0;
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(s, &ep, base);
    ret = strtox_finish(s, ep, endptr, errno);
    if (ret == -EINVAL) {
        if (endptr) {
            *endptr = nptr;
        }
        *result = 0;
        return ret;
    }
    if (ret == -ERANGE || v > max) {
        *result = max;
        return -ERANGE;
    }
    *result = neg ? (-v) & max : v;
    return ret;
}

int qemu_strtoi(const char *nptr, const char **endptr, int base, int *result)
{
    long long v;
    int ret = parse_signed(nptr, endptr, base, INT_MIN, INT_MAX, &v);

    *result = v;
    return ret;
}

int qemu_strtoui(const char *nptr, const char **endptr, int base,
                 unsigned int *result)
{
    unsigned long long v;
    int ret = parse_unsigned(nptr, endptr, base, UINT_MAX, &v);

    *result = v;
    return ret;
}

int qemu_strtol(const char *nptr, const char **endptr, int base, long *result)
{
    long long v;
    int ret = parse_signed(nptr, endptr, base, LONG_MIN, LONG_MAX, &v);

    *result = v;
    return ret;
}

int qemu_strtoul(const char *nptr, const char **endptr, int base,
                 unsigned long *result)
{
    unsigned long long v;
    int ret = parse_unsigned(nptr, endptr, base, ULONG_MAX, &v);

    *result = v;
    return ret;
}

int qemu_strtoi64(const char *nptr, const char **endptr, int base,
                  int64_t *result)
{
    long long v;
    int ret = parse_signed(nptr, endptr, base, INT64_MIN, INT64_MAX, &v);

    *result = v;
    return ret;
}

int qemu_strtou64(const char *nptr, const char **endptr, int base,
                  uint64_t *result)
{
    unsigned long long v;
    int ret = parse_unsigned(nptr, endptr, base, UINT64_MAX, &v);

    *result = v;
    return ret;
}

int qemu_strtod(const char *nptr, const char **endptr, double *result)
{
    char *ep;
    int ret;

    if (!nptr) {
        if (endptr) {
            *endptr = NULL;
        }
        *result = 0;
        return -EINVAL;
    }
    errno = 0;
    *result = strtod(nptr, &ep);
    ret = strtox_finish(nptr, ep, endptr, errno);
    if (ret == -EINVAL) {
        *result = 0;
    }
    return ret;
}

/* ---------------------------------------------------------------- sizes */

static int do_strtosz(const char *nptr, const char **end,
                      char default_suffix, uint64_t unit, uint64_t *result)
{
    const char *s = nptr, *p;
    char *ep;
    uint64_t val, mul;
    double fraction = 0;
    bool hex = false;
    int shift;

    if (!nptr) {
        goto invalid;
    }
    while (g_ascii_isspace(*s)) {
        s++;
    }
    if (!g_ascii_isdigit(*s)) {
        /* no sign, no leading '.', no empty string */
        goto invalid;
    }
    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        hex = true;
        if (!g_ascii_isxdigit(s[2])) {
            goto invalid;
        }
        val = strtoull(s, &ep, 16);
    } else {
        val = strtoull(s, &ep, 10);
    }
    if (errno == ERANGE) {
        goto out_of_range;
    }
    p = ep;
    if (*p == '.') {
        const char *f = p;

        if (hex) {
            goto invalid;
        }
        /* parse ".digits" as a fraction in [0, 1) */
        p++;
        if (!g_ascii_isdigit(*p)) {
            goto invalid;
        }
        while (g_ascii_isdigit(*p)) {
            p++;
        }
        fraction = g_ascii_strtod(f, NULL);
    }

    shift = -1;
    switch (g_ascii_toupper(*p)) {
    case 'B':
        shift = 0;
        break;
    case 'K':
        shift = 1;
        break;
    case 'M':
        shift = 2;
        break;
    case 'G':
        shift = 3;
        break;
    case 'T':
        shift = 4;
        break;
    case 'P':
        shift = 5;
        break;
    case 'E':
        shift = 6;
        break;
    }
    if (shift >= 0) {
        p++;
    } else {
        shift = default_suffix;
    }
    mul = 1;
    while (shift-- > 0) {
        mul *= unit;
    }
    if (fraction != 0 && mul == 1) {
        /* a fraction of a byte */
        goto invalid;
    }

    if (end) {
        *end = p;
    } else if (*p) {
        goto invalid_noend;
    }

    if (val > UINT64_MAX / mul) {
        goto out_of_range;
    }
    val *= mul;
    if (fraction != 0) {
        double extra = floor(fraction * (double)mul);

        /* doubles near 2^64 round up; compare in the double domain */
        if ((double)val + extra >= 18446744073709551616.0) {
            goto out_of_range;
        }
        if (UINT64_MAX - val < (uint64_t)extra) {
            goto out_of_range;
        }
        val += (uint64_t)extra;
    }
    *result = val;
    return 0;

invalid:
    if (end) {
        *end = nptr;
    }
invalid_noend:
    *result = 0;
    return -EINVAL;

out_of_range:
    if (end) {
        *end = nptr;
    }
    *result = 0;
    return -ERANGE;
}

int qemu_strtosz(const char *nptr, const char **end, uint64_t *result)
{
    return do_strtosz(nptr, end, 0, 1024, result);
}

int qemu_strtosz_MiB(const char *nptr, const char **end, uint64_t *result)
{
    return do_strtosz(nptr, end, 2, 1024, result);
}

int qemu_strtosz_metric(const char *nptr, const char **end, uint64_t *result)
{
    return do_strtosz(nptr, end, 0, 1000, result);
}

bool qemu_parse_bool(const char *s, bool *out)
{
    if (!s) {
        return false;
    }
    if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") ||
        !strcmp(s, "y")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") ||
        !strcmp(s, "n")) {
        *out = false;
        return true;
    }
    return false;
}

char *size_to_str(uint64_t val)
{
    static const char *const units[] = {
        "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
    };
    unsigned i = 0;
    double d;
    int decimals;
    char *s, *dot;

    while (i + 1 < ARRAY_SIZE(units) && (val >> (10 * (i + 1))) != 0) {
        i++;
    }
    if (i == 0 || (val & ((1ULL << (10 * i)) - 1)) == 0) {
        return g_strdup_printf("%" PRIu64 " %s", val >> (10 * i), units[i]);
    }
    d = (double)val / (double)(1ULL << (10 * i));
    /* three significant digits, never an exponent */
    decimals = d < 10 ? 2 : d < 100 ? 1 : 0;
    s = g_strdup_printf("%.*f %s", decimals, d, units[i]);
    dot = strchr(s, '.');
    if (dot) {
        /* drop trailing zeros of the fraction, and a bare '.' */
        char *sp = strchr(dot, ' ');
        char *z = sp;

        while (z[-1] == '0') {
            z--;
        }
        if (z[-1] == '.') {
            z--;
        }
        memmove(z, sp, strlen(sp) + 1);
    }
    return s;
}

/* ---------------------------------------------------------------- I/O */

ssize_t qemu_write_full(int fd, const void *buf, size_t count)
{
    const char *p = buf;
    size_t done = 0;

    while (done < count) {
        ssize_t n = write(fd, p + done, count - done);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        done += n;
    }
    return done;
}

ssize_t qemu_read_full(int fd, void *buf, size_t count)
{
    char *p = buf;
    size_t done = 0;

    while (done < count) {
        ssize_t n = read(fd, p + done, count - done);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        if (n == 0) {
            break;
        }
        done += n;
    }
    return done;
}

int qemu_open_cloexec(const char *path, int flags, mode_t mode)
{
    int fd;

    do {
        fd = open(path, flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

void qemu_set_cloexec(int fd)
{
    int f = fcntl(fd, F_GETFD);

    if (f >= 0) {
        fcntl(fd, F_SETFD, f | FD_CLOEXEC);
    }
}

static int set_fl(int fd, int set, int clear)
{
    int f = fcntl(fd, F_GETFL);

    if (f < 0) {
        return -errno;
    }
    if (fcntl(fd, F_SETFL, (f | set) & ~clear) < 0) {
        return -errno;
    }
    return 0;
}

int qemu_set_nonblock(int fd)
{
    return set_fl(fd, O_NONBLOCK, 0);
}

int qemu_set_block(int fd)
{
    return set_fl(fd, 0, O_NONBLOCK);
}

char *qemu_get_exec_dir(void)
{
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    char *dir;

    if (!exe) {
        return NULL;
    }
    dir = g_path_get_dirname(exe);
    g_free(exe);
    return dir;
}

char *qemu_hexdump_line(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    GString *s = g_string_sized_new(len * 2 + 1);
    size_t i;

    for (i = 0; i < len; i++) {
        g_string_append_printf(s, "%02x", p[i]);
    }
    return g_string_free(s, false);
}
