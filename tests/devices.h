/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devices.h - the guest's DMA devices made ready, for the tests and for
 * hpage-bench: QEMU's edu PCI device bound to vfio-pci in a type1
 * container, and rxe0, soft RoCE (rdma_rxe) over the netdev dummy0.
 *
 * Plain C with no test harness; every function returns 0 (or what it
 * names) or -errno.  Include <linux/vfio.h> first for the VFIO helpers.
 */
#ifndef HPM_DEVICES_H
#define HPM_DEVICES_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8

#define RXE_DEV		"rxe0"
#define RXE_NETDEV	"dummy0"

static inline int dev_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* A PCI device's sysfs file holding a hexadecimal number ("0x1234"). */
static inline int pci_read_hex(const char *bdf, const char *attr, unsigned long *v)
{
	char path[320];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fscanf(f, "%lx", v) == 1;
	fclose(f);
	return ok ? 0 : -EIO;
}

/* The PCI address of the edu device, from sysfs; 0 or -ENODEV. */
static inline int edu_find(char *bdf, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int ret = -ENODEV;

	if (!d)
		return -errno;
	while (ret && (e = readdir(d))) {
		unsigned long vendor, device;

		if (e->d_name[0] == '.')
			continue;
		if (pci_read_hex(e->d_name, "vendor", &vendor) ||
		    pci_read_hex(e->d_name, "device", &device))
			continue;
		if (vendor == EDU_VENDOR && device == EDU_DEVICE && strlen(e->d_name) < len) {
			strcpy(bdf, e->d_name);
			ret = 0;
		}
	}
	closedir(d);
	return ret;
}

/*
 * vfio-pci and its type1 IOMMU backend, loaded unless there; 0, or a
 * positive value when this kernel has no such modules.
 */
static inline int vfio_modules(void)
{
	if (!access("/sys/bus/pci/drivers/vfio-pci", F_OK))
		return 0;
	return system("modprobe vfio-pci && modprobe vfio_iommu_type1") ? 1 : 0;
}

/* @bdf bound to vfio-pci (driver_override, then a probe); its group's number. */
static inline int edu_bind_vfio(const char *bdf)
{
	char path[320], link[128];
	const char *slash;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = '\0';
	if (!strstr(link, "/vfio-pci")) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
		if (dev_write_str(path, "vfio-pci"))
			return -EIO;
		dev_write_str("/sys/bus/pci/drivers_probe", bdf);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -ENODEV;
	link[n] = '\0';
	slash = strrchr(link, '/');
	return atoi(slash ? slash + 1 : link);
}

#ifdef VFIO_API_VERSION
/*
 * A type1 (v2) container holding IOMMU group @group_nr, which must be
 * viable (all its devices on vfio-pci).  The container's fd, *@group the
 * group's, or -errno with neither open.
 */
static inline int vfio_type1_container(int group_nr, int *group)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int container, ret = 0;

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return -errno;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_nr);
	*group = open(path, O_RDWR | O_CLOEXEC);
	if (*group < 0)
		ret = -errno;
	else if (ioctl(*group, VFIO_GROUP_GET_STATUS, &st))
		ret = -errno;
	else if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		ret = -EBUSY;
	else if (ioctl(*group, VFIO_GROUP_SET_CONTAINER, &container) ||
		 ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		ret = -errno;
	if (ret) {
		if (*group >= 0)
			close(*group);
		close(container);
		return ret;
	}
	return container;
}
#endif

#ifdef RDMA_NL_GET_TYPE
/*
 * Create @name, an rxe device over @netdev, with the rdma netlink
 * command `rdma link add` sends.  0 or -errno.  Needs <linux/netlink.h>,
 * <rdma/rdma_netlink.h> and <sys/socket.h>.
 */
static inline int rxe_link_add(const char *name, const char *netdev)
{
	struct {
		struct nlmsghdr nh;
		char attrs[256];
	} req = { 0 };
	/* an error ack: the header, the error and our request echoed */
	uint32_t ack[128];
	const struct nlmsghdr *anh = (const void *)ack;
	const struct nlmsgerr *aerr = NLMSG_DATA(anh);
	const struct { uint16_t type; const char *val; } attrs[] = {
		{ RDMA_NLDEV_ATTR_DEV_NAME, name },
		{ RDMA_NLDEV_ATTR_LINK_TYPE, "rxe" },
		{ RDMA_NLDEV_ATTR_NDEV_NAME, netdev },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	size_t off = NLMSG_HDRLEN;
	ssize_t n;
	int s, ret;

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		struct nlattr *a = (struct nlattr *)((char *)&req + off);
		size_t len = strlen(attrs[i].val) + 1;

		a->nla_type = attrs[i].type;
		a->nla_len = NLA_HDRLEN + len;
		memcpy((char *)a + NLA_HDRLEN, attrs[i].val, len);
		off += NLA_ALIGN(a->nla_len);
	}
	req.nh.nlmsg_len = off;
	req.nh.nlmsg_type = RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, RDMA_NLDEV_CMD_NEWLINK);
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RDMA);
	if (s < 0)
		return -errno;
	if (sendto(s, &req, off, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		ret = -errno;
		close(s);
		return ret;
	}
	n = recv(s, &ack, sizeof(ack), 0);
	ret = n < 0 ? -errno : n < (ssize_t)NLMSG_LENGTH(sizeof(*aerr)) ||
	      anh->nlmsg_type != NLMSG_ERROR ? -EPROTO : aerr->error;
	close(s);
	return ret;
}

/* Bring @netdev up (what `ip link set NETDEV up` does).  Needs <net/if.h>. */
static inline int netdev_up(const char *netdev)
{
	struct ifreq ifr = { 0 };
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", netdev);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr))
		ret = -errno;
	close(s);
	return ret;
}

/*
 * rxe0 over dummy0, made once per boot.  0, or a positive value when this
 * kernel cannot have it, or -errno.
 */
static inline int rxe_setup(void)
{
	int ret;

	if (!access("/sys/class/infiniband/" RXE_DEV, F_OK))
		return 0;
	/*
	 * ib_uverbs gives user space the device: 7.x's rxe does not depend on
	 * it.  rxe up to 6.12 checksums through the crypto API's "crc32",
	 * which no module dependency brings in (crc32_generic); 7.x's calls
	 * the crc32 library and has no such module.
	 */
	if (system("{ modprobe dummy && modprobe rdma_rxe && modprobe ib_uverbs; } 2>/dev/null"
		   " && { modprobe crc32_generic 2>/dev/null || true; }"))
		return 1;
	ret = netdev_up(RXE_NETDEV);
	if (!ret)
		ret = rxe_link_add(RXE_DEV, RXE_NETDEV);
	return ret == -EEXIST ? 0 : ret;
}
#endif

#endif /* HPM_DEVICES_H */
