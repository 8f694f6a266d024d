#!/bin/bash
# cli-host.sh CLI UNIT-TESTS TMPDIR: the hpage-map tests that need no module.
#
# Runs the (sanitizer-built) CLI against fake sysfs trees that UNIT-TESTS
# --make-sysroot creates: help texts, usage errors (exit 2), info and pools
# in text and JSON, the module-not-loaded and pool-too-small messages
# (exit 3), a device that is not hpage_map's.  The rest needs the module:
# tests/cli_*.c in the QEMU guest.
set -uo pipefail
cli=$1 unit=$2 tmp=$3
fails=0 count=0

rm -rf "$tmp"
mkdir -p "$tmp"
root=$tmp/root			# hpage_map loaded: 8 x 2 MiB on node 0
"$unit" --make-sysroot "$root" || exit 2
noroot=$tmp/unloaded		# the same machine, module not loaded
cp -a "$root" "$noroot"
rm -rf "$noroot/sys/module/hpage_map" "$noroot/sys/class/misc/hpage_map" \
	"$noroot/dev/hpage_map"
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
for c in info pools fill verify share phys export load unload; do
	t 0 "$cli" "$c" --help
	has out "Usage: hpage-map [GLOBAL OPTIONS] $c"
	t 0 "$cli" help "$c"
	has out "Usage: hpage-map [GLOBAL OPTIONS] $c"
	t 2 "$cli" "$c" --no-such-option
	has err "Try 'hpage-map $c --help'."
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
