# shellcheck shell=bash
# Sourced by the tests here: a throwaway overlay of a Debian root, used in a
# chroot.  The caller sets $me (its name) first.
: "${me:?the caller names itself}"

step() { echo "$me: $*"; }
fail() { echo "$me: FAILED: $*"; exit 1; }
# nice 10, as tests/debug-kernel/build's make: beside it (in CI) the two
# share the CPU instead of one starving the other
in_root() { nice -n 10 chroot "$root" env DEBIAN_FRONTEND=noninteractive "$@"; }

# overlay_root SRC KVER: $root becomes an overlay of SRC (SRC stays as it is,
# and nothing is copied: a root is some GiB), /proc mounted (sid's objtool
# reads it), without make check's hpage-map DKMS state, removed on exit.
# Only KVER keeps its headers (in a chroot DKMS builds for every kernel
# that has them); the others' are in /lib/modules/K/build.hpm-off, for
# headers_back.
overlay_root() {
	local src=$1 kver=$2 b k
	scratch=$(mktemp -d "/tmp/hpm-$me.XXXXXX")
	root=$scratch/root
	trap 'umount "$root/proc" 2>/dev/null; umount "$root" 2>/dev/null; rm -rf "$scratch"' EXIT
	step "overlay of $src on $root"
	mkdir -p "$root" "$scratch/upper" "$scratch/work"
	mount -t overlay overlay -o "lowerdir=$src,upperdir=$scratch/upper,workdir=$scratch/work" \
		"$root"
	for b in "$root"/lib/modules/*/build; do
		k=${b%/build}
		[[ ${k##*/} == "$kver" ]] || mv "$b" "$b.hpm-off"
	done
	mount -t proc proc "$root/proc"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# make check's DKMS builds in the root: a new system has none of them.
	rm -rf "$root"/var/lib/dkms/hpage-map "$root"/usr/src/hpage-map-*
	find "$root"/lib/modules -name 'hpage_map.ko*' -delete
}

# headers_back KVER: KVER's headers are there again, as installing them would
headers_back() {
	mv "$root/lib/modules/$1/build.hpm-off" "$root/lib/modules/$1/build"
}

# dkms_has KVER: DKMS installed hpage-map for KVER in the root
dkms_has() {
	in_root dkms status -m hpage-map -k "$1" | grep -q ': installed'
}
