#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build (once, cached) the Debian bookworm root filesystem that
# scripts/rdma-vm/run.sh boots to run the RDMA migration test on soft-RoCE
# (rdma_rxe) verbs.
#
#   scripts/rdma-vm/build-rootfs.sh CACHE_DIR
#
# CACHE_DIR/rootfs.img     ext4 image (made with mke2fs -d: no loop mount)
# CACHE_DIR/vmlinuz        the image's linux-image-amd64 kernel
# CACHE_DIR/initrd.img     its initramfs
# CACHE_DIR/stamp          written last: the cache is complete
#
# The mirror is the first URI of this machine's apt sources (deb822
# "URIs:" or one-line "deb" entries), else deb.debian.org.  Needs root
# (debootstrap).  Every step is printed with its duration.
set -eu

cache=${1:?usage: build-rootfs.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

if [ -f "$cache/stamp" ]; then
    echo "rdma-vm: root filesystem cached in $cache"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "rdma-vm: building the root filesystem needs root (debootstrap)" >&2
    exit 1
fi
for t in debootstrap mke2fs; do
    if ! command -v $t >/dev/null 2>&1; then
        echo "rdma-vm: $t is missing (apt-get install debootstrap e2fsprogs)" >&2
        exit 1
    fi
done

mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^(http|https|ftp|file):/) { print $i; exit } }' "$f")
        [ -n "$mirror" ] && break
    done
fi
mirror=${mirror:-http://deb.debian.org/debian}

# What Godwit and its tests need at run time, plus the kernel (rdma_rxe),
# rdma-core (rdma_rxe udev/rdma tool config), iproute2 (the rdma command).
pkgs="linux-image-amd64,kmod,iproute2,rdma-core,ibverbs-providers,\
libibverbs1,librdmacm1,libglib2.0-0,libjson-glib-1.0-0,libgnutls30,\
zlib1g,libzstd1,procps"

root="$cache/rootfs"
# never remove a tree that still has the host's /proc or /sys mounted in it
release_mounts() {
    for m in proc sys dev/pts dev; do
        if mountpoint -q "$root/$m" 2>/dev/null; then
            umount -l "$root/$m"
        fi
    done
}
release_mounts
rm -rf "$root" "$cache/rootfs.img"
t0=$(date +%s)
echo "rdma-vm: debootstrap bookworm from $mirror into $root"
debootstrap --variant=minbase --include="$pkgs" bookworm "$root" "$mirror" \
    > "$cache/debootstrap.log" 2>&1 || {
    echo "rdma-vm: debootstrap failed; last lines of $cache/debootstrap.log:" >&2
    tail -20 "$cache/debootstrap.log" >&2
    release_mounts
    exit 1
}
t1=$(date +%s)
echo "rdma-vm: debootstrap took $((t1 - t0)) s"

# PID 1 of the VM: mount what the test needs, then hand over to the
# guest script on the shared build tree (so changing it needs no rebuild).
cat > "$root/sbin/godwit-init" <<'INIT'
#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
src=""
for a in $(cat /proc/cmdline); do
    case "$a" in godwit.src=*) src=${a#godwit.src=} ;; esac
done
modprobe 9pnet_virtio 2>/dev/null
modprobe 9p 2>/dev/null
mkdir -p "$src"
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 godwit "$src" &&
   [ -x "$src/scripts/rdma-vm/guest.sh" ]; then
    "$src/scripts/rdma-vm/guest.sh" "$src"
else
    echo "GODWIT-RDMA-VM: cannot mount the build tree at '$src'"
    echo "GODWIT-RDMA-VM-RC=125"
fi
sync
echo o > /proc/sysrq-trigger
sleep 30
INIT
chmod 755 "$root/sbin/godwit-init"
echo "godwit-rdma-vm" > "$root/etc/hostname"

cp "$(ls "$root"/boot/vmlinuz-* | tail -1)" "$cache/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | tail -1)" "$cache/initrd.img"
# apt lists and caches are not needed inside
rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
release_mounts
mke2fs -q -t ext4 -L godwit-rdma -d "$root" "$cache/rootfs.img" 2G
rm -rf "$root"
t2=$(date +%s)
echo "rdma-vm: image built in $((t2 - t1)) s"
date > "$cache/stamp"
