// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_argo: the DMA mapping of the transport's devices.
 *
 * The transport is the "device" of its own virtqueues: it reads and writes
 * the driver's buffers with the CPU, through the kernel's linear map.  The
 * virtio core hands it bus addresses, so they must be addresses the
 * transport can turn back into kernel addresses.
 *
 * Without VIRTIO_F_ACCESS_PLATFORM (never offered: see main.c) the core
 * uses the DMA API only in a Xen domain, and there a PV domain's default
 * mapping is swiotlb-xen: machine frame addresses, and bounce buffers for
 * memory above the mask.  Neither can be read back.  The parent of every
 * virtio_argo device therefore gets these ops: the "DMA address" is the
 * guest physical address of the buffer itself, no bounce buffer, no
 * IOMMU, nothing to synchronise (only this CPU domain ever touches the
 * memory; the backend sees copies made by the hypervisor).
 *
 * Where the kernel has no CONFIG_DMA_OPS (User-Mode Linux), set_dma_ops()
 * does nothing and the virtio core does not use the DMA API either: the
 * addresses it writes are physical already.  va_dma_to_virt() serves both.
 */
#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>

#include "virtio_argo.h"

static dma_addr_t va_dma_map_page(struct device *dev, struct page *page,
				  unsigned long offset, size_t size,
				  enum dma_data_direction dir,
				  unsigned long attrs)
{
	return page_to_phys(page) + offset;
}

static void va_dma_unmap_page(struct device *dev, dma_addr_t addr,
			      size_t size, enum dma_data_direction dir,
			      unsigned long attrs)
{
}

static int va_dma_map_sg(struct device *dev, struct scatterlist *sgl,
			 int nents, enum dma_data_direction dir,
			 unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg->dma_address = sg_phys(sg);
		sg_dma_len(sg) = sg->length;
	}
	return nents;
}

static void va_dma_unmap_sg(struct device *dev, struct scatterlist *sgl,
			    int nents, enum dma_data_direction dir,
			    unsigned long attrs)
{
}

static void *va_dma_alloc(struct device *dev, size_t size,
			  dma_addr_t *dma_handle, gfp_t gfp,
			  unsigned long attrs)
{
	void *p;

	gfp &= ~(__GFP_COMP | __GFP_HIGHMEM | __GFP_DMA | __GFP_DMA32);
	p = alloc_pages_exact(size, gfp | __GFP_ZERO);
	if (!p)
		return NULL;
	*dma_handle = virt_to_phys(p);
	return p;
}

static void va_dma_free(struct device *dev, size_t size, void *vaddr,
			dma_addr_t dma_handle, unsigned long attrs)
{
	free_pages_exact(vaddr, size);
}

static int va_dma_supported(struct device *dev, u64 mask)
{
	return 1;
}

const struct dma_map_ops va_dma_ops = {
	.alloc = va_dma_alloc,
	.free = va_dma_free,
	.map_page = va_dma_map_page,
	.unmap_page = va_dma_unmap_page,
	.map_sg = va_dma_map_sg,
	.unmap_sg = va_dma_unmap_sg,
	.dma_supported = va_dma_supported,
};

/* Give @dev (a transport device's parent) the ops and a 64-bit mask. */
void va_dma_setup(struct device *dev)
{
	dev->coherent_dma_mask = DMA_BIT_MASK(64);
	dev->dma_mask = &dev->coherent_dma_mask;
	set_dma_ops(dev, &va_dma_ops);
}

/*
 * The kernel address of the buffer at bus address @addr, @len bytes, or
 * NULL if that is not memory of this kernel's linear map.  The buffers are
 * the driver's own, but a wrong address must never become a wild write.
 */
void *va_dma_to_virt(u64 addr, u32 len)
{
	phys_addr_t phys = addr;
	u64 last;

	if ((u64)phys != addr || !len)
		return NULL;
	if (check_add_overflow(addr, (u64)len - 1, &last))
		return NULL;
	if (!pfn_valid(PHYS_PFN(phys)) || !pfn_valid(PHYS_PFN(last)))
		return NULL;
	return phys_to_virt(phys);
}
