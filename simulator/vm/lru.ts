// The kernel's LRU for LRU_HASH and LRU_PERCPU_HASH (kernel/bpf/bpf_lru_list.c, as hashtab.c drives it), modelled
// step for step so that which elements an insert evicts, and when, is the kernel's: the map is preallocated (max_entries
// nodes), nodes sit on an active, an inactive or a free list, a lookup from the program sets a node's reference bit,
// and a free node is found by rotating the lists and shrinking the inactive list in batches.
//
// Two flavours:
//  - common LRU (the default): one global active/inactive/free list plus, per CPU, a local free list and a local
//    pending list. New elements go on the pending list of the CPU that inserted them. When a CPU's local free list is
//    empty it flushes its pending list into the global lists, rotates them, and takes up to target_free nodes from the
//    global free list, shrinking the inactive list (freeing elements) for the rest: so a full map loses several
//    elements at once. target_free = clamp((max_entries / possible CPUs) / 2, 1, 128). When even that finds nothing,
//    a CPU steals a free or pending node from the CPUs' local lists, round robin.
//  - BPF_F_NO_COMMON_LRU: one active/inactive/free list per CPU, each owning max_entries / CPUs nodes (max_entries
//    rounded to a multiple of the CPUs); a shrink frees up to 4 at once.
//
// Free nodes hold nothing a program can observe, so free lists are counts; nodes holding an element are list nodes.
// The element a node holds is named by its key (the hash table's key: maps.ts elemKey); `evict` removes it from the hash table (del_from_htab) when the
// table still holds that node for the key.

const ACTIVE = 0;
const INACTIVE = 1;
const FREE = 2;
const LOCAL_FREE = 3;
const LOCAL_PENDING = 4;

const LOCAL_FREE_TARGET = 128;
const LOCAL_NR_SCANS = LOCAL_FREE_TARGET;
const PERCPU_FREE_TARGET = 4;
const PERCPU_NR_SCANS = PERCPU_FREE_TARGET;

/** A node of a circular doubly linked list with a sentinel head, as list_head. */
export class LruNode {
  prev: LruNode = this;
  next: LruNode = this;
  type = FREE;
  ref = false;
  cpu = 0;
  constructor(public key: string | number = '') {}
}

function listDel(n: LruNode): void {
  n.prev.next = n.next;
  n.next.prev = n.prev;
  n.prev = n;
  n.next = n;
}

/** list_add: right after the head. */
function listAdd(n: LruNode, head: LruNode): void {
  n.next = head.next;
  n.prev = head;
  head.next.prev = n;
  head.next = n;
}

function listMove(n: LruNode, head: LruNode): void {
  listDel(n);
  listAdd(n, head);
}

interface FreeCount {
  free: number;
}

class LruList implements FreeCount {
  readonly lists = [new LruNode(), new LruNode()];
  readonly counts = [0, 0];
  free = 0;
  nextInactiveRotation: LruNode;
  constructor() {
    this.nextInactiveRotation = this.lists[INACTIVE];
  }
}

class LocalList implements FreeCount {
  free = 0;
  readonly pending = new LruNode();
  nextSteal: number;
  constructor(cpu: number) {
    this.nextSteal = cpu;
  }
}

export class KernelLru {
  private readonly lists: LruList[];
  private readonly local: LocalList[] = [];
  private readonly nrScans: number;
  private readonly targetFree: number;

  /**
   * @param nrElems nodes (max_entries, already rounded for BPF_F_NO_COMMON_LRU)
   * @param table `evictNode` removes the element a node holds from the hash table; false when it is not there (an
   *   object rather than a closure, so that a copy of the map's state (the debugger's checkpoints) evicts from the copy)
   */
  constructor(nrElems: number, private readonly nrCpus: number, readonly percpu: boolean, private readonly table: { evictNode(node: LruNode): boolean }) {
    if (percpu) {
      this.lists = Array.from({ length: nrCpus }, () => new LruList());
      const each = Math.floor(nrElems / nrCpus);
      let left = nrElems;
      for (const l of this.lists) {
        l.free = Math.min(each, left);
        left -= l.free;
      }
      this.nrScans = PERCPU_NR_SCANS;
      this.targetFree = PERCPU_FREE_TARGET;
    } else {
      this.lists = [new LruList()];
      this.lists[0].free = nrElems;
      for (let c = 0; c < nrCpus; c++) this.local.push(new LocalList(c));
      this.nrScans = LOCAL_NR_SCANS;
      this.targetFree = Math.min(Math.max(Math.floor(Math.floor(nrElems / nrCpus) / 2), 1), LOCAL_FREE_TARGET);
    }
  }

  /** bpf_lru_node_set_ref: what a program's lookup (and an update that finds the key) does. */
  setRef(node: LruNode): void {
    node.ref = true;
  }

  /** bpf_lru_pop_free: a node for a new element with `key`, on `cpu`; undefined when none (-ENOMEM). */
  popFree(key: string | number, cpu: number): LruNode | undefined {
    return this.percpu ? this.percpuPopFree(key, cpu) : this.commonPopFree(key, cpu);
  }

  /** bpf_lru_push_free: the node of a deleted or replaced element (or of a failed insert) becomes free. */
  pushFree(node: LruNode): void {
    if (this.percpu) {
      this.move(this.lists[node.cpu], node, FREE);
      return;
    }
    if (node.type === LOCAL_PENDING) {
      listDel(node);
      node.type = LOCAL_FREE;
      node.ref = false;
      this.local[node.cpu].free++;
      return;
    }
    this.move(this.lists[0], node, FREE);
  }

  private percpuPopFree(key: string | number, cpu: number): LruNode | undefined {
    const l = this.lists[cpu];
    this.rotate(l);
    if (l.free === 0) this.shrink(l, PERCPU_FREE_TARGET, l);
    if (l.free === 0) return undefined;
    l.free--;
    const node = new LruNode(key);
    node.cpu = cpu;
    this.move(l, node, INACTIVE);
    return node;
  }

  private commonPopFree(key: string | number, cpu: number): LruNode | undefined {
    const loc = this.local[cpu];
    let got = this.takeLocalFree(loc);
    if (!got) {
      this.popFreeToLocal(loc);
      got = this.takeLocalFree(loc);
    }
    if (got) return this.addPending(loc, cpu, new LruNode(key));
    const first = loc.nextSteal;
    let steal = first;
    let node: LruNode | undefined;
    do {
      const s = this.local[steal];
      node = this.takeLocalFree(s) ? new LruNode() : this.popPending(s);
      steal = (steal + 1) % this.nrCpus;
    } while (!node && steal !== first);
    loc.nextSteal = steal;
    if (!node) return undefined;
    node.key = key;
    return this.addPending(loc, cpu, node);
  }

  private takeLocalFree(loc: LocalList): boolean {
    if (loc.free === 0) return false;
    loc.free--;
    return true;
  }

  private addPending(loc: LocalList, cpu: number, node: LruNode): LruNode {
    node.cpu = cpu;
    node.type = LOCAL_PENDING;
    node.ref = false;
    listAdd(node, loc.pending);
    return node;
  }

  /** __local_list_pop_pending: oldest first, unreferenced ones first. */
  private popPending(loc: LocalList): LruNode | undefined {
    for (const force of [false, true]) {
      for (let n = loc.pending.prev; n !== loc.pending; n = n.prev) {
        if ((!n.ref || force) && this.table.evictNode(n)) {
          listDel(n);
          return n;
        }
      }
    }
    return undefined;
  }

  /** bpf_lru_list_pop_free_to_local. */
  private popFreeToLocal(loc: LocalList): void {
    const l = this.lists[0];
    // __local_list_flush: the pending list, oldest first, into the global lists.
    for (let n = loc.pending.prev, p = n.prev; n !== loc.pending; n = p, p = n.prev) {
      const tgt = n.ref ? ACTIVE : INACTIVE;
      l.counts[tgt]++;
      n.type = tgt;
      n.ref = false;
      listMove(n, l.lists[tgt]);
    }
    this.rotate(l);
    const nfree = Math.min(l.free, this.targetFree);
    l.free -= nfree;
    loc.free += nfree;
    if (nfree < this.targetFree) this.shrink(l, this.targetFree - nfree, loc);
  }

  /** __bpf_lru_node_move. */
  private move(l: LruList, node: LruNode, tgt: number): void {
    if (node.type !== tgt) {
      if (node.type < FREE) l.counts[node.type]--;
      if (tgt < FREE) l.counts[tgt]++;
      node.type = tgt;
    }
    node.ref = false;
    if (node === l.nextInactiveRotation) l.nextInactiveRotation = node.prev;
    if (tgt === FREE) {
      listDel(node);
      l.free++;
    } else listMove(node, l.lists[tgt]);
  }

  /** __bpf_lru_node_move_to_free: the element is gone from the table; its node joins `dest`'s free list. */
  private moveToFree(l: LruList, node: LruNode, dest: FreeCount): void {
    if (node === l.nextInactiveRotation) l.nextInactiveRotation = node.prev;
    if (node.type < FREE) l.counts[node.type]--;
    listDel(node);
    dest.free++;
  }

  private rotate(l: LruList): void {
    if (l.counts[INACTIVE] < l.counts[ACTIVE]) this.rotateActive(l);
    this.rotateInactive(l);
  }

  private rotateActive(l: LruList): void {
    const head = l.lists[ACTIVE];
    const first = head.next;
    let i = 0;
    for (let n = head.prev, p = n.prev; n !== head; n = p, p = n.prev) {
      this.move(l, n, n.ref ? ACTIVE : INACTIVE);
      if (++i === this.nrScans || n === first) break;
    }
  }

  private rotateInactive(l: LruList): void {
    const head = l.lists[INACTIVE];
    if (head.next === head) return;
    let last = l.nextInactiveRotation.next;
    if (last === head) last = last.next;
    let cur = l.nextInactiveRotation;
    let next = head;
    let i = 0;
    while (i < this.nrScans) {
      if (cur === head) {
        cur = cur.prev;
        continue;
      }
      next = cur.prev;
      if (cur.ref) this.move(l, cur, ACTIVE);
      if (cur === last) break;
      cur = next;
      i++;
    }
    l.nextInactiveRotation = next;
  }

  private shrinkInactive(l: LruList, want: number, dest: FreeCount): number {
    const head = l.lists[INACTIVE];
    let done = 0;
    let i = 0;
    for (let n = head.prev, p = n.prev; n !== head; n = p, p = n.prev) {
      if (n.ref) this.move(l, n, ACTIVE);
      else if (this.table.evictNode(n)) {
        this.moveToFree(l, n, dest);
        if (++done === want) break;
      }
      if (++i === this.nrScans) break;
    }
    return done;
  }

  /** __bpf_lru_list_shrink: up to `want` unreferenced inactive elements, else one by force. */
  private shrink(l: LruList, want: number, dest: FreeCount): number {
    const done = this.shrinkInactive(l, want, dest);
    if (done) return done;
    const inactive = l.lists[INACTIVE];
    const head = inactive.next !== inactive ? inactive : l.lists[ACTIVE];
    for (let n = head.prev, p = n.prev; n !== head; n = p, p = n.prev) {
      if (this.table.evictNode(n)) {
        this.moveToFree(l, n, dest);
        return 1;
      }
    }
    return 0;
  }
}
