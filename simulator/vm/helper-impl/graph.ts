// Program-allocated objects and the collections that own them (kernel/bpf/helpers.c, 6.18): bpf_obj_new objects,
// bpf_refcount, and the linked lists (struct bpf_list_head / bpf_list_node) and red-black trees (struct bpf_rb_root /
// bpf_rb_node) of map values, global data and other objects.
//
// The kernel keeps a collection's links inside the object's bytes, in fields the verifier forbids the program to read;
// here they are JavaScript structures beside the bytes, found by the bytes that hold the head or root (a map value,
// the global-data value, an object) and the field's offset, as bpf_timer's state is (timer.ts). They outlive the run:
// a node pushed by one packet is popped by the next. An object is its bytes; each run gives an object the program
// reaches an address of its own (the same one for the whole run), so a pointer kept from an earlier run is no memory.
//
// The tree is the kernel's red-black tree (lib/rbtree.c, rb_insert_color / rb_erase): bpf_rbtree_root, _left and
// _right show its shape, so insertion and erase rebalance exactly as the kernel's do.

/** A bpf_obj_new object. `refs` counts owning references (bpf_refcount); the object is freed when it reaches 0. */
export interface GraphObject {
  bytes: Uint8Array;
  refs: number;
  freed: boolean;
  /** Its list and tree nodes by the node field's offset. */
  nodes: Map<number, GraphNode>;
}

/** A bpf_list_node or bpf_rb_node field of an object; `owner` is the collection holding it (node->owner). */
export interface GraphNode {
  obj: GraphObject;
  off: number;
  owner?: ListHead | RbRoot;
  // red-black tree links (an rb node in a tree)
  left?: GraphNode;
  right?: GraphNode;
  parent?: GraphNode;
  red: boolean;
}

export interface ListHead { kind: 'list'; items: GraphNode[] }
export interface RbRoot { kind: 'rb'; root?: GraphNode }

const COLLECTIONS = new WeakMap<Uint8Array, Map<number, ListHead | RbRoot>>();
/** Whether any value has held a list or tree (map updates skip the look-up until one has). */
let anyCollection = false;

/**
 * A map element's old value goes with its lists and trees (bpf_obj_free_fields when an array slot is overwritten):
 * the objects they held are dropped.
 */
export function dropCollections(bytes: Uint8Array | undefined): void {
  if (!anyCollection || !bytes) return;
  WQS.delete(bytes);
  const own = COLLECTIONS.get(bytes);
  if (!own) return;
  COLLECTIONS.delete(bytes);
  freeHeld(own, () => {});
}

export const anyCollections = (): boolean => anyCollection;

/** bpf_wq state beside a map value (bpf_wq_init): only whether it was initialised, as no callback can be set in XDP. */
const WQS = new WeakMap<Uint8Array, Set<number>>();

/** bpf_wq_init's result: 0 the first time, -EBUSY once the value's workqueue is initialised (until the value is replaced). */
export function wqInit(bytes: Uint8Array, off: number): boolean {
  let s = WQS.get(bytes);
  if (!s) WQS.set(bytes, (s = new Set()));
  if (s.has(off)) return false;
  s.add(off);
  anyCollection = true;
  return true;
}
const OBJECTS = new WeakMap<Uint8Array, GraphObject>();

export function newObject(size: number): GraphObject {
  const o: GraphObject = { bytes: new Uint8Array(size), refs: 1, freed: false, nodes: new Map() };
  OBJECTS.set(o.bytes, o);
  return o;
}

/** The object whose bytes these are (a region's bytes), if bpf_obj_new made it. */
export const objectOf = (bytes: Uint8Array): GraphObject | undefined => OBJECTS.get(bytes);

export function nodeOf(obj: GraphObject, off: number): GraphNode {
  let n = obj.nodes.get(off);
  if (!n) obj.nodes.set(off, (n = { obj, off, red: false }));
  return n;
}

/** The list head or tree root at `off` of `bytes` (made empty on first use, as the kernel initialises a zeroed head). */
export function collectionAt(bytes: Uint8Array, off: number, kind: 'list'): ListHead;
export function collectionAt(bytes: Uint8Array, off: number, kind: 'rb'): RbRoot;
export function collectionAt(bytes: Uint8Array, off: number, kind: 'list' | 'rb'): ListHead | RbRoot {
  let m = COLLECTIONS.get(bytes);
  if (!m) COLLECTIONS.set(bytes, (m = new Map()));
  let c = m.get(off);
  if (!c || c.kind !== kind) m.set(off, (c = kind === 'list' ? { kind, items: [] } : { kind }));
  anyCollection = true;
  return c;
}

/**
 * Give up one owning reference (bpf_obj_drop, a failed push): at the last one the object is freed, and with it
 * whatever its own lists and trees hold (bpf_obj_free_fields). `freed` is called for each object freed.
 */
export function dropRef(obj: GraphObject, freed: (o: GraphObject) => void): void {
  if (obj.freed || --obj.refs > 0) return;
  obj.freed = true;
  freed(obj);
  const own = COLLECTIONS.get(obj.bytes);
  if (!own) return;
  COLLECTIONS.delete(obj.bytes);
  freeHeld(own, freed);
}

function freeHeld(own: Map<number, ListHead | RbRoot>, freed: (o: GraphObject) => void): void {
  for (const c of own.values()) {
    const held: GraphNode[] = [];
    if (c.kind === 'list') held.push(...c.items);
    else inorder(c.root, held);
    for (const n of held) {
      n.owner = n.left = n.right = n.parent = undefined;
      dropRef(n.obj, freed);
    }
  }
}

function inorder(n: GraphNode | undefined, out: GraphNode[]): void {
  if (!n) return;
  inorder(n.left, out);
  out.push(n);
  inorder(n.right, out);
}

// ---- red-black tree (the kernel's lib/rbtree.c algorithm; written from the algorithm, not the source) ----

export function rbFirst(t: RbRoot): GraphNode | undefined {
  let n = t.root;
  while (n?.left) n = n.left;
  return n;
}

/** Put `child` where `old` hung under `parent` (or at the root). */
function replaceChild(t: RbRoot, parent: GraphNode | undefined, old: GraphNode, child: GraphNode | undefined): void {
  if (!parent) t.root = child;
  else if (parent.left === old) parent.left = child;
  else parent.right = child;
}

function rotateLeft(t: RbRoot, x: GraphNode): void {
  const y = x.right!;
  x.right = y.left;
  if (y.left) y.left.parent = x;
  y.parent = x.parent;
  replaceChild(t, x.parent, x, y);
  y.left = x;
  x.parent = y;
}

function rotateRight(t: RbRoot, x: GraphNode): void {
  const y = x.left!;
  x.left = y.right;
  if (y.right) y.right.parent = x;
  y.parent = x.parent;
  replaceChild(t, x.parent, x, y);
  y.right = x;
  x.parent = y;
}

/** Link `n` as the `left`/`right` child of `parent` (or as the root) and rebalance (rb_link_node + rb_insert_color). */
export function rbInsert(t: RbRoot, n: GraphNode, parent: GraphNode | undefined, left: boolean): void {
  n.left = n.right = undefined;
  n.parent = parent;
  n.red = true;
  if (!parent) t.root = n;
  else if (left) parent.left = n;
  else parent.right = n;
  let node = n;
  for (;;) {
    let p = node.parent;
    if (!p) { node.red = false; break; }
    if (!p.red) break;
    const g = p.parent!;
    const onLeft = p === g.left;
    const uncle = onLeft ? g.right : g.left;
    if (uncle?.red) {
      p.red = uncle.red = false;
      g.red = true;
      node = g;
      continue;
    }
    if (node === (onLeft ? p.right : p.left)) {
      if (onLeft) rotateLeft(t, p); else rotateRight(t, p);
      p = node;
    }
    p.red = false;
    g.red = true;
    if (onLeft) rotateRight(t, g); else rotateLeft(t, g);
    break;
  }
}

/** Take `n` out of the tree and rebalance (rb_erase): a node with two children gives its place to its successor. */
export function rbErase(t: RbRoot, n: GraphNode): void {
  let rebalance: GraphNode | undefined;
  const parent = n.parent;
  if (!n.left || !n.right) {
    const child = n.left ?? n.right;
    replaceChild(t, parent, n, child);
    if (child) { child.parent = parent; child.red = false; }
    else if (!n.red) rebalance = parent;
  } else {
    let succ = n.right;
    let p: GraphNode;
    if (!succ.left) p = succ;
    else {
      while (succ.left) succ = succ.left;
      p = succ.parent!;
      p.left = succ.right;
      if (succ.right) succ.right.parent = p;
      succ.right = n.right;
      n.right.parent = succ;
    }
    const child2 = p === succ ? succ.right : p.left;
    succ.left = n.left;
    n.left.parent = succ;
    replaceChild(t, parent, n, succ);
    succ.parent = parent;
    const succBlack = !succ.red;
    succ.red = n.red;
    if (child2) child2.red = false;
    else if (succBlack) rebalance = p;
  }
  n.left = n.right = n.parent = undefined;
  if (rebalance) eraseColor(t, rebalance);
}

/** A black node is missing under `parent` (on the side where `node` hangs; node is undefined the first time). */
function eraseColor(t: RbRoot, parent: GraphNode): void {
  let node: GraphNode | undefined;
  let p: GraphNode | undefined = parent;
  while (p) {
    const onLeft = node === p.left;
    let s = (onLeft ? p.right : p.left)!;
    if (s.red) {
      s.red = false;
      p.red = true;
      if (onLeft) rotateLeft(t, p); else rotateRight(t, p);
      s = (onLeft ? p.right : p.left)!;
    }
    const far = onLeft ? s.right : s.left;
    const near = onLeft ? s.left : s.right;
    if (!far?.red) {
      if (!near?.red) {
        s.red = true;
        if (p.red) { p.red = false; return; }
        node = p;
        p = p.parent;
        continue;
      }
      near.red = false;
      s.red = true;
      if (onLeft) rotateRight(t, s); else rotateLeft(t, s);
      s = (onLeft ? p.right : p.left)!;
    }
    s.red = p.red;
    p.red = false;
    (onLeft ? s.right : s.left)!.red = false;
    if (onLeft) rotateLeft(t, p); else rotateRight(t, p);
    return;
  }
}
