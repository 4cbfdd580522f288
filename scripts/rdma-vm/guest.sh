#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs inside the RDMA test VM (started by /sbin/godwit-init from the
# image that scripts/rdma-vm/build-rootfs.sh made), with the Godwit tree
# mounted at $1 (the same path as on the host).  Brings up soft-RoCE
# (rdma_rxe) on the VM's NIC and runs the RDMA migration test against real
# verbs; everything goes to the serial console, which run.sh parses:
#   GODWIT-RDMA-VM-STEP <what>      progress
#   <TAP lines of migration-rdma-test>
#   GODWIT-RDMA-VM-RC=<n>           the test's exit status (last line)
src=${1:?}
step() { echo "GODWIT-RDMA-VM-STEP $*"; }
finish() { echo "GODWIT-RDMA-VM-RC=$1"; exit 0; }

exec 2>&1
step "kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
ulimit -l unlimited || step "ulimit -l unlimited failed"
ip link set lo up
nic=""
for d in /sys/class/net/*; do
    n=${d##*/}
    [ "$n" = lo ] && continue
    nic=$n
    break
done
if [ -z "$nic" ]; then
    step "no network interface"
    finish 126
fi
ip addr add 10.0.2.15/24 dev "$nic"
ip -6 addr add fd00:6477::15/64 dev "$nic" nodad 2>/dev/null
ip link set "$nic" up
step "nic $nic up: $(ip -br addr show dev "$nic" | tr -s ' ')"
# no udev in here: load what its rdma-core rules would (the verbs and
# connection-manager character devices under /dev/infiniband)
for m in rdma_rxe ib_uverbs rdma_ucm; do
    if ! modprobe $m; then
        step "modprobe $m failed"
        finish 126
    fi
done
if ! rdma link add rxe0 type rxe netdev "$nic"; then
    step "rdma link add rxe0 type rxe netdev $nic failed"
    finish 126
fi
step "rdma link: $(rdma link show | tr '\n' ' ')"
step "devices: $(ls /dev/infiniband 2>&1 | tr '\n' ' ')"
build=$src/build
for a in $(cat /proc/cmdline); do
    case "$a" in godwit.build=*) build=${a#godwit.build=} ;; esac
done
test=$build/tests/qtest/migration-rdma-test
if [ ! -x "$test" ]; then
    step "$test is missing (build Godwit first)"
    finish 127
fi
cd /tmp || finish 126
export QTEST_QEMU_BINARY=$build/godwit-system-riscv64
export G_TEST_SRCDIR=$src/tests/qtest
# software emulation is slow: give every wait of libqtest 30 minutes
export QTEST_TIMEOUT_MS=1800000
export GODWIT_RDMA_ADDR=10.0.2.15
export GODWIT_RDMA_ADDR6="[fd00:6477::15]"
t0=$(date +%s)
step "running $test"
"$test" --tap -k
rc=$?
t1=$(date +%s)
step "test took $((t1 - t0)) s"
finish $rc
