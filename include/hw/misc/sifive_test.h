/*
 * SiFive test/finisher device: a guest write of
 *   0x5555               powers off (shutdown request, guest-shutdown),
 *   (code << 16) | 0x3333 exits with status @code,
 *   0x7777               resets the machine (guest-reset).
 * Reads return 0.  Stateless, so nothing to migrate.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_MISC_SIFIVE_TEST_H
#define HW_MISC_SIFIVE_TEST_H

#include "qemu/osdep.h"

#define SIFIVE_TEST_SIZE  0x1000
#define FINISHER_FAIL     0x3333
#define FINISHER_PASS     0x5555
#define FINISHER_RESET    0x7777

void sifive_test_create(hwaddr base);
/* The write handler, as the guest sees it (BQL held). */
void sifive_test_write(uint64_t val);

#endif
