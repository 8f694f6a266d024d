# shellcheck shell=sh
# Guest profiles, the one place that says what each boot looks like.
# Sourced by the host (run-vm: QEMU arguments, kernel command line) and by
# the guest's /init (hugepage pool, the HPM_* variables the tests read), so it
# must stay plain POSIX sh for busybox.

HPM_PROFILES="default 1g numa disk swiotlb movable devices devices1g"	# the tests'; "bench" is make bench's

# hpm_profile NAME: set the PROFILE_* and HPM_* variables for NAME.
# The disk and bench profiles attach $HPM_DISK, which the host sets first.
hpm_profile() {
	PROFILE_MEM=1024	# MiB
	PROFILE_QEMU=		# extra QEMU arguments
	PROFILE_CMDLINE=	# extra kernel command line
	PROFILE_POOL_2M=64	# 2M pages PID 1 puts in the pool
	HPM_PAGE_SIZE=2M	# what the tests load the module with
	HPM_NR_PAGES=8
	PROFILE_NEEDS=		# kernel options (=y or =m) without which the
				# profile's tests can only skip: no boot then
	case $1 in
	default) ;;
	1g)	# 1G pages can only be had at boot; runtime allocation fails
		PROFILE_MEM=6144
		PROFILE_CMDLINE="hugepagesz=1G hugepages=2"
		HPM_PAGE_SIZE=1G
		HPM_NR_PAGES=2 ;;
	numa)	# one socket per node: plain -smp 2 warns about topology on 6.12
		PROFILE_QEMU="-smp 2,sockets=2,cores=1,threads=1
			-object memory-backend-ram,id=mem0,size=512M
			-object memory-backend-ram,id=mem1,size=512M
			-numa node,nodeid=0,cpus=0,memdev=mem0
			-numa node,nodeid=1,cpus=1,memdev=mem1" ;;
	disk)
		PROFILE_QEMU="-drive file=$HPM_DISK,format=raw,if=virtio" ;;
	swiotlb)	# every streaming DMA mapping bounced, 256 KiB at most each
		PROFILE_CMDLINE="swiotlb=force" ;;
	movable)	# a ZONE_MOVABLE smaller than the pool: the pool's pages
		# come from it first, the rest from ZONE_NORMAL
		PROFILE_CMDLINE="movablecore=64M" ;;
	devices|devices1g)	# q35 with an emulated Intel IOMMU (its
		# interrupt remapping too: VFIO wants it) and QEMU's edu, a PCI
		# DMA engine, its DMA mask widened to the IOMMU's 39 bits.
		# no_timer_check: with interrupt remapping, a boot whose timer
		# ticks come late (TCG on a loaded host) panics in check_timer()
		# ("timer doesn't work through Interrupt-remapped IO-APIC")
		# instead of trying the fallbacks; KVM guests skip it too.
		# kernel-irqchip=split: under KVM, QEMU refuses interrupt
		# remapping with the in-kernel IOAPIC (TCG ignores the option)
		PROFILE_QEMU="-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on
			-device edu,dma_mask=0x7fffffffff"
		PROFILE_CMDLINE="intel_iommu=on no_timer_check"
		PROFILE_NEEDS="CONFIG_INTEL_IOMMU CONFIG_VFIO_PCI CONFIG_VFIO_IOMMU_TYPE1"
		if [ "$1" = devices1g ]; then
			PROFILE_MEM=6144
			PROFILE_CMDLINE="$PROFILE_CMDLINE hugepagesz=1G hugepages=2"
			HPM_PAGE_SIZE=1G
			HPM_NR_PAGES=2
		fi ;;
	bench)	# methods 3-6 of hpage-bench hold 1G of 2M pages each at once;
		# the debugging options run-vm sets are turned back off; with
		# HPM_ICOUNT, guest time counts instructions (deterministic);
		# edu behind the IOMMU, as in the devices profile, for VFIO's
		# pinning (no_timer_check: see there)
		PROFILE_MEM=6144
		PROFILE_POOL_2M=2100
		PROFILE_CMDLINE="slub_debug=- page_poison=0 intel_iommu=on no_timer_check"
		PROFILE_QEMU="-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on
			-device edu,dma_mask=0x7fffffffff
			-drive file=$HPM_DISK,format=raw,if=virtio,readonly=on
			${HPM_ICOUNT:+-icount shift=0,sleep=off}" ;;
	*)	return 1 ;;
	esac
}
