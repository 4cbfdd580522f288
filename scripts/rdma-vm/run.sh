#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make check-rdma-vm: run tests/qtest/migration-rdma-test on real (soft)
# verbs inside a Debian bookworm VM whose kernel has rdma_rxe, because the
# build host's kernel may have no RDMA at all.
#
#   scripts/rdma-vm/run.sh [BUILD_DIR]        (default: build)
#
# 1. builds the root filesystem once, cached in BUILD_DIR/rdma-vm
#    (scripts/rdma-vm/build-rootfs.sh: debootstrap from this machine's
#    apt mirror, linux-image-amd64, rdma-core, the libraries Godwit needs);
# 2. installs what is missing on the host first (debootstrap,
#    qemu-system-x86, qemu-utils: scripts/install-deps.sh --rdma-vm);
# 3. boots the image under qemu-system-x86_64 (KVM when /dev/kvm is
#    usable, else TCG), -m 2G -smp 2, serial console to
#    BUILD_DIR/rdma-vm/console.log, the source tree (with BUILD_DIR in it)
#    shared read-only over virtio-9p at the same path;
# 4. inside, scripts/rdma-vm/guest.sh adds a soft-RoCE link and runs the
#    test; its TAP output and exit status come back on the console;
# 5. exits 0 only when the test ran and passed.  A timeout
#    (RDMA_VM_TIMEOUT seconds, default 3600) kills the VM and fails.
#
# Everything started here is stopped on exit, also on failure or ^C.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
cache=$build/rdma-vm
timeout_s=${RDMA_VM_TIMEOUT:-3600}
log=$cache/console.log
test_bin=$build/tests/qtest/migration-rdma-test

case "$build" in
"$src"/*) ;;
*)  echo "rdma-vm: the build directory must be inside the source tree" \
         "($src), which is what the VM sees" >&2
    exit 2 ;;
esac
if [ ! -x "$test_bin" ] || [ ! -x "$build/godwit-system-riscv64" ]; then
    echo "rdma-vm: build Godwit first (missing $test_bin or the emulator)" >&2
    exit 2
fi

t_start=$(date +%s)
# host tools: debootstrap, mke2fs, qemu-system-x86_64, qemu-img
sh "$src/scripts/install-deps.sh" --rdma-vm
sh "$here/build-rootfs.sh" "$cache"
t_rootfs=$(date +%s)

accel=tcg
cpu=max
if [ -w /dev/kvm ]; then
    accel=kvm
    cpu=host
fi

# a private copy-on-write overlay: the cached image stays pristine
overlay=$cache/run-overlay.qcow2
rm -f "$overlay" "$log"
qemu-img create -q -f qcow2 -F raw -b "$cache/rootfs.img" "$overlay"

qpid=""
cleanup() {
    if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
        kill "$qpid" 2>/dev/null || true
        sleep 1
        kill -9 "$qpid" 2>/dev/null || true
    fi
    rm -f "$overlay"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "rdma-vm: booting ($accel, -m 2G -smp 2); console in $log"
qemu-system-x86_64 -machine q35,accel=$accel -cpu $cpu -m 2G -smp 2 \
    -nodefaults -display none -no-reboot \
    -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 panic=-1 quiet no_timer_check init=/sbin/godwit-init godwit.src=$src godwit.build=$build" \
    -drive file="$overlay",if=virtio,format=qcow2 \
    -virtfs local,path="$src",mount_tag=godwit,security_model=none,readonly=on \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    -serial file:"$log" &
qpid=$!

t_boot=$(date +%s)
booted=""
deadline=$((t_boot + timeout_s))
rc=""
while kill -0 "$qpid" 2>/dev/null; do
    if [ -z "$booted" ] && grep -q 'GODWIT-RDMA-VM-STEP kernel' "$log" 2>/dev/null; then
        booted=$(date +%s)
        echo "rdma-vm: guest up after $((booted - t_boot)) s"
    fi
    if grep -q '^GODWIT-RDMA-VM-RC=' "$log" 2>/dev/null; then
        break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "rdma-vm: TIMEOUT after $timeout_s s; last console lines:" >&2
        tail -30 "$log" >&2
        exit 1
    fi
    sleep 2
done
# let the VM power itself off (it syncs first)
for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$qpid" 2>/dev/null || break
    sleep 1
done
t_end=$(date +%s)

rc=$(sed -n 's/^GODWIT-RDMA-VM-RC=\([0-9]*\).*/\1/p' "$log" | tail -1 | tr -d '\r')
echo "rdma-vm: ---- console (steps and TAP) ----"
grep -E '^(GODWIT-RDMA-VM|ok |not ok |1\.\.|# (SKIP|migrating|source:|no RDMA|refused))' "$log" | tr -d '\r' || true
echo "rdma-vm: ----"
echo "rdma-vm: root filesystem $((t_rootfs - t_start)) s, VM run $((t_end - t_boot)) s"
if [ -z "$rc" ]; then
    echo "rdma-vm: FAILED: the VM ended without a result; last console lines:" >&2
    tail -30 "$log" >&2
    exit 1
fi
if grep -q '^not ok' "$log"; then
    echo "rdma-vm: FAILED: failing test cases above (exit status $rc)" >&2
    exit 1
fi
if [ "$rc" != 0 ]; then
    echo "rdma-vm: FAILED: the test exited with status $rc" >&2
    exit 1
fi
if grep -q '^ok .*/migration/precopy/rdma/.*# SKIP' "$log"; then
    echo "rdma-vm: FAILED: live RDMA cases were skipped inside the VM" >&2
    exit 1
fi
echo "rdma-vm: PASSED: RDMA migrations ran on soft-RoCE verbs"
