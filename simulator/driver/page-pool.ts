// A page_pool (net/core/page_pool.c) reduced to what decides cost: a lockless per-NAPI cache of 128 pages that
// direct recycling refills, a ring for pages returned from elsewhere, and the page allocator behind both.
export const PP_ALLOC_CACHE_SIZE = 128;

export interface PagePoolStats {
  /** Pages taken from the per-NAPI cache (page_pool_alloc fast path). */
  alloc_fast: number;
  /** Pages that needed the page allocator (the ring and cache were empty). */
  alloc_slow: number;
  /** Pages refilled from the ptr_ring into the cache. */
  alloc_refill: number;
  /** Direct recycles into the cache (XDP_DROP in NAPI context). */
  recycle_cached: number;
  /** Recycles into the ptr_ring (cache full, or returned later: skb freed, TX completed). */
  recycle_ring: number;
  /** Pages that stayed with an skb or a redirect target instead of coming back. */
  released: number;
}

export class PagePool {
  private cache = 0;
  private ring = 0;
  private nextPage = 0;
  readonly stats: PagePoolStats = { alloc_fast: 0, alloc_slow: 0, alloc_refill: 0, recycle_cached: 0, recycle_ring: 0, released: 0 };

  constructor(private readonly ringSize: number) {}

  /** page_pool_alloc_pages: cache first, then refill from the ring, then the page allocator. Returns a page id. */
  alloc(): number {
    if (this.cache === 0 && this.ring > 0) {
      const n = Math.min(this.ring, PP_ALLOC_CACHE_SIZE);
      this.ring -= n;
      this.cache += n;
      this.stats.alloc_refill += n;
    }
    if (this.cache > 0) {
      this.cache--;
      this.stats.alloc_fast++;
    } else {
      this.stats.alloc_slow++;
    }
    return this.nextPage++;
  }

  /** page_pool_put_full_page(..., allow_direct) for `pages` pages: into the cache while there is room, else the ring. */
  recycleDirect(pages = 1): void {
    for (let i = 0; i < pages; i++) {
      if (this.cache < PP_ALLOC_CACHE_SIZE) {
        this.cache++;
        this.stats.recycle_cached++;
      } else this.recycleRing();
    }
  }

  /** Pages coming back from outside NAPI (skb freed, TX completion): into the ring, or freed when it is full. */
  recycleRing(pages = 1): void {
    for (let i = 0; i < pages; i++) {
      if (this.ring < this.ringSize) {
        this.ring++;
        this.stats.recycle_ring++;
      } else this.stats.released++;
    }
  }

  /** Pages that left the pool's accounting (attached to an skb or handed to a redirect target). */
  release(pages = 1): void {
    this.stats.released += pages;
  }
}
