/**
 * The vocabulary as a trie over UTF-16 code units, for WordPiece's greedy longest match: one hash
 * probe per code unit of the word (model.ts's flushWord).
 *
 * Edges live in one open-addressed hash table keyed by (node, code unit), which is compact (one
 * entry per edge) and needs no per-node objects. Continuation pieces are found from the node
 * reached by "##", so one trie serves both lookups.
 */
export class VocabTrie {
  /** Token id that ends at a node, or -1. Node 0 is the root. */
  private tokenAt: Int32Array;
  private edgeNode: Int32Array;
  private edgeUnit: Uint16Array;
  private edgeChild: Int32Array;
  private mask: number;
  private nodeCount = 1;

  constructor(tokens: readonly string[]) {
    let units = 0;
    for (const t of tokens) units += t.length;
    const maxNodes = units + 1;
    let capacity = 16;
    while (capacity < maxNodes * 2) capacity *= 2; // load factor <= 0.5 keeps probes short
    this.mask = capacity - 1;
    this.edgeNode = new Int32Array(capacity).fill(-1);
    this.edgeUnit = new Uint16Array(capacity);
    this.edgeChild = new Int32Array(capacity);
    const tokenAt = new Int32Array(maxNodes).fill(-1);
    this.tokenAt = tokenAt;
    for (let id = 0; id < tokens.length; id++) {
      const t = tokens[id];
      let node = 0;
      for (let i = 0; i < t.length; i++) node = this.childOrInsert(node, t.charCodeAt(i));
      tokenAt[node] = id;
    }
    this.tokenAt = tokenAt.slice(0, this.nodeCount);
  }

  private slot(node: number, unit: number): number {
    return Math.imul(node * 65599 + unit, 0x9e3779b1) >>> 0;
  }

  /** The child of `node` along `unit`, or -1. */
  child(node: number, unit: number): number {
    const mask = this.mask;
    let h = this.slot(node, unit) & mask;
    for (;;) {
      const n = this.edgeNode[h];
      if (n === node && this.edgeUnit[h] === unit) return this.edgeChild[h];
      if (n === -1) return -1;
      h = (h + 1) & mask;
    }
  }

  private childOrInsert(node: number, unit: number): number {
    const mask = this.mask;
    let h = this.slot(node, unit) & mask;
    for (;;) {
      const n = this.edgeNode[h];
      if (n === node && this.edgeUnit[h] === unit) return this.edgeChild[h];
      if (n === -1) {
        this.edgeNode[h] = node;
        this.edgeUnit[h] = unit;
        this.edgeChild[h] = this.nodeCount;
        return this.nodeCount++;
      }
      h = (h + 1) & mask;
    }
  }

  tokenIdAt(node: number): number {
    return this.tokenAt[node];
  }

  /** The node reached by `prefix` from the root, or -1. */
  walk(prefix: string): number {
    let node = 0;
    for (let i = 0; i < prefix.length && node >= 0; i++) node = this.child(node, prefix.charCodeAt(i));
    return node;
  }
}
