// The shape server-side apply sees in an object: which maps are atomic, which lists are associative (and on which
// keys), which are sets, which are atomic. Lists come from the strategic-merge-patch table (one source of truth for
// built-in kinds); everything not listed there is atomic, as the OpenAPI list-type default says. From that shape:
// the set of fields an object sets, the difference between two objects, apply's merge, and removing fields.
import { isRecord } from "../meta.js";
import { cloneJson, deepEqual, getOwn, setOwn } from "../normalize.js";
import { listStrategyFor } from "../patch/strategic-merge-patch.js";
import { childOf, FieldSet, fieldElement, fieldsV1Of, keyElement, valueElement, type FieldPath, type FieldsNode, type PathElement } from "./fieldset.js";

export type ListType = { readonly kind: "atomic" } | { readonly kind: "set" } | { readonly kind: "map"; readonly keys: readonly string[] };

/** The list at a path of field names (no indices), as server-side apply treats it. */
export function listTypeAt(names: readonly string[]): ListType {
  const strategy = listStrategyFor(names);
  if (strategy === undefined) return { kind: "atomic" };
  const keys = strategy.listMapKeys ?? (strategy.mergeKey === undefined ? undefined : [strategy.mergeKey]);
  return keys === undefined ? { kind: "set" } : { kind: "map", keys };
}

/**
 * Maps and structs that are owned whole (`x-kubernetes-map-type: atomic`): label selectors (`+structType=atomic`
 * on LabelSelector, so Deployment/ReplicaSet/Job/PDB/NetworkPolicy selectors), and the map selectors of Services,
 * ReplicationControllers and pod specs (`+mapType=atomic`).
 */
const ATOMIC_MAPS = new Set(["selector", "podSelector", "namespaceSelector", "labelSelector", "nodeSelector"]);

export function isAtomicMap(names: readonly string[]): boolean {
  const last = names[names.length - 1];
  return last !== undefined && names.length > 1 && ATOMIC_MAPS.has(last);
}

/** Key fields with a default in the OpenAPI schema, so an item that omits them still has a key. */
const KEY_DEFAULTS: Readonly<Record<string, unknown>> = { protocol: "TCP" };

/** The key element of an associative-list item, or undefined when a key field is missing. */
export function itemKey(item: unknown, keys: readonly string[]): PathElement | undefined {
  if (!isRecord(item)) return undefined;
  const values: Record<string, unknown> = {};
  for (const key of keys) {
    const value = getOwn(item, key) ?? KEY_DEFAULTS[key];
    if (value === undefined) return undefined;
    values[key] = value;
  }
  return keyElement(values);
}

/** ObjectMeta fields the server owns; they are never in anyone's field set (upstream's stripped fields). */
const SERVER_META = new Set(["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"]);

/** Which top-level fields a write may own: the main resource, or one subresource (status) of the object. */
export type Scope = (topLevelField: string) => boolean;

export const WHOLE_OBJECT: Scope = (field) => field !== "apiVersion" && field !== "kind";

interface Member {
  readonly path: FieldPath;
  /** The value at a leaf; undefined for an associative-list item, which is in the set for itself and its fields. */
  readonly value: unknown;
  /** A map or list with members of its own (only listed when asked for). */
  readonly container?: boolean;
}

/**
 * Every path in the object's field set, with its value. With `containers`, also the maps and lists that have
 * members: an Update that adds one owns it too (`".": {}` beside its members in FieldsV1), where an apply owns
 * only what it sets.
 */
export function members(object: unknown, scope: Scope = WHOLE_OBJECT, containers = false): Map<string, Member> {
  const out = new Map<string, Member>();
  if (isRecord(object)) membersAt(object, [], [], scope, containers, out);
  return out;
}

/** members() of the value at `path` (its field names `names`) of an object: that path and every path below it. */
function membersAt(start: unknown, startNames: readonly string[], startPath: FieldPath, scope: Scope, containers: boolean, out: Map<string, Member>): void {
  // Each path's key (its JSON) is made from its parent's, one element appended, not serialized whole again.
  const put = (path: FieldPath, key: string, value: unknown): void => {
    out.set(key, { path, value });
  };
  const container = (path: FieldPath, key: string): void => {
    if (containers && path.length > 0) out.set(key, { path, value: undefined, container: true });
  };
  const walk = (value: unknown, names: readonly string[], path: FieldPath, pathKey: string): void => {
    if (isRecord(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0 || isAtomicMap(names)) {
        put(path, pathKey, value);
        return;
      }
      container(path, pathKey);
      for (const key of keys) {
        const child = value[key];
        if (child === undefined) continue;
        if (names.length === 0 && !scope(key)) continue;
        if (names.length === 1 && names[0] === "metadata" && SERVER_META.has(key)) continue;
        const element = fieldElement(key);
        walk(child, [...names, key], [...path, element], childKey(pathKey, element));
      }
      return;
    }
    if (Array.isArray(value)) {
      const type = listTypeAt(names);
      if (type.kind === "atomic" || value.length === 0) {
        put(path, pathKey, value);
        return;
      }
      container(path, pathKey);
      for (const item of value) {
        if (type.kind === "set") {
          const element = valueElement(item);
          put([...path, element], childKey(pathKey, element), item);
          continue;
        }
        const key = itemKey(item, type.keys);
        if (key === undefined) continue;
        const itemPath = [...path, key];
        const itemPathKey = childKey(pathKey, key);
        put(itemPath, itemPathKey, undefined);
        walk(item, names, itemPath, itemPathKey);
      }
      return;
    }
    put(path, pathKey, value);
  };
  walk(start, startNames, startPath, JSON.stringify(startPath));
}

/** JSON.stringify([...path, element]) from JSON.stringify(path). */
function childKey(pathKey: string, element: PathElement): string {
  return pathKey.length === 2 ? `[${JSON.stringify(element)}]` : `${pathKey.slice(0, -1)},${JSON.stringify(element)}]`;
}

/** The paths an object sets: what an applier owns for its configuration. */
export function fieldSetOf(object: unknown, scope: Scope = WHOLE_OBJECT): FieldSet {
  return new FieldSet([...members(object, scope).values()].map((m) => m.path));
}

export interface Comparison {
  readonly added: FieldSet;
  readonly modified: FieldSet;
  readonly removed: FieldSet;
}

/**
 * Structs every object of a built-in kind has even when empty (Go values, not pointers), so that creating an object
 * does not add them: `f:spec`, `f:template` and a pod's `f:containers` never carry a `"."`, where `f:labels` or
 * `f:rollingUpdate` do.
 */
const ALWAYS_PRESENT = new Set(["metadata", "spec", "status", "template", "strategy", "updateStrategy", "jobTemplate", "containers"]);

function alwaysPresent(path: FieldPath): boolean {
  return path.every((e) => e.startsWith("f:") && ALWAYS_PRESENT.has(e.slice(2)));
}

/**
 * The paths a write adds, changes and removes, from the object before (undefined for a create) to the object after.
 * A map or list that appears is added with its members.
 */
export function compare(before: unknown, after: unknown, scope: Scope = WHOLE_OBJECT): Comparison {
  const result: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  // Both objects have members: compared map by map, skipping what did not change.
  if (isRecord(before) && isRecord(after) && Object.keys(before).length > 0 && Object.keys(after).length > 0) {
    compareMaps(before, after, [], [], scope, result);
  } else {
    compareMembers(members(before, scope, true), members(after, scope, true), result);
  }
  return result;
}

/**
 * compare() below two maps found at the same path, both with members (so both containers, neither added nor
 * removed nor modified itself), reached from the root through map members only: no other place in the object has
 * paths under this one, so a member equal on both sides adds nothing to the comparison, and a member that differs
 * is compared on its own paths.
 */
function compareMaps(before: Record<string, unknown>, after: Record<string, unknown>, names: readonly string[], path: FieldPath, scope: Scope, result: Comparison): void {
  const skipped = (key: string): boolean => (names.length === 0 && !scope(key)) || (names.length === 1 && names[0] === "metadata" && SERVER_META.has(key));
  for (const key of Object.keys(after)) {
    if (skipped(key)) continue;
    compareMember(Object.hasOwn(before, key) ? before[key] : undefined, after[key], [...names, key], [...path, fieldElement(key)], scope, result);
  }
  for (const key of Object.keys(before)) {
    if (skipped(key) || Object.hasOwn(after, key)) continue;
    compareMember(before[key], undefined, [...names, key], [...path, fieldElement(key)], scope, result);
  }
}

function compareMember(before: unknown, after: unknown, names: readonly string[], path: FieldPath, scope: Scope, result: Comparison): void {
  if (before === after) return;
  if (before !== undefined && after !== undefined && isContainerMap(before, names) && isContainerMap(after, names)) {
    compareMaps(before, after, names, path, scope, result);
    return;
  }
  if (before !== undefined && after !== undefined && deepEqual(before, after)) return;
  const old = new Map<string, Member>();
  const next = new Map<string, Member>();
  if (before !== undefined) membersAt(before, names, path, scope, true, old);
  if (after !== undefined) membersAt(after, names, path, scope, true, next);
  compareMembers(old, next, result);
}

/** A map that members() walks into (it has members and is not atomic). */
function isContainerMap(value: unknown, names: readonly string[]): value is Record<string, unknown> {
  return isRecord(value) && Object.keys(value).length > 0 && !isAtomicMap(names);
}

/** The comparison of two objects' members (with containers), into `result`. */
function compareMembers(old: Map<string, Member>, next: Map<string, Member>, result: Comparison): void {
  const { added, modified, removed } = result;
  for (const [key, member] of next) {
    const previous = old.get(key);
    if (previous === undefined) {
      if (!(member.container === true && alwaysPresent(member.path))) added.add(member.path, key);
    } else if (member.container !== true && previous.container !== true && !deepEqual(previous.value, member.value)) {
      modified.add(member.path, key);
    }
  }
  for (const [key, member] of old) if (!next.has(key) && !(member.container === true && alwaysPresent(member.path))) removed.add(member.path, key);
}

/** compare() as FieldsV1 trees: what a write adds or changes (added ∪ modified), and what it removes. */
export interface FieldsV1Comparison {
  readonly changed: Record<string, unknown>;
  readonly removed: Record<string, unknown>;
}

/**
 * `compare(before, after, scope)` with `added.union(modified)` and `removed` as canonical FieldsV1 (what
 * FieldSet.toFieldsV1 writes for them), built in one walk of both objects side by side instead of a map of every
 * member path of each changed subtree: an update's trackUpdate needs no more than these two trees (a kubelet's
 * status write spent ~40 µs of apiserver CPU in compare and the encoding of its fields). Undefined where the walk
 * steps aside for compare(): an object that is not a map with members, or an associative list with two items of
 * one key (compare merges their fields).
 */
export function compareFieldsV1(before: unknown, after: unknown, scope: Scope = WHOLE_OBJECT): FieldsV1Comparison | undefined {
  if (!isRecord(before) || !isRecord(after) || Object.keys(before).length === 0 || Object.keys(after).length === 0) return undefined;
  const walk = new ComparisonWalk(scope);
  const changed = walk.mapMembers(before, after, true, false, false) ?? {};
  const removed = walk.removed ?? {};
  return walk.duplicateItems ? undefined : { changed, removed };
}

/** How members() sees a value at a path: absent, a leaf (a member without members), or a container of some kind. */
const ABSENT = 0;
const LEAF = 1;
const MAP = 2;
const SET = 3;
const ASSOCIATIVE = 4;
type Shape = typeof ABSENT | typeof LEAF | typeof MAP | typeof SET | typeof ASSOCIATIVE;

/**
 * The walk of compareFieldsV1. Each step takes one path's value before and after (undefined: absent) and returns the
 * FieldsV1 subtree of the changed paths at and below it, leaving the subtree of the removed ones in `removed`. One
 * output node's members all come from one side's container (a changed path exists after the write, a removed one
 * before it), so they are of one element kind and plain string order is compareElements' order.
 */
class ComparisonWalk {
  /** Set when an associative list has two items with one key: the result is then not to be used. */
  duplicateItems = false;
  /** The removed subtree of the last step, beside the changed one it returned. */
  removed: Record<string, unknown> | undefined;
  /** The field names from the root to the value being walked (list items add none), pushed and popped. */
  private readonly names: string[] = [];
  private readonly scope: Scope;

  constructor(scope: Scope) {
    this.scope = scope;
  }

  private shape(value: unknown): Shape {
    if (value === undefined) return ABSENT;
    if (isRecord(value)) return Object.keys(value).length === 0 || isAtomicMap(this.names) ? LEAF : MAP;
    if (Array.isArray(value)) {
      if (value.length === 0) return LEAF;
      const type = listTypeAt(this.names);
      return type.kind === "atomic" ? LEAF : type.kind === "set" ? SET : ASSOCIATIVE;
    }
    return LEAF;
  }

  /**
   * The path with `before` and `after` (the names pushed): `present` when every element of the path is an
   * always-present struct.
   */
  member(before: unknown, after: unknown, present: boolean): Record<string, unknown> | undefined {
    this.removed = undefined;
    if (before === after) return undefined;
    const beforeShape = this.shape(before);
    const afterShape = this.shape(after);
    if (beforeShape === LEAF && afterShape === LEAF) return deepEqual(before, after) ? undefined : {};
    if (beforeShape !== ABSENT && afterShape !== ABSENT && !(beforeShape === MAP && afterShape === MAP) && deepEqual(before, after)) return undefined;
    // The path itself: added when it appears (unless an always-present container), removed when it goes; a path on
    // both sides where either is a container is neither modified nor anything else.
    const added = beforeShape === ABSENT && !(afterShape >= MAP && present);
    const gone = afterShape === ABSENT && !(beforeShape >= MAP && present);
    let changed: Record<string, unknown> | undefined;
    let removed: Record<string, unknown> | undefined;
    if (beforeShape === afterShape) {
      changed = this.members(before, after, beforeShape, present, added, gone);
      removed = this.removed;
    } else {
      // Different shapes share no member below the path: the old members all go, the new ones all come.
      this.members(before, undefined, beforeShape, present, false, gone);
      removed = this.removed;
      changed = this.members(undefined, after, afterShape, present, added, false);
    }
    this.removed = removed ?? (gone ? {} : undefined);
    return changed ?? (added ? {} : undefined);
  }

  /**
   * The members below a path whose two values (either may be undefined) have `shape`: the changed subtree, with
   * `".": {}` first when `added` and it has members; the removed one in `removed`, likewise for `gone`.
   */
  private members(before: unknown, after: unknown, shape: Shape, present: boolean, added: boolean, gone: boolean): Record<string, unknown> | undefined {
    switch (shape) {
      case MAP:
        return this.mapMembers((before ?? {}) as Record<string, unknown>, (after ?? {}) as Record<string, unknown>, present, added, gone);
      case SET:
        return this.setMembers((before ?? []) as unknown[], (after ?? []) as unknown[], added, gone);
      case ASSOCIATIVE:
        return this.itemMembers((before ?? []) as unknown[], (after ?? []) as unknown[], added, gone);
      case ABSENT:
      case LEAF:
        this.removed = undefined;
        return undefined;
    }
  }

  /** The members of two maps: their fields (the root's in scope, metadata's not the server's), in name order. */
  mapMembers(before: Record<string, unknown>, after: Record<string, unknown>, present: boolean, added: boolean, gone: boolean): Record<string, unknown> | undefined {
    const names = this.names;
    const depth = names.length;
    const skipped = (key: string): boolean => (depth === 0 && !this.scope(key)) || (depth === 1 && names[0] === "metadata" && SERVER_META.has(key));
    const keys: string[] = [];
    for (const key of Object.keys(after)) if (after[key] !== undefined && !skipped(key)) keys.push(key);
    for (const key of Object.keys(before)) {
      if (before[key] !== undefined && !(Object.hasOwn(after, key) && after[key] !== undefined) && !skipped(key)) keys.push(key);
    }
    sortNames(keys);
    let changed: Record<string, unknown> | undefined;
    let removed: Record<string, unknown> | undefined;
    for (const key of keys) {
      names.push(key);
      const fields = this.member(Object.hasOwn(before, key) ? before[key] : undefined, Object.hasOwn(after, key) ? after[key] : undefined, present && ALWAYS_PRESENT.has(key));
      names.pop();
      const element = fieldElementOf(key);
      // Assigned safely: an element starts with its tag ("f:"), so it is never "__proto__".
      if (fields !== undefined) (changed ??= added ? { ".": {} } : {})[element] = fields;
      if (this.removed !== undefined) (removed ??= gone ? { ".": {} } : {})[element] = this.removed;
    }
    this.removed = removed;
    return changed;
  }

  /** The members of two set lists: one leaf per distinct value. */
  private setMembers(before: readonly unknown[], after: readonly unknown[], added: boolean, gone: boolean): Record<string, unknown> | undefined {
    const old = new Set(before.map(valueElement));
    const next = new Set(after.map(valueElement));
    let changed: Record<string, unknown> | undefined;
    let removed: Record<string, unknown> | undefined;
    for (const element of [...next].sort()) if (!old.has(element)) (changed ??= added ? { ".": {} } : {})[element] = {};
    for (const element of [...old].sort()) if (!next.has(element)) (removed ??= gone ? { ".": {} } : {})[element] = {};
    this.removed = removed;
    return changed;
  }

  /** The members of two associative lists: their keyed items, each with its fields. */
  private itemMembers(before: readonly unknown[], after: readonly unknown[], added: boolean, gone: boolean): Record<string, unknown> | undefined {
    const type = listTypeAt(this.names);
    if (type.kind !== "map") throw new Error("itemMembers of a list that is not associative");
    const old = this.keyedItems(before, type.keys);
    const next = this.keyedItems(after, type.keys);
    const elements = [...next.keys()];
    for (const element of old.keys()) if (!next.has(element)) elements.push(element);
    elements.sort();
    let changed: Record<string, unknown> | undefined;
    let removed: Record<string, unknown> | undefined;
    for (const element of elements) {
      const fields = this.member(old.get(element), next.get(element), false);
      if (fields !== undefined) (changed ??= added ? { ".": {} } : {})[element] = fields;
      if (this.removed !== undefined) (removed ??= gone ? { ".": {} } : {})[element] = this.removed;
    }
    this.removed = removed;
    return changed;
  }

  private keyedItems(items: readonly unknown[], keys: readonly string[]): Map<PathElement, unknown> {
    const out = new Map<PathElement, unknown>();
    for (const item of items) {
      const key = itemKey(item, keys);
      if (key === undefined) continue;
      if (out.has(key)) this.duplicateItems = true;
      out.set(key, item);
    }
    return out;
  }
}

/**
 * `compare(undefined, object, scope).added.toFieldsV1()` — the fields a create adds, as FieldsV1 — built in one walk
 * straight into FieldsV1: a create's managedFields are this one set, and every create records them (it was ~3% of
 * the CPU of a pod create). The walk is members()' with containers, minus the always-present ones, as compare has
 * it; each level's members are sorted as FieldSet.toFieldsV1 orders them (one level holds elements of one kind
 * only, so plain string order is compareElements' order). Undefined when the create adds no field.
 */
export function createdFieldsV1(object: unknown, scope: Scope = WHOLE_OBJECT): Record<string, unknown> | undefined {
  if (!isRecord(object)) return undefined;
  const walk = new CreatedFieldsWalk(scope);
  const fields = walk.record(object, false);
  // Two items of an associative list with one key share one node holding both items' fields: the tree does that.
  return walk.duplicateItems ? createdFieldsV1ByTree(object, scope) : fields;
}

/**
 * fieldElement, remembered for the field names objects repeat on every create (a property key made by concatenation
 * is looked up in V8's string table each time it is used; a remembered one already is one). Bounded: names that map
 * keys bring (labels, annotations, data) stop being remembered once it is full.
 */
const fieldElements = new Map<string, PathElement>();
const FIELD_ELEMENTS_MAX = 4096;
const FIELD_NAME_MAX = 64;

function fieldElementOf(name: string): PathElement {
  let element = fieldElements.get(name);
  if (element === undefined) {
    element = fieldElement(name);
    if (fieldElements.size < FIELD_ELEMENTS_MAX && name.length <= FIELD_NAME_MAX) fieldElements.set(name, element);
  }
  return element;
}

/** Past this many names, Array.prototype.sort; below, an insertion sort in place (sort copies into a work array). */
const INSERTION_SORT_MAX = 32;

/** Sorts names in place in UTF-16 code unit order, as Array.prototype.sort() without a comparator does. */
function sortNames(names: string[]): void {
  if (names.length > INSERTION_SORT_MAX) {
    names.sort();
    return;
  }
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    let j = i - 1;
    if (names[j]! <= name) continue;
    do {
      names[j + 1] = names[j]!;
      j--;
    } while (j >= 0 && names[j]! > name);
    names[j + 1] = name;
  }
}

const byElement = (a: readonly [PathElement, unknown], b: readonly [PathElement, unknown]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

class CreatedFieldsWalk {
  /** Set when an associative list has two items with one key: the result is then not to be used. */
  duplicateItems = false;
  /** The field names from the root to the value being walked (list items add none), pushed and popped. */
  private readonly names: string[] = [];
  private readonly scope: Scope;

  constructor(scope: Scope) {
    this.scope = scope;
  }

  /**
   * The FieldsV1 of a map at `names`: `inSet` says whether the map itself is in the set (a member that is not an
   * always-present struct, or a list item). Undefined when nothing at or under it is in the set.
   */
  record(value: Record<string, unknown>, inSet: boolean): Record<string, unknown> | undefined {
    const names = this.names;
    const keys = Object.keys(value);
    if (keys.length === 0 || isAtomicMap(names)) return {};
    sortNames(keys);
    const depth = names.length;
    const present = !inSet;
    let out: Record<string, unknown> | undefined;
    for (const key of keys) {
      const child = value[key];
      if (child === undefined) continue;
      if (depth === 0 && !this.scope(key)) continue;
      if (depth === 1 && names[0] === "metadata" && SERVER_META.has(key)) continue;
      names.push(key);
      const fields = this.member(child, present && ALWAYS_PRESENT.has(key));
      names.pop();
      if (fields === undefined) continue;
      out ??= inSet ? { ".": {} } : {};
      // Assigned safely: an element starts with its tag ("f:"), so it is never "__proto__".
      out[fieldElementOf(key)] = fields;
    }
    return out ?? (inSet ? {} : undefined);
  }

  /** A map's member: `present` when every field on its path is an always-present struct. */
  private member(value: unknown, present: boolean): Record<string, unknown> | undefined {
    if (isRecord(value)) return this.record(value, !present);
    if (Array.isArray(value)) return this.list(value, present);
    return {};
  }

  private list(value: readonly unknown[], present: boolean): Record<string, unknown> | undefined {
    const type = listTypeAt(this.names);
    if (type.kind === "atomic" || value.length === 0) return {};
    if (type.kind === "set") {
      const elements = value.map(valueElement).sort();
      const out: Record<string, unknown> = present ? {} : { ".": {} };
      for (const element of elements) out[element] = {};
      return out;
    }
    const items: [PathElement, Record<string, unknown>][] = [];
    for (const item of value) {
      const key = itemKey(item, type.keys);
      if (key === undefined) continue;
      // itemKey found keys: the item is a map. An item is in the set with its fields.
      items.push([key, this.record(item as Record<string, unknown>, true) ?? {}]);
    }
    if (items.length === 0) return present ? undefined : {};
    items.sort(byElement);
    const out: Record<string, unknown> = present ? {} : { ".": {} };
    for (let i = 0; i < items.length; i++) {
      const [key, fields] = items[i]!;
      if (i > 0 && items[i - 1]![0] === key) this.duplicateItems = true;
      out[key] = fields;
    }
    return out;
  }
}

/**
 * createdFieldsV1 through a tree of nodes, which merges the items of an associative list that share a key.
 */
function createdFieldsV1ByTree(object: unknown, scope: Scope): Record<string, unknown> | undefined {
  const root: FieldsNode = { inSet: false, children: new Map() };
  // `present`: every element of the node's path is an always-present struct, so that as a container it is not added.
  const walk = (value: unknown, names: readonly string[], node: FieldsNode, present: boolean): void => {
    if (isRecord(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0 || isAtomicMap(names)) {
        node.inSet = true;
        return;
      }
      if (names.length > 0 && !present) node.inSet = true;
      for (const key of keys) {
        const child = value[key];
        if (child === undefined) continue;
        if (names.length === 0 && !scope(key)) continue;
        if (names.length === 1 && names[0] === "metadata" && SERVER_META.has(key)) continue;
        walk(child, [...names, key], childOf(node, fieldElement(key)), present && ALWAYS_PRESENT.has(key));
      }
      return;
    }
    if (Array.isArray(value)) {
      const type = listTypeAt(names);
      if (type.kind === "atomic" || value.length === 0) {
        node.inSet = true;
        return;
      }
      if (!present) node.inSet = true;
      for (const item of value) {
        if (type.kind === "set") {
          childOf(node, valueElement(item)).inSet = true;
          continue;
        }
        const key = itemKey(item, type.keys);
        if (key === undefined) continue;
        const itemNode = childOf(node, key);
        itemNode.inSet = true;
        walk(item, names, itemNode, false);
      }
      return;
    }
    node.inSet = true;
  };
  if (isRecord(object)) walk(object, [], root, true);
  return fieldsV1Of(root);
}

/**
 * Apply's merge: the applied configuration over the live object. Maps merge member by member (atomic maps are
 * replaced), associative lists item by item on their keys (new items appended), sets by union, anything else is
 * replaced. Returns a new object.
 */
export function mergeApplied(live: unknown, config: unknown): unknown {
  return mergeValue(cloneJson(live), config, []);
}

function mergeValue(live: unknown, config: unknown, names: readonly string[]): unknown {
  if (isRecord(config)) {
    if (!isRecord(live) || isAtomicMap(names)) return cloneJson(config);
    for (const [key, value] of Object.entries(config)) {
      setOwn(live, key, mergeValue(getOwn(live, key), value, [...names, key]));
    }
    return live;
  }
  if (Array.isArray(config) && Array.isArray(live)) {
    const type = listTypeAt(names);
    if (type.kind === "set") {
      const out: unknown[] = [...(live as unknown[])];
      for (const item of config) if (!out.some((x) => deepEqual(x, item))) out.push(cloneJson(item));
      return out;
    }
    if (type.kind === "map") {
      const out: unknown[] = [...(live as unknown[])];
      for (const item of config) {
        const key = itemKey(item, type.keys);
        const at = key === undefined ? -1 : out.findIndex((x) => itemKey(x, type.keys) === key);
        if (at >= 0) out[at] = mergeValue(out[at], item, names);
        else out.push(cloneJson(item));
      }
      return out;
    }
  }
  return cloneJson(config);
}

/** Removes the paths from the object in place; paths that are not there are ignored. Maps emptied by it go too. */
export function removePaths(object: Record<string, unknown>, paths: readonly FieldPath[]): void {
  // Deepest first, so that a list item's fields go before the item itself.
  for (const path of [...paths].sort((a, b) => b.length - a.length)) removePath(object, path);
}

function removePath(root: Record<string, unknown>, path: FieldPath): void {
  const trail: { container: Record<string, unknown> | unknown[]; at: string | number }[] = [];
  let node: unknown = root;
  for (const element of path) {
    const located = locate(node, element);
    if (located === undefined) return;
    trail.push({ container: located.container, at: located.at });
    node = Array.isArray(located.container) ? located.container[located.at as number] : getOwn(located.container, located.at as string);
  }
  // Remove the last step, then climb while the parent became an empty map or list.
  for (let i = trail.length - 1; i >= 0; i--) {
    const { container, at } = trail[i]!;
    if (Array.isArray(container)) container.splice(at as number, 1);
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing the member a path names
    else delete container[at as string];
    const empty = Array.isArray(container) ? container.length === 0 : Object.keys(container).length === 0;
    if (!empty || i === 0) return;
  }
}

function locate(node: unknown, element: PathElement): { container: Record<string, unknown> | unknown[]; at: string | number } | undefined {
  const body = element.slice(2);
  if (element.startsWith("f:")) return isRecord(node) && Object.hasOwn(node, body) ? { container: node, at: body } : undefined;
  if (!Array.isArray(node)) return undefined;
  if (element.startsWith("k:")) {
    const keys: unknown = JSON.parse(body);
    if (!isRecord(keys)) return undefined;
    const names = Object.keys(keys);
    const at = node.findIndex((item) => itemKey(item, names) === element);
    return at >= 0 ? { container: node, at } : undefined;
  }
  if (element.startsWith("v:")) {
    const value: unknown = JSON.parse(body);
    const at = node.findIndex((item) => deepEqual(item, value));
    return at >= 0 ? { container: node, at } : undefined;
  }
  const index = Number(body);
  return Number.isInteger(index) && index >= 0 && index < node.length ? { container: node, at: index } : undefined;
}
