#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# compat.sh SRCTREE: the importer's -D flags for this kernel's headers
srctree=$1
has() { tr '\n' ' ' <"$srctree/$1" | grep -Eq "$2" && printf ' %s' "$3"; }
# 6.2 added the *_unlocked calls, which take the reservation lock (Debian's
# 6.1 has the map ones only)
has include/linux/dma-buf.h 'dma_buf_map_attachment_unlocked\(' -DHPMI_HAVE_MAP_UNLOCKED
has include/linux/dma-buf.h 'dma_buf_vmap_unlocked\(' -DHPMI_HAVE_VMAP_UNLOCKED
# 6.13 takes the namespace as a string literal
has include/linux/module.h \
	'define MODULE_IMPORT_NS\(ns\)[[:space:]]+MODULE_INFO\(import_ns, __stringify\(ns\)\)' \
	-DHPMI_IMPORT_NS_STRINGIFY
echo
