#!/bin/bash
# cli-host.sh CLI UNIT-TESTS TMPDIR: the hpage-map tests that need no module.
#
# Runs the (sanitizer-built) CLI against fake sysfs trees that UNIT-TESTS
# --make-sysroot creates: help texts, usage errors (exit 2), info and pools
# in text and JSON, the module-not-loaded and pool-too-small messages
# (exit 3), a device that is not hpage_map's, list and --device over several
# buffers, create/remove usage errors, the udev rule's device names.  The
# rest needs the module:
# tests/cli_*.c in the QEMU guest.
set -uo pipefail
cli=$1 unit=$2 tmp=$3
fails=0 count=0

rm -rf "$tmp"
mkdir -p "$tmp"
root=$tmp/root			# hpage_map loaded: buffers 0, 1 and 3
"$unit" --make-sysroot "$root" || exit 2
noroot=$tmp/unloaded		# the same machine, module not loaded
cp -a "$root" "$noroot"
rm -rf "$noroot/sys/module/hpage_map" "$noroot/sys/class/misc/hpage_map"* \
	"$noroot/dev/hpage_map"*
empty=$tmp/empty		# no huge page support at all
mkdir -p "$empty"

fail() {
	echo "FAILED: $*"
	echo "--- stdout:"; cat "$tmp/out"
	echo "--- stderr:"; cat "$tmp/err"
	fails=$((fails + 1))
}

# t STATUS CMD...: run, expect the exit status
t() {
	local want=$1 got
	shift
	count=$((count + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[[ $got == "$want" ]] || fail "$* exited $got, expected $want"
	# sanitizer reports go to stderr
	if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$tmp/err"; then
		fail "$*: sanitizer report"
	fi
}

# has out|err TEXT: the last command's stdout/stderr contains TEXT
has() {
	count=$((count + 1))
	grep -qF -- "$2" "$tmp/$1" || fail "std$1 lacks '$2'"
}
hasnt() {
	count=$((count + 1))
	! grep -qF -- "$2" "$tmp/$1" || fail "std$1 has '$2'"
}

json_get() {	# json_get EXPR: python expression on the parsed stdout `j`
	python3 -c "import json,sys; j=json.load(open('$tmp/out')); print($1)"
}

# --- help and usage ---------------------------------------------------
t 0 "$cli" --help
has out "Usage: hpage-map [GLOBAL OPTIONS] COMMAND [OPTIONS]"
has out "Exit status: 0 success, 1 data mismatch, 2 usage error, 3 other"
t 0 "$cli" --version
has out "hpage-map "
for c in info pools list fill verify share phys export create remove load unload; do
	t 0 "$cli" "$c" --help
	has out "Usage: hpage-map [GLOBAL OPTIONS] $c"
	t 0 "$cli" help "$c"
	has out "Usage: hpage-map [GLOBAL OPTIONS] $c"
	t 2 "$cli" "$c" --no-such-option
	has err "Try 'hpage-map $c --help'."
	[[ $c == remove ]] && continue
	t 2 "$cli" "$c" extra-operand
	has err "unexpected argument 'extra-operand'"
done
t 2 "$cli"
has err "Usage: hpage-map"
t 2 "$cli" frobnicate
has err "hpage-map: unknown command 'frobnicate'"
t 2 "$cli" help frobnicate
t 2 "$cli" fill --offset 12Q
has err "hpage-map: fill: invalid offset '12Q'"
t 2 "$cli" verify --length -1
has err "invalid length '-1'"
t 2 "$cli" fill --pattern purple
has err "invalid pattern 'purple': offset, zero, byte:V or seed:N"
t 2 "$cli" load --nr-pages 0
has err "--nr-pages needs a number"
t 2 "$cli" export --pattern zero

# --- info and pools from a fake sysfs ----------------------------------
t 0 "$cli" --sysroot "$root" info
has out "hpage_map: 16 MiB buffer of 8 x 2 MiB huge pages, NUMA node 0"
has out "  in use:     2 mappings, 1 open file"
has out "    2 MiB     1       32       32        -        0     64 MiB"
has out "    1 GiB   all        2        2        0        0      2 GiB"
t 0 env HPAGEMAP_SYSROOT="$root" "$cli" info --json
[[ $(json_get 'j["buffer"]["size"], j["buffer"]["source"], j["device"]["accessible"], len(j["pools"])') == \
	"16777216 sysfs False 6" ]] || fail "info --json: $(json_get 'j["buffer"]')"
t 0 "$cli" --sysroot "$root" pools
has out "     Size  Node    Total     Free Reserved  Surplus     Memory  Default"
has out "    2 MiB   all       64       48        2        0    128 MiB  *"
hasnt out "hpage_map"
t 0 "$cli" --sysroot "$root" pools --json
[[ $(json_get 'j["default_page_size"], [p["node"] for p in j["pools"]]') == \
	"2097152 [None, 0, 1, None, 0, 1]" ]] || fail "pools --json"

# --- several buffers -------------------------------------------------
t 0 "$cli" --sysroot "$root" list
has out " ID  Device                  Size Page size  Pages   Node  Users: fds/mappings/dma-bufs"
has out "  1  /dev/hpage_map1        8 MiB     2 MiB      4      1  2/1/0"
has out "  3  /dev/hpage_map3        1 GiB     1 GiB      1 spread  0/0/0"
hasnt out "control"
t 0 "$cli" --sysroot "$root" list --json
[[ $(json_get 'j["loaded"], [b["id"] for b in j["buffers"]], j["buffers"][2]["device"], j["buffers"][0]["dma_bufs"]') == \
	"True [0, 1, 3] /dev/hpage_map3 3" ]] || fail "list --json"
# --device: an id or a path, global or after the command
t 0 "$cli" --sysroot "$root" info --device 3
has out "hpage_map: 1 GiB buffer of 1 x 1 GiB huge pages, spread over NUMA nodes"
has out "  device:     /dev/hpage_map3  char 0:0"
has out "  parameters: nr_pages=? page_size=?"
t 0 "$cli" --sysroot "$root" -d /dev/hpage_map1 info --json
[[ $(json_get 'j["buffer"]["id"], j["buffer"]["size"], j["module"]["parameters"]["nr_pages"], j["device"]["path"]') == \
	"1 8388608 4 /dev/hpage_map1" ]] || fail "info --json --device 1: $(json_get 'j["buffer"]')"
t 0 "$cli" --sysroot "$root" info -d 0
has out "  device:     /dev/hpage_map  char 0:0"
t 3 "$cli" --sysroot "$root" info --device 2
has err "hpage-map: info: cannot open /dev/hpage_map2: the hpage_map module has no buffer 2: \`hpage-map list\` shows the buffers there are"
t 3 "$cli" --sysroot "$root" fill --device 2
has err "the hpage_map module has no buffer 2"
t 3 "$cli" --sysroot "$root" verify --device 3
has err "hpage-map: verify: cannot open /dev/hpage_map3: /dev/hpage_map3 is missing although the hpage_map module is loaded: without devtmpfs or udev, create it:  mknod /dev/hpage_map3 c 10 121"
for c in share phys export; do
	t 3 "$cli" --sysroot "$root" "$c" --device 2
	has err "hpage-map: $c: cannot open /dev/hpage_map2: the hpage_map module has no buffer 2"
done
t 3 "$cli" --sysroot "$noroot" export -d 1
has err "hpage-map: export: cannot open /dev/hpage_map1: /dev/hpage_map1 does not exist: the hpage_map module is not loaded."
t 3 "$cli" --device "$tmp/nonexistent7" fill
has err "cannot open $tmp/nonexistent7: $tmp/nonexistent7 does not exist"
hasnt err "not loaded"
# create and remove: usage first, then what the kernel would say
t 2 "$cli" create
has err "hpage-map: create: --nr-pages N is required"
t 2 "$cli" create --nr-pages 0
has err "--nr-pages needs a number of huge pages, at least 1"
t 2 "$cli" create --nr-pages 2 --node -1
has err "--node needs a NUMA node number"
t 2 "$cli" create --nr-pages 2 --page-size 2Q
has err "invalid page size '2Q'"
t 2 "$cli" remove
has err "hpage-map: remove: which buffer? remove ID (see: hpage-map list)"
t 2 "$cli" remove hpage_map1
has err "'hpage_map1' is no buffer: an id (0, 1, ...) or its device, /dev/hpage_mapN"
t 2 "$cli" remove /dev/hpage_map01
t 2 "$cli" remove 1 2
has err "unexpected argument '2'"
t 3 "$cli" --sysroot "$noroot" create --nr-pages 4 --node 1
has err "hpage-map: create: the hpage_map module is not loaded."
has err "Load it (as root):  modprobe hpage_map"
t 3 "$cli" --sysroot "$noroot" remove /dev/hpage_map3
has err "hpage-map: remove: the hpage_map module is not loaded."
t 3 "$cli" --sysroot "$noroot" list
has err "hpage-map: list: the hpage_map module is not loaded."
t 3 "$cli" --sysroot "$noroot" list --json
[[ $(json_get 'j["loaded"], j["buffers"]') == "False []" ]] || fail "list --json, not loaded"
# every buffer removed: an empty list is no error
mkdir -p "$tmp/nobufs/sys/module/hpage_map"
t 0 "$cli" --sysroot "$tmp/nobufs" list
has out "hpage_map has no buffers (all removed); \`hpage-map create --nr-pages N\` adds one"

# --- the udev rule: every buffer to group hpage, never the control device --
rules=$(dirname "$0")/../udev/60-hpage-map.rules
count=$((count + 1))
mapfile -t pats < <(sed -n 's/^[^#]*KERNEL=="\([^"]*\)".*GROUP="hpage".*/\1/p' "$rules")
udev_match() {	# udev_match NAME: a GROUP="hpage" rule's KERNEL glob matches
	local p
	for p in "${pats[@]}"; do
		# shellcheck disable=SC2053 # the pattern is a glob on purpose
		[[ $1 == $p ]] && return 0
	done
	return 1
}
for n in hpage_map hpage_map1 hpage_map7 hpage_map12; do
	udev_match "$n" || fail "udev rule: $n does not get group hpage (${pats[*]})"
done
for n in hpage_map-control hpage_mapx fuse; do
	! udev_match "$n" || fail "udev rule: $n gets group hpage (${pats[*]})"
done

# --- module not loaded ------------------------------------------------
t 3 "$cli" --sysroot "$noroot" info
has out "hpage_map: module not loaded"
has out "    2 MiB   all       64       48        2        0    128 MiB  *"
has err "hpage-map: info: cannot open /dev/hpage_map: /dev/hpage_map does not exist: the hpage_map module is not loaded."
has err "Load it (as root):  modprobe hpage_map nr_pages=8 page_size=2M"
has err "or:  hpage-map load --nr-pages 8 --page-size 2M"
hasnt err "grow"
t 3 "$cli" --sysroot "$noroot" info --json
[[ $(json_get 'j["module"]["loaded"], j["buffer"], len(j["pools"])') == "False None 6" ]] ||
	fail "info --json, not loaded"
t 0 "$cli" --sysroot "$noroot" unload
has out "hpage_map is not loaded"

# --- pool too small ---------------------------------------------------
t 3 "$cli" --sysroot "$noroot" load --nr-pages 100
has err "hpage-map: load: the 2 MiB huge page pool is too small: 46 free, 100 needed"
has err "Grow it (as root):  echo 118 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
t 3 "$cli" --sysroot "$noroot" load --nr-pages 3 --page-size 1G
has err "echo 3 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"
has err "1 GiB pages are best reserved at boot: kernel command line  hugepagesz=1G hugepages=N"
t 3 "$cli" --sysroot "$noroot" load --page-size 4M
has err "this kernel has no 4 MiB huge pages"
t 3 "$cli" --sysroot "$root" load
has err "hpage_map is already loaded; unload it first:  hpage-map unload"
# the pool check of the not-loaded message: fewer than 8 free
sed -i 's/.*/3/' "$noroot/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
t 3 "$cli" --sysroot "$noroot" fill
has err "the hpage_map module is not loaded"
has err "But first grow the 2M huge page pool, which has fewer than 8 free pages:  echo 71 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

# --- no huge pages at all, odd devices ---------------------------------
t 3 "$cli" --sysroot "$empty" pools
has err "this kernel has no huge page support"
t 3 "$cli" --device "$tmp/nonexistent" verify
has err "hpage-map: verify: cannot open $tmp/nonexistent: $tmp/nonexistent does not exist"
t 3 "$cli" --device /dev/null fill
has err "hpage-map: fill: cannot open /dev/null: /dev/null is not an hpage_map device"
t 3 "$cli" --device /dev/null info

echo "cli-host: $count checks, $fails failed"
((fails == 0))
