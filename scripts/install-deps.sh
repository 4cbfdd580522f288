#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install the Debian 12 packages Godwit needs to build and test.
#
#   scripts/install-deps.sh            install what is missing (needs root)
#   scripts/install-deps.sh --check    only report what is missing (exit 1 if any)
#   scripts/install-deps.sh --bench    also the packages the benchmarks compare against
#   scripts/install-deps.sh --rdma-vm  also what make check-rdma-vm needs on the host
#
# Every action is printed before it runs.
set -e

BUILD_PKGS="gcc make pkg-config python3 meson ninja-build libglib2.0-dev \
libjson-glib-dev zlib1g-dev libzstd-dev libgnutls28-dev gnutls-bin \
libibverbs-dev librdmacm-dev"
# Optional: rebuilding the committed guest images; network namespaces for tests;
# RDMA tests on a soft-RoCE link (rdma_rxe user-space provider, iproute2's rdma).
EXTRA_PKGS="binutils-riscv64-unknown-elf iproute2 rdma-core ibverbs-providers"
BENCH_PKGS="qemu-system-misc"
# make check-rdma-vm: build a Debian root filesystem and boot it.
RDMA_VM_PKGS="debootstrap e2fsprogs qemu-system-x86 qemu-utils"

mode=install
pkgs="$BUILD_PKGS $EXTRA_PKGS"
for a in "$@"; do
    case "$a" in
    --check) mode=check ;;
    --bench) pkgs="$pkgs $BENCH_PKGS" ;;
    --rdma-vm) pkgs="$pkgs $RDMA_VM_PKGS" ;;
    *) echo "install-deps.sh: unknown argument '$a'" >&2; exit 2 ;;
    esac
done

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    [ "$mode" = check ] && echo "install-deps: all packages present"
    exit 0
fi

if [ "$mode" = check ]; then
    echo "install-deps: missing packages:$missing"
    exit 1
fi

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root: apt-get install$missing" >&2
    exit 1
fi

echo "install-deps: installing:$missing"
echo "+ apt-get update"
apt-get update -q >/dev/null
echo "+ apt-get install -y$missing"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "install-deps: done"
