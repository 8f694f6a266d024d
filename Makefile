# hpage-map: build, test and lint. Everything generated goes under build/.
#
#   make deps                 install what a Debian 12 machine needs (root),
#                             and the kernel set (tests/kernel-set fetch)
#   make kernels              the kernel set: version, release, tier, root
#   make modules [KVER=..]    build/<kver>/hpage_map.ko for each kernel
#   make check [KVER=..] [TESTS="smoke .."] [PROFILES="default .."] [ACCEL=tcg|kvm]
#                             DKMS-install the driver, run the tests in QEMU
#                             (and, without TESTS, user space's host tests);
#                             without KVER and TESTS, each kernel of the set
#                             gets its tier's tests
#   make check-debug [TESTS=..] [PROFILES=..]
#                             the same on the debug kernel (KASAN, lockdep,
#                             kmemleak, fault injection: tests/debug-kernel/,
#                             built once, ~15-20 min, cached); KERNEL=debug
#                             picks it wherever a kernel is picked (check,
#                             shell, demo, modules, lint; bench refuses it)
#   make lint                 checkpatch, sparse, W=1, cppcheck: zero findings
#   make shell [KVER=..]      a guest shell with the module loaded
#   make demo [KVER=..]       the module and its CLI at work in a guest
#                             (default: the host's newest Debian 12 kernel)
#   make bench [KVER=..] [ICOUNT=1] [PARTS=..]
#                             userspace/bench/hpage-bench in a guest per
#                             kernel (default: the full tier's), report in
#                             bench/<kver>.md (ICOUNT=1:
#                             QEMU -icount, guest time counts instructions;
#                             PARTS=pin,...: those parts of hpage-bench -p,
#                             bench/<kver>[-icount]-<parts>.md)
#   make install [KVER=..] [DESTDIR=] [PREFIX=/usr/local]
#                             DKMS source in /usr/src and, without DESTDIR,
#                             dkms add/build/install for KVER (default: the
#                             running kernel); user space (userspace/Makefile)
#   make uninstall            the reverse (the module unloaded if unused;
#                             the group "hpage" stays)
#   make deb                  Debian packages (debian/) in build/deb/, lintian
#                             clean: hpage-map-dkms, hpage-map, libhpagemap0,
#                             libhpagemap-dev
#   make check-deb            those packages installed, used and purged in
#                             chroots of Debian 12, 13 and unstable
#   make check-system         a Debian 13 system with them booted in QEMU:
#                             hpage-map.service, udev, users in and out of
#                             group hpage, a reboot, a kernel upgrade, apt
#                             purge, make install / uninstall (~20 min)
#   make check-system-quick   its first boot, a reboot and apt purge (CI)
#   make clean

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
BUILD := build

# The kernels themselves come from tests/kernel-set (Debian 12's on this
# host, newer releases' in roots of their own it makes with debootstrap).
# What tests/debug-kernel/build needs (CI installs it first, to start that
# build while the rest downloads).
DEBUG_KERNEL_DEPS := linux-source-6.12 bison flex bc libelf-dev libssl-dev gcc make \
	xz-utils
DEPS := qemu-system-x86 busybox-static kmod cpio dkms debootstrap \
	linux-source-6.1 liburing-dev libibverbs-dev sparse cppcheck libc6-dev perl groff-base \
	$(DEBUG_KERNEL_DEPS)

# The kernel set (tests/kernel-set list: "KVER RELEASE ROOT TIER" lines).
# Recursively expanded: `check` and `shell` read it after `deps` ran.
KERNEL_SET := tests/kernel-set
kernel_set = $(shell $(KERNEL_SET) list 2>/dev/null | awk '$(1) { print $$1 }')
SUPPORTED_KVERS = $(call kernel_set,1)
# demo and shell: the host's newest Debian 12 amd64 kernel, quick to reach
HOST_KVER = $(lastword $(call kernel_set,$$3 == "/" && $$1 !~ /-rt-amd64$$/))
# KERNEL=debug: the debug kernel instead (tests/debug-kernel/build builds it
# once, from linux-source-6.12, the packages above). The guests' side
# (tests/guest/check) takes the name "debug"; modules and lint need its
# release, which the build script's tree gives.
debug_kver = $(shell tree=$$(tests/debug-kernel/build) && \
	cat "$$tree/include/config/kernel.release")
KVERS = $(if $(filter debug,$(KERNEL)),$(debug_kver),$(or $(KVER),$(SUPPORTED_KVERS)))
GUEST_KVERS = $(if $(filter debug,$(KERNEL)),debug,$(KVERS))
SHELL_KVER = $(if $(filter debug,$(KERNEL)),debug,$(or $(KVER),$(HOST_KVER)))

# The selection goes to tests/guest/check as given (empty: everything; and
# then, unless KVER names the kernels, each kernel gets its tier's tests).
export TESTS PROFILES ACCEL
export HPM_TIERS := $(if $(TESTS)$(KVER),,1)
TEST_BINS = $(addprefix $(BUILD)/tests/,$(or $(TESTS),$(patsubst tests/%.c,%,$(wildcard tests/*.c))))
TEST_CFLAGS := -O2 -g -static -pthread -Wall -Wextra -Werror \
	-isystem $(BUILD)/kselftest -isystem $(BUILD)/kernel-uapi -Iuapi -Itests

# Pieces of the kernel source, from Debian's linux-source tarball: what the
# tests include (the kernel's uapi drm/ headers are not in linux-libc-dev;
# drm.h stands for the directory) and what lint runs.
LINUX_SOURCE := /usr/src/linux-source-6.1.tar.xz
TEST_HEADERS := $(BUILD)/kselftest/kselftest_harness.h $(BUILD)/kselftest/kselftest.h \
	$(BUILD)/kernel-uapi/drm/drm.h
CHECKPATCH := $(BUILD)/checkpatch/checkpatch.pl $(BUILD)/checkpatch/spelling.txt \
	$(BUILD)/checkpatch/const_structs.checkpatch

.PHONY: all deps deps-packages deps-debug-kernel kernels modules userspace check check-run check-debug lint shell demo bench \
	install uninstall dkms-source deb check-deb check-system check-system-quick clean
all: modules

deps: deps-packages
	@$(KERNEL_SET) fetch

deps-debug-kernel:
	@$(MAKE) --no-print-directory deps-packages DEPS="$(DEBUG_KERNEL_DEPS)"

# The host's own packages only.
deps-packages:
	@pkgs="$(DEPS)"; \
	have=$$(dpkg-query -W -f='$${db:Status-Abbrev}$${Package}\n' $$pkgs 2>/dev/null | \
		sed -n 's/^ii *//p' || true); \
	missing=$$(for p in $$pkgs; do grep -qx "$$p" <<<"$$have" || echo "$$p"; done); \
	if [[ $$missing ]]; then \
		echo "deps: installing" $$missing; \
		mkdir -p $(BUILD); \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends $$missing; } \
			>$(BUILD)/deps.log 2>&1 || { tail -n 20 $(BUILD)/deps.log; exit 1; }; \
	fi

kernels:
	@$(KERNEL_SET) table

# $(call kbuild,KVER,DIR,ARGS): build the module in DIR/src (tests/kbuild:
# in KVER's root when it has one)
kbuild = tests/kbuild $(1) $(2) $(3)

modules:
	@kvers="$(KVERS)"; [[ $$kvers ]] || { echo "modules: no kernel to build for" >&2; exit 1; }; \
	for k in $$kvers; do \
		$(call kbuild,$$k,$(BUILD)/$$k,); \
		cp $(BUILD)/$$k/src/driver/hpage_map.ko $(BUILD)/$$k/; \
	done

# One pass over the tarball (~10 s); -m: extracted files are newer than it.
# The sed is the part of the kernel's headers_install.sh that drm/ needs.
$(TEST_HEADERS) $(CHECKPATCH) &:
	mkdir -p $(BUILD)
	tar -xmJf $(LINUX_SOURCE) -C $(BUILD) --wildcards \
		--transform='s,^[^/]*/tools/testing/selftests/,kselftest/,;s,^[^/]*/scripts/,checkpatch/,;s,^[^/]*/include/uapi/,kernel-uapi/,' \
		'*/tools/testing/selftests/kselftest*.h' '*/include/uapi/drm/*' \
		$(patsubst $(BUILD)/checkpatch/%,'*/scripts/%',$(CHECKPATCH))
	sed -E -i 's/([[:space:](])(__user|__force|__iomem)[[:space:]]/\1/g' \
		$(BUILD)/kernel-uapi/drm/*.h

# A test names extra libraries (or library sources) in a comment line
# "hpage-map-libs: -luring".
# -isystem: 6.1's kselftest_harness.h is not -Wextra clean (unused parameters).
$(BUILD)/tests/%: tests/%.c $(TEST_HEADERS) $(wildcard tests/*.h tests/importer/*.h uapi/*.h userspace/lib/*.[ch])
	@mkdir -p $(@D)
	gcc $(TEST_CFLAGS) -o $@ $< $$(sed -n 's/.*hpage-map-libs://p' $<)

check: deps
	@$(MAKE) --no-print-directory check-run

# User space has its own Makefile; the guest ships its static CLI.
userspace:
	@$(MAKE) --no-print-directory -C userspace O=$(abspath $(BUILD))/userspace

check-run: $(TEST_BINS) userspace
	tests/guest/check $(GUEST_KVERS)

check-debug:
	@$(MAKE) --no-print-directory check KERNEL=debug

shell: deps
	@$(MAKE) --no-print-directory $(TEST_BINS) userspace
	tests/guest/check --shell $(SHELL_KVER)

# The newest supported kernel, and the demo's.
demo: deps
	@$(MAKE) --no-print-directory userspace
	tests/guest/check --demo $(SHELL_KVER)

# The guest's benchmark; bench/ keeps its reports (they go in the README).
BENCH := $(BUILD)/bench/hpage-bench
# Static, with libibverbs and its rxe provider for ibv_reg_mr (as tests/dma_rdma).
$(BENCH): userspace/bench/hpage-bench.c uapi/hpage_map.h tests/devices.h
	@mkdir -p $(@D)
	gcc -O2 -g -static -pthread -Wall -Wextra -Werror -Iuapi -Itests -o $@ $< \
		-libverbs -lrxe-rdmav34 -libverbs -lnl-route-3 -lnl-3

# Not on the debug kernel: KASAN makes its numbers meaningless, and its
# shadow memory does not leave the bench guest room for 1 GiB per method
# (the OOM killer ends hpage-bench).
bench: deps
	@if [[ "$(KERNEL)" == debug ]]; then \
		echo "bench: not on the debug kernel (its numbers mean nothing);" \
			"run make bench for Debian's kernels" >&2; exit 2; fi
	@$(MAKE) --no-print-directory $(BENCH) userspace
	HPM_ICOUNT=$(filter 1,$(ICOUNT)) HPM_BENCH_PARTS=$(PARTS) tests/guest/check --bench \
		$(or $(KVER),$(call kernel_set,$$4 == "full"))

# DKMS keeps its source tree in /usr/src/<name>-<version>: what a package
# ships. Without DESTDIR the module is also built and installed for KVER.
DKMS_NAME := hpage-map
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SRC := /usr/src/$(DKMS_NAME)-$(DKMS_VERSION)
INSTALL_KVER = $(or $(KVER),$(shell uname -r))

# DKMS_HOOKS: kernel-hook/hpage-map builds the module for each kernel
# installed later (dkms.conf has no AUTOINSTALL: see the hook).
DKMS_HOOKS := /etc/kernel/postinst.d/hpage-map /etc/kernel/header_postinst.d/hpage-map

# The DKMS source tree alone, staged under DESTDIR (debian/rules uses it).
dkms-source:
	rm -rf $(DESTDIR)$(DKMS_SRC)
	install -d $(DESTDIR)$(DKMS_SRC)
	cp -r dkms.conf driver uapi $(DESTDIR)$(DKMS_SRC)/

# Over an installed copy (a git pull, then make install) DKMS must forget
# the version first: `dkms add` refuses a version it already has, and the
# build it has is of the old sources.
install: userspace
ifeq ($(DESTDIR),)
	! dkms status -m $(DKMS_NAME) -v $(DKMS_VERSION) | grep -q . || \
		dkms remove -m $(DKMS_NAME) -v $(DKMS_VERSION) --all
endif
	$(MAKE) --no-print-directory dkms-source
	for h in $(DKMS_HOOKS); do install -D -m 755 kernel-hook/hpage-map $(DESTDIR)$$h; done
ifeq ($(DESTDIR),)
	dkms add -m $(DKMS_NAME) -v $(DKMS_VERSION)
	dkms build -m $(DKMS_NAME) -v $(DKMS_VERSION) -k $(INSTALL_KVER)
	dkms install -m $(DKMS_NAME) -v $(DKMS_VERSION) -k $(INSTALL_KVER)
endif
	$(MAKE) --no-print-directory -C userspace install O=$(abspath $(BUILD))/userspace

# The module is unloaded when nothing uses it (a loaded one keeps running
# code whose files are gone); the group stays, as Debian's packages leave
# theirs: files and users may still carry its id.
uninstall:
	$(MAKE) --no-print-directory -C userspace uninstall O=$(abspath $(BUILD))/userspace
ifeq ($(DESTDIR),)
	if [[ -d /sys/module/hpage_map ]]; then \
		modprobe -r hpage_map 2>/dev/null && echo "uninstall: hpage_map unloaded" || \
		echo "uninstall: hpage_map is in use and stays loaded until" \
			"its users go (hpage-map unload names them)"; \
	fi
	! dkms status -m $(DKMS_NAME) -v $(DKMS_VERSION) | grep -q . || \
		dkms remove -m $(DKMS_NAME) -v $(DKMS_VERSION) --all
endif
	rm -rf $(DESTDIR)$(DKMS_SRC) $(addprefix $(DESTDIR),$(DKMS_HOOKS))

# Debian packages (debian/): built from a copy of the tree's files (tracked
# and new, not ignored) in $(BUILD)/deb/, so that nothing is written into
# the tree; the .debs, .changes and lintian's report land in $(BUILD)/deb/.
DEB_DIR := $(BUILD)/deb
DEB_BUILD_DEPS := debhelper dh-dkms dpkg-dev fakeroot lintian
deb:
	@$(MAKE) --no-print-directory deps-packages DEPS="$(DEB_BUILD_DEPS)"
	tests/host/version
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	git ls-files -co --exclude-standard -z | grep -zv '^$(BUILD)/' | \
		xargs -0 cp -P --parents -t $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
		{ tail -n 30 ../build.log; exit 1; }
	lintian --fail-on error,warning $(DEB_DIR)/*.changes | tee $(DEB_DIR)/lintian.log
	@ls $(DEB_DIR)/*.deb

# The packages installed, used for two kernels and purged, in chroots of
# Debian 12, 13 and unstable (tests/system/check-deb).
check-deb: deb
	tests/system/check-deb $(DEB_DIR)

# A Debian 13 system with systemd and udev, the packages installed, booted
# in QEMU (TCG) five times (tests/system/boot-check): the boot loads the
# buffer, udev, users in and out of the group, a reboot, trixie-backports'
# kernel installed in the guest and booted, apt purge, make install, the
# pool from sysctl.d, a boot without a pool, make uninstall (~20 min).
# check-system-quick (CI's, ~4 min): the first boot, a reboot, apt purge.
SYSTEM_KVER = $(firstword $(call kernel_set,$$2 == "trixie" && $$4 == "full" && $$1 !~ /-rt-amd64$$/))
check-system check-system-quick: deb
	@[[ -n "$(SYSTEM_KVER)" ]] || { echo "$@: no Debian 13 kernel (make deps)" >&2; exit 1; }
	HPM_SYSTEM_OUT=$(abspath $(BUILD))/system tests/system/boot-check \
		$$($(KERNEL_SET) root $(SYSTEM_KVER)) $(DEB_DIR) $(SYSTEM_KVER) \
		$(if $(filter check-system,$@),--upgrade)

LINT_SOURCES := $(wildcard driver/*.[ch] uapi/*.h tests/importer/*.[ch])
# Not ours: the kernel's headers in $(BUILD). Not our style: kernel style
# declares variables at the top of a block (variableScope).
CPPCHECK_SUPPRESS := '--suppress=*:$(BUILD)/*' --suppress=variableScope
# Runs every linter, then fails if any found something.
lint: $(CHECKPATCH) $(TEST_HEADERS) $(TEST_BINS)
	@status=0; mkdir -p $(BUILD)/lint; \
	[[ -n "$(KVERS)" ]] || { echo "lint: no kernel to build for"; status=1; }; \
	echo "lint: checkpatch --strict"; \
	perl $(BUILD)/checkpatch/checkpatch.pl --strict --no-tree --quiet -f $(LINT_SOURCES) || \
		status=1; \
	for k in $(KVERS); do \
		echo "lint: sparse (C=1) and W=1 for $$k (driver, tests/importer)"; \
		for m in driver tests/importer; do \
			out=$(BUILD)/lint/$$k-$${m##*/}; \
			if ! (HPM_KBUILD_MODULE=$$m $(call kbuild,$$k,$$out,C=1 W=1)) >$$out.log 2>&1; then \
				cat $$out.log; status=1; \
			elif grep -E 'warning:|error:' $$out.log; then \
				status=1; \
			fi; \
		done; \
	done; \
	echo "lint: cppcheck tests"; \
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem $(CPPCHECK_SUPPRESS) \
		-I$(BUILD)/kselftest -I$(BUILD)/kernel-uapi -Iuapi -Itests -itests/importer tests || \
		status=1; \
	echo "lint: one version (tests/host/version)"; \
	tests/host/version || status=1; \
	echo "lint: user space (its own lint)"; \
	$(MAKE) --no-print-directory -C userspace lint O=$(abspath $(BUILD))/userspace || \
		status=1; \
	exit $$status

clean:
	rm -rf $(BUILD)
