// Sets of field paths, as server-side apply records them in metadata.managedFields (sigs.k8s.io/structured-merge-diff).
// A path is a list of elements, each one of:
//   f:<name>              a member of a map or struct
//   k:{"name":"web"}      the item of an associative list whose key fields have these values (keys sorted)
//   v:"x"                 the item of a set list with this value
//   i:3                   the item at an index (only in sets read from clients; never produced here)
// FieldsV1 is the set as a tree of JSON objects keyed by elements; `".": {}` marks a path that is itself in the set
// and also has members in it (a list item and its fields); a leaf in the set is `{}`.
import { isRecord } from "../meta.js";

export type PathElement = string;
export type FieldPath = readonly PathElement[];

/** An immutable-by-convention set of field paths. */
export class FieldSet {
  private decoded: Map<string, FieldPath> | undefined;
  /**
   * The canonical FieldsV1 tree the set was read from, while it is not decoded (see fromFieldsV1): every write
   * decodes and re-encodes each manager's fields, and most managers' fields do not change.
   */
  private readonly source: Record<string, unknown> | undefined;

  /** `source`: a canonical FieldsV1 tree (see fromFieldsV1) that the set is, and that nothing changes. */
  constructor(paths: Iterable<FieldPath> = [], source?: Record<string, unknown>) {
    this.source = source;
    if (source === undefined) this.decoded = new Map();
    for (const path of paths) this.add(path);
  }

  private get paths(): Map<string, FieldPath> {
    if (this.decoded === undefined) {
      this.decoded = new Map();
      decodeFieldsV1(this.source ?? {}, (path) => this.decoded?.set(JSON.stringify(path), path));
    }
    return this.decoded;
  }

  /** Adds a copy of `path`; `key` is its JSON when the caller already has it (the set's own key for a path). */
  add(path: FieldPath, key: string = JSON.stringify(path)): void {
    this.paths.set(key, [...path]);
  }

  has(path: FieldPath): boolean {
    return this.paths.has(JSON.stringify(path));
  }

  get size(): number {
    return this.paths.size;
  }

  isEmpty(): boolean {
    if (this.decoded === undefined && this.source !== undefined) return Object.keys(this.source).length === 0;
    return this.paths.size === 0;
  }

  /** Whether some path of `other` is in this set: when none is, difference(other) is this set. */
  intersects(other: FieldSet): boolean {
    if (this.decoded === undefined && this.source !== undefined) {
      const tree = this.source;
      if (other.decoded === undefined && other.source !== undefined) return treesIntersect(tree, other.source);
      for (const path of other.paths.values()) if (inFieldsV1(tree, path)) return true;
      return false;
    }
    for (const key of other.paths.keys()) if (this.paths.has(key)) return true;
    return false;
  }

  /** Whether every path of `other` is in this set. */
  covers(other: FieldSet): boolean {
    if (this.decoded === undefined && this.source !== undefined && other.decoded === undefined && other.source !== undefined) return treeCovers(this.source, other.source);
    for (const key of other.paths.keys()) if (!this.paths.has(key)) return false;
    return true;
  }

  /** The paths, in the order structured-merge-diff sorts them (field names, then keys, values, indices). */
  list(): FieldPath[] {
    return [...this.paths.values()].sort(comparePaths);
  }

  // The set operations share the (never mutated) path arrays and keys of their operands instead of copying and
  // serializing every path again: they run several times on every write.
  union(other: FieldSet): FieldSet {
    const out = this.select(() => true);
    for (const [key, path] of other.paths) out.paths.set(key, path);
    return out;
  }

  difference(other: FieldSet): FieldSet {
    return other.isEmpty() ? this.select(() => true) : this.select((key) => !other.paths.has(key));
  }

  intersection(other: FieldSet): FieldSet {
    return this.select((key) => other.paths.has(key));
  }

  private select(keep: (key: string) => boolean): FieldSet {
    const out = new FieldSet();
    for (const [key, path] of this.paths) if (keep(key)) out.paths.set(key, path);
    return out;
  }

  /** Whether `path` or a path below it is in the set. */
  hasPrefix(path: FieldPath): boolean {
    for (const p of this.paths.values()) {
      if (p.length >= path.length && path.every((e, i) => p[i] === e)) return true;
    }
    return false;
  }

  equals(other: FieldSet): boolean {
    return this.size === other.size && [...this.paths.keys()].every((k) => other.paths.has(k));
  }

  /**
   * The FieldsV1 encoding. A set read from a canonical tree and not decoded since answers that tree itself, which
   * is what encoding its paths would give: the caller must not change it (it is part of the object it came from).
   */
  toFieldsV1(): Record<string, unknown> {
    if (this.decoded === undefined && this.source !== undefined) return this.source;
    // The tree straight from the paths, each node's members sorted once; the general encoding below, by sorting
    // whole paths, only where that could order differently: the empty path, index elements ("i:1" and "i:01" are
    // one index).
    let simple = true;
    const tree: FieldsNode = { inSet: false, children: new Map() };
    for (const path of this.paths.values()) {
      if (path.length === 0) simple = false;
      let node = tree;
      for (const element of path) {
        if (element.startsWith("i:")) simple = false;
        node = childOf(node, element);
      }
      node.inSet = true;
    }
    if (simple) {
      const fields = fieldsV1Of(tree) ?? {};
      canonicalTrees.add(fields);
      return fields;
    }
    const root: Record<string, unknown> = {};
    for (const path of this.list()) {
      let node = root;
      for (const element of path) {
        const child = node[element];
        if (isRecord(child)) {
          node = child;
        } else {
          const created: Record<string, unknown> = {};
          Object.defineProperty(node, element, { value: created, writable: true, enumerable: true, configurable: true });
          node = created;
        }
      }
      node["."] = {};
    }
    return collapseLeaves(root);
  }

  /**
   * Reads a FieldsV1 tree; throws an Error naming the problem when it is not one. A tree in the canonical form
   * (the one toFieldsV1 writes) is kept as it is and decoded only when a path is asked for.
   */
  static fromFieldsV1(fields: unknown): FieldSet {
    if (isRecord(fields) && canonicalTrees.has(fields)) return new FieldSet([], fields);
    if (isRecord(fields) && isCanonicalFieldsV1(fields, true)) {
      canonicalTrees.add(fields);
      return new FieldSet([], fields);
    }
    const set = new FieldSet();
    decodeFieldsV1(fields, (path) => {
      set.add(path);
    });
    return set;
  }
}

/**
 * FieldsV1 trees known to be canonical: written by toFieldsV1 (or a walk that writes what it would), or checked. Every
 * write decodes the managedFields of the object it changes, which are mostly trees this process wrote or checked
 * before (the watch cache's objects share them with the writes they came from); checking one again walked every
 * node. The trees are part of stored objects, which nothing changes.
 */
const canonicalTrees = new WeakSet<object>();

/** Notes a FieldsV1 tree built as toFieldsV1 would build it (createdFieldsV1's, compareFieldsV1's), for fromFieldsV1. */
export function knownCanonical(fields: Record<string, unknown>): void {
  canonicalTrees.add(fields);
}

/** Walks a FieldsV1 tree, calling `add` with each path in the set; throws an Error naming what is not FieldsV1. */
function decodeFieldsV1(fields: unknown, add: (path: FieldPath) => void): void {
  const walk = (node: unknown, path: PathElement[]): void => {
    if (!isRecord(node)) throw new Error(`expected an object at ${path.join(".") || "the root"}`);
    const keys = Object.keys(node);
    if (path.length > 0 && (keys.length === 0 || Object.hasOwn(node, "."))) add(path);
    for (const key of keys) {
      if (key === ".") continue;
      if (!/^[fkvi]:/.test(key)) throw new Error(`unknown path element ${JSON.stringify(key)}`);
      walk(node[key], [...path, key]);
    }
  };
  walk(fields, []);
}

/**
 * Whether a FieldsV1 tree is exactly what toFieldsV1 writes for the set it holds, members in the same order: at
 * every node `"."` (an empty object) first and only beside other members, and not at the root; the other members
 * path elements in strictly increasing compareElements order, each an object.
 */
function isCanonicalFieldsV1(node: Record<string, unknown>, root: boolean): boolean {
  let previous: string | undefined;
  let members = 0;
  for (const key of Object.keys(node)) {
    const child = node[key];
    if (!isRecord(child)) return false;
    if (key === ".") {
      if (root || members > 0 || Object.keys(child).length > 0) return false;
      members++;
      continue;
    }
    members++;
    if (!/^[fkvi]:/.test(key)) return false;
    if (previous !== undefined && !(compareElements(previous, key) < 0)) return false;
    previous = key;
    if (!isCanonicalFieldsV1(child, false)) return false;
  }
  // A lone "." is written as {}.
  return !(members === 1 && previous === undefined && !root);
}

/** Whether a node of a canonical FieldsV1 tree (not the root) is in its set: a leaf, or one carrying ".". */
function nodeInSet(node: Record<string, unknown>): boolean {
  const keys = Object.keys(node);
  return keys.length === 0 || keys[0] === ".";
}

/**
 * Whether two canonical FieldsV1 trees share a path of their sets: some node both have is in both sets. (In a
 * canonical tree every node has a path of the set at or under it, and "." comes first.)
 */
function treesIntersect(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  for (const key of Object.keys(b)) {
    if (key === "." || !Object.hasOwn(a, key)) continue;
    const childA = a[key] as Record<string, unknown>;
    const childB = b[key] as Record<string, unknown>;
    if ((nodeInSet(childA) && nodeInSet(childB)) || treesIntersect(childA, childB)) return true;
  }
  return false;
}

/** Whether every path of canonical `b`'s set is in canonical `a`'s. */
function treeCovers(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  for (const key of Object.keys(b)) {
    if (key === ".") continue;
    // A node of b, canonical, has a path of b's set at or under it: a must have the node.
    if (!Object.hasOwn(a, key)) return false;
    const childA = a[key] as Record<string, unknown>;
    const childB = b[key] as Record<string, unknown>;
    if ((nodeInSet(childB) && !nodeInSet(childA)) || !treeCovers(childA, childB)) return false;
  }
  return true;
}

/** Whether a path is in the set a FieldsV1 tree holds: its node is there, and is a leaf or carries ".". */
function inFieldsV1(tree: Record<string, unknown>, path: FieldPath): boolean {
  if (path.length === 0) return false;
  let node: unknown = tree;
  for (const element of path) {
    if (!isRecord(node) || element === "." || !Object.hasOwn(node, element)) return false;
    node = node[element];
  }
  if (!isRecord(node)) return false;
  const keys = Object.keys(node);
  return keys.length === 0 || Object.hasOwn(node, ".");
}

/** A node of a FieldsV1 tree being built: whether its own path is in the set, and its members. */
export interface FieldsNode {
  inSet: boolean;
  readonly children: Map<PathElement, FieldsNode>;
}

export function childOf(node: FieldsNode, element: PathElement): FieldsNode {
  let child = node.children.get(element);
  if (child === undefined) {
    child = { inSet: false, children: new Map() };
    node.children.set(element, child);
  }
  return child;
}

/**
 * A FieldsNode as FieldsV1: `".": {}` first on a member of the set that has members, then the members in order.
 * Undefined for a node with nothing of the set at or under it (a struct whose members are all the server's).
 */
export function fieldsV1Of(node: FieldsNode): Record<string, unknown> | undefined {
  if (node.children.size === 0) return node.inSet ? {} : undefined;
  const out: Record<string, unknown> = node.inSet ? { ".": {} } : {};
  let members = 0;
  const elements = node.children.size === 1 ? node.children.keys() : [...node.children.keys()].sort(compareElements);
  for (const element of elements) {
    const member = fieldsV1Of(node.children.get(element)!);
    if (member === undefined) continue;
    // Assigned safely: an element starts with its tag ("f:", "k:", "v:"), so it is never "__proto__".
    out[element] = member;
    members++;
  }
  if (members === 0) return node.inSet ? {} : undefined;
  return out;
}

/** A tree built with "." on every member; leaves with nothing under them become `{}`, as upstream writes them. */
function collapseLeaves(node: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = Object.keys(node);
  if (keys.length === 1 && keys[0] === ".") return out;
  for (const key of keys) {
    const child = node[key];
    const value = key === "." ? {} : collapseLeaves(isRecord(child) ? child : {});
    Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  }
  return out;
}

const ELEMENT_ORDER = { f: 0, k: 1, v: 2, i: 3 } as const;

function rank(element: PathElement): number {
  const tag = element.charAt(0);
  return tag === "f" || tag === "k" || tag === "v" || tag === "i" ? ELEMENT_ORDER[tag] : 4;
}

/** structured-merge-diff's order of two elements of one level: field names, then keys, values, indices. */
export function compareElements(a: PathElement, b: PathElement): number {
  const byKind = rank(a) - rank(b);
  if (byKind !== 0) return byKind;
  if (a.startsWith("i:") && b.startsWith("i:")) return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

export function comparePaths(a: FieldPath, b: FieldPath): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareElements(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

export function fieldElement(name: string): PathElement {
  return `f:${name}`;
}

/** The element of an associative-list item: its key fields, sorted by name, as compact JSON. */
export function keyElement(keys: Readonly<Record<string, unknown>>): PathElement {
  // Written out member by member for the usual keys (names that are not array indices, scalar values), which is
  // what JSON.stringify of the sorted object writes; other keys go through that object.
  const names = Object.keys(keys).sort();
  let text = "";
  for (const name of names) {
    const value = keys[name];
    const first = name.charCodeAt(0);
    if ((typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") || (first >= 48 && first <= 57)) return sortedKeyElement(keys);
    text += `${text === "" ? "" : ","}${JSON.stringify(name)}:${JSON.stringify(value)}`;
  }
  return `k:{${text}}`;
}

function sortedKeyElement(keys: Readonly<Record<string, unknown>>): PathElement {
  const sorted: Record<string, unknown> = {};
  for (const name of Object.keys(keys).sort()) Object.defineProperty(sorted, name, { value: keys[name], enumerable: true });
  return `k:${JSON.stringify(sorted)}`;
}

export function valueElement(value: unknown): PathElement {
  return `v:${JSON.stringify(value)}`;
}

/**
 * A path as Kubernetes prints it in apply conflicts: `.spec.replicas`,
 * `.spec.template.spec.containers[name="web"].image`, `.metadata.finalizers[="x"]`, `.items[3]`.
 */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const element of path) {
    const body = element.slice(2);
    switch (element.charAt(0)) {
      case "f":
        out += `.${body}`;
        break;
      case "k": {
        const parsed: unknown = JSON.parse(body);
        const parts = isRecord(parsed) ? Object.entries(parsed).map(([k, v]) => `${k}=${JSON.stringify(v)}`) : [];
        out += `[${parts.join(",")}]`;
        break;
      }
      case "v":
        out += `[=${body}]`;
        break;
      default:
        out += `[${body}]`;
    }
  }
  return out;
}
