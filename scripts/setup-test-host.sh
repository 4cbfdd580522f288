#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Prepare this host for the tests that need it, when run as root: reserve
# 2 MiB huge pages (hugetlbfs-backed guest RAM, postcopy on huge pages) and
# mount hugetlbfs on /dev/hugepages.  Prints what it changes.  Without root,
# or where the kernel refuses, it says so and the affected tests skip with
# the reason.
WANT=${GODWIT_HUGEPAGES:-160}
f=/proc/sys/vm/nr_hugepages
if [ "$(id -u)" != 0 ]; then
    echo "setup-test-host: not root; huge-page tests will skip unless pages are reserved"
    exit 0
fi
have=$(cat $f 2>/dev/null || echo 0)
if [ "$have" -lt "$WANT" ]; then
    echo "setup-test-host: + echo $WANT > $f"
    echo "$WANT" > $f 2>/dev/null || echo "setup-test-host: cannot reserve huge pages"
fi
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
    echo "setup-test-host: + mount -t hugetlbfs none /dev/hugepages"
    mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages 2>/dev/null ||
        echo "setup-test-host: cannot mount hugetlbfs on /dev/hugepages"
fi
exit 0
