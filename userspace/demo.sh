#!/bin/sh
# demo.sh - what `make demo` shows, run as root inside the demo guest
# (busybox sh) or on any machine with the module installed.
#
# The system's huge page pool before and after `modprobe hpage_map`, the
# buffer (`hpage-map info`), two processes sharing it (`hpage-map share`),
# a dma-buf export that keeps the module from unloading, the unload and
# the pool once more.  Every command is printed before it runs.
#
# Environment: HPM_PAGE_SIZE (default 2M), HPM_NR_PAGES (default 8),
# HPAGE_MAP (the CLI, default: hpage-map in PATH, else /usr/bin/hpage-map).
# Exit status: 0 if every step did what it should.

PATH=$PATH:/usr/bin:/usr/local/bin:/sbin:/usr/sbin
page_size=${HPM_PAGE_SIZE:-2M}
nr_pages=${HPM_NR_PAGES:-8}
cli=${HPAGE_MAP:-$(command -v hpage-map || echo /usr/bin/hpage-map)}
failed=0

title() {
	printf '\n==> %s\n' "$*"
}

# run CMD...: show it, run it, note a failure
run() {
	printf '$ %s\n' "$*"
	"$@" || { echo "(exit status $?)"; failed=1; }
}

hpage_map() {
	printf '$ hpage-map %s\n' "$*"
	"$cli" "$@" || { echo "(exit status $?)"; failed=1; }
}

if [ ! -x "$cli" ]; then
	echo "demo: no hpage-map CLI ($cli)" >&2
	exit 1
fi
if [ -d /sys/module/hpage_map ]; then
	echo "demo: unloading the hpage_map module loaded before the demo"
	rmmod hpage_map || exit 1
fi

title "The system's huge page pools before the module is loaded"
hpage_map pools

title "Load the module: it takes $nr_pages pages of $page_size from the pool"
run modprobe hpage_map nr_pages="$nr_pages" page_size="$page_size"
[ -c /dev/hpage_map ] || { echo "demo: no /dev/hpage_map"; exit 1; }
hpage_map pools

title "The buffer"
hpage_map info

title "Data outlives the process that wrote it"
hpage_map fill --pattern seed:2024
hpage_map verify --pattern seed:2024

title "Two independent processes share the same huge pages"
hpage_map share

title "Export the buffer as a dma-buf; while it lives the module cannot go"
printf '$ hpage-map export --exec "rmmod hpage_map"\n'
"$cli" export --exec 'rmmod hpage_map'
status=$?
if [ "$status" -eq 0 ] || [ ! -d /sys/module/hpage_map ]; then
	echo "demo: rmmod should have been refused while the dma-buf lived"
	failed=1
else
	echo "(rmmod was refused, as it should be: exit status $status)"
fi

title "Unload: every page goes back to the pool"
run rmmod hpage_map
hpage_map pools

echo
if [ "$failed" = 0 ]; then
	echo "demo: done"
else
	echo "demo: some step failed"
fi
exit "$failed"
