// The shape server-side apply sees in an object: which maps are atomic, which lists are associative (and on which
// keys), which are sets, which are atomic. Lists come from the strategic-merge-patch table (one source of truth for
// built-in kinds); everything not listed there is atomic, as the OpenAPI list-type default says. From that shape:
// the set of fields an object sets, the difference between two objects, apply's merge, and removing fields.
import { isRecord } from "../meta.js";
import { cloneJson, deepEqual, getOwn, setOwn } from "../normalize.js";
import { listStrategyFor } from "../patch/strategic-merge-patch.js";
import { compareElements, FieldSet, fieldElement, keyElement, valueElement, type FieldPath, type PathElement } from "./fieldset.js";

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
  const put = (path: FieldPath, value: unknown): void => {
    out.set(JSON.stringify(path), { path, value });
  };
  const container = (path: FieldPath): void => {
    if (containers && path.length > 0) out.set(JSON.stringify(path), { path, value: undefined, container: true });
  };
  const walk = (value: unknown, names: readonly string[], path: FieldPath): void => {
    if (isRecord(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0 || isAtomicMap(names)) {
        put(path, value);
        return;
      }
      container(path);
      for (const key of keys) {
        const child = value[key];
        if (child === undefined) continue;
        if (names.length === 0 && !scope(key)) continue;
        if (names.length === 1 && names[0] === "metadata" && SERVER_META.has(key)) continue;
        walk(child, [...names, key], [...path, fieldElement(key)]);
      }
      return;
    }
    if (Array.isArray(value)) {
      const type = listTypeAt(names);
      if (type.kind === "atomic" || value.length === 0) {
        put(path, value);
        return;
      }
      container(path);
      for (const item of value) {
        if (type.kind === "set") {
          put([...path, valueElement(item)], item);
          continue;
        }
        const key = itemKey(item, type.keys);
        if (key === undefined) continue;
        const itemPath = [...path, key];
        put(itemPath, undefined);
        walk(item, names, itemPath);
      }
      return;
    }
    put(path, value);
  };
  if (isRecord(object)) walk(object, [], []);
  return out;
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
  const old = members(before, scope, true);
  const next = members(after, scope, true);
  const added = new FieldSet();
  const modified = new FieldSet();
  const removed = new FieldSet();
  for (const [key, member] of next) {
    const previous = old.get(key);
    if (previous === undefined) {
      if (!(member.container === true && alwaysPresent(member.path))) added.add(member.path, key);
    } else if (member.container !== true && previous.container !== true && !deepEqual(previous.value, member.value)) {
      modified.add(member.path, key);
    }
  }
  for (const [key, member] of old) if (!next.has(key) && !(member.container === true && alwaysPresent(member.path))) removed.add(member.path, key);
  return { added, modified, removed };
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

/** A node of the FieldsV1 tree createdFieldsV1ByTree builds: whether its own path is in the set, and its members. */
interface FieldsNode {
  inSet: boolean;
  readonly children: Map<PathElement, FieldsNode>;
}

function childOf(node: FieldsNode, element: PathElement): FieldsNode {
  let child = node.children.get(element);
  if (child === undefined) {
    child = { inSet: false, children: new Map() };
    node.children.set(element, child);
  }
  return child;
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
 * A FieldsNode as FieldsV1: `".": {}` first on a member of the set that has members, then the members in order.
 * Undefined for a node with nothing of the set at or under it (a struct whose members are all the server's).
 */
function fieldsV1Of(node: FieldsNode): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let members = 0;
  const elements = node.children.size === 1 ? node.children.keys() : [...node.children.keys()].sort(compareElements);
  for (const element of elements) {
    const member = fieldsV1Of(node.children.get(element)!);
    if (member === undefined) continue;
    // Assigned safely: an element starts with its tag ("f:", "k:", "v:"), so it is never "__proto__".
    out[element] = member;
    members++;
  }
  if (members === 0) return node.inSet ? out : undefined;
  return node.inSet ? { ".": {}, ...out } : out;
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
