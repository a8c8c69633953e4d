// Kubernetes strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch), as `kubectl apply`, `edit` and
// `set image` send it. Maps merge recursively and null deletes, as in a JSON merge patch; the difference is lists.
// Upstream reads each list's strategy from Go struct tags; here a small table keyed by the path of field names
// (array indices are not part of a path) says which lists merge item by item and on which key. Lists not in the
// table are replaced whole, which is what the struct tags say for args, command, tolerations, envFrom and the rest.
//
// Directives (kubectl emits all of them; none survives into the result):
//   {"$patch": "replace"} in a map      the map becomes the patch's map
//   {"$patch": "delete"} in a map       the map becomes {}
//   {"$patch": "merge"}                 the default; accepted and ignored, in maps and list items
//   {"<key>": v, "$patch": "delete"}    as a list item: removes the items with that merge key value
//   {"$patch": "replace"} as list item  the list becomes the patch's other items
//   "$setElementOrder/<list>": [...]    the final order of the items named (server-only items keep their place)
//   "$retainKeys": [...]                drops the map's keys not listed (volumes, Deployment spec.strategy)
//   "$deleteFromPrimitiveList/<list>"   removes those values from a list of primitives (finalizers)
// Malformed directives and list items without their merge key are 400 BadRequest.
import { badRequest } from "../errors.js";
import { isRecord } from "../meta.js";
import { cloneJson, deepEqual, getOwn, setOwn } from "../normalize.js";

/**
 * How a list merges: item by item on `mergeKey`, or, without one, as a set of primitive values. Server-side apply
 * (api/managed-fields) reads the same table: its list-map keys are `listMapKeys` where the OpenAPI
 * `x-kubernetes-list-map-keys` differ from the patch merge key, `[mergeKey]` otherwise.
 */
export interface ListStrategy {
  readonly mergeKey?: string;
  readonly listMapKeys?: readonly string[];
}

/**
 * The lists that merge. A pattern starting with `**.` matches any path that ends with the rest, so one entry covers
 * a pod spec in a Pod, a PodTemplate, a Deployment/ReplicaSet/RC/DaemonSet/StatefulSet/Job template and a CronJob's
 * job template, and ObjectMeta on every kind and in every template. Other patterns match the whole path.
 */
const MERGE_LISTS: Readonly<Record<string, ListStrategy>> = {
  // ObjectMeta.
  "**.metadata.finalizers": {},
  "**.metadata.ownerReferences": { mergeKey: "uid" },
  // PodSpec.
  "**.spec.containers": { mergeKey: "name" },
  "**.spec.initContainers": { mergeKey: "name" },
  "**.spec.ephemeralContainers": { mergeKey: "name" },
  "**.spec.volumes": { mergeKey: "name" },
  "**.spec.imagePullSecrets": { mergeKey: "name" },
  "**.spec.hostAliases": { mergeKey: "ip" },
  "**.spec.topologySpreadConstraints": { mergeKey: "topologyKey", listMapKeys: ["topologyKey", "whenUnsatisfiable"] },
  "**.spec.schedulingGates": { mergeKey: "name" },
  "**.spec.resourceClaims": { mergeKey: "name" },
  // Container, in each of the three container lists. Upstream's patch merge key for container ports is
  // containerPort alone; server-side apply keys them on containerPort and protocol.
  "**.containers.ports": { mergeKey: "containerPort", listMapKeys: ["containerPort", "protocol"] },
  "**.containers.env": { mergeKey: "name" },
  "**.containers.volumeMounts": { mergeKey: "mountPath" },
  "**.containers.volumeDevices": { mergeKey: "devicePath" },
  "**.initContainers.ports": { mergeKey: "containerPort", listMapKeys: ["containerPort", "protocol"] },
  "**.initContainers.env": { mergeKey: "name" },
  "**.initContainers.volumeMounts": { mergeKey: "mountPath" },
  "**.initContainers.volumeDevices": { mergeKey: "devicePath" },
  "**.ephemeralContainers.ports": { mergeKey: "containerPort", listMapKeys: ["containerPort", "protocol"] },
  "**.ephemeralContainers.env": { mergeKey: "name" },
  "**.ephemeralContainers.volumeMounts": { mergeKey: "mountPath" },
  "**.ephemeralContainers.volumeDevices": { mergeKey: "devicePath" },
  // Status: conditions of every kind that has them; PodStatus addresses.
  "**.status.conditions": { mergeKey: "type" },
  "**.status.podIPs": { mergeKey: "ip" },
  "**.status.hostIPs": { mergeKey: "ip" },
  // Top-level lists of single kinds: Service spec.ports, Node spec.podCIDRs and status.addresses, ServiceAccount secrets.
  "spec.ports": { mergeKey: "port", listMapKeys: ["port", "protocol"] },
  "spec.podCIDRs": {},
  "status.addresses": { mergeKey: "type" },
  secrets: { mergeKey: "name" },
};

interface Rule {
  readonly anywhere: boolean;
  readonly fields: readonly string[];
  readonly strategy: ListStrategy;
}

const RULES: readonly Rule[] = Object.entries(MERGE_LISTS).map(([pattern, strategy]) => ({
  anywhere: pattern.startsWith("**."),
  fields: pattern.replace(/^\*\*\./, "").split("."),
  strategy,
}));

/** The rules by the last field of their pattern, in RULES' order: a path is only matched against those of its last name. */
const RULES_BY_LAST_FIELD: ReadonlyMap<string, readonly Rule[]> = RULES.reduce((byLast, rule) => {
  const last = rule.fields[rule.fields.length - 1]!;
  byLast.set(last, [...(byLast.get(last) ?? []), rule]);
  return byLast;
}, new Map<string, Rule[]>());

/** The strategy of the list at `path` (field names from the object root), or undefined when it is replaced whole. */
export function listStrategyFor(path: readonly string[]): ListStrategy | undefined {
  const last = path[path.length - 1];
  const rules = last === undefined ? undefined : RULES_BY_LAST_FIELD.get(last);
  if (rules === undefined) return undefined;
  for (const rule of rules) {
    const offset = path.length - rule.fields.length;
    if (offset < 0 || (!rule.anywhere && offset !== 0)) continue;
    if (rule.fields.every((f, i) => path[offset + i] === f)) return rule.strategy;
  }
  return undefined;
}

const PATCH = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ELEMENT_ORDER = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/";

/**
 * Applies a strategic merge patch to an object and returns a new object that shares nothing with either input.
 * An absent or non-object `original` counts as `{}`. The patch must be an object (400 otherwise).
 */
export function applyStrategicMergePatch(original: unknown, patch: unknown): Record<string, unknown> {
  if (!isRecord(patch)) throw badRequest("a strategic merge patch must be a JSON object");
  return mergeMap(isRecord(original) ? cloneJson(original) : {}, patch, []);
}

/** Merges `patch` into `original`, which the caller owns and this may change; returns the merged map. */
function mergeMap(
  original: Record<string, unknown>,
  patch: Record<string, unknown>,
  path: readonly string[],
): Record<string, unknown> {
  const directive = getOwn(patch, PATCH);
  if (directive === "replace") return mergeMap({}, withoutKey(patch, PATCH), path);
  if (directive === "delete") return {};
  if (directive !== undefined && directive !== "merge") throw badPatchType(directive, patch);

  applyRetainKeys(original, patch);
  applyDeletesFromPrimitiveLists(original, patch);

  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue;
    if (value === null) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- deleting the member the patch names
      delete original[key];
      continue;
    }
    const childPath = [...path, key];
    const current = getOwn(original, key);
    if (isRecord(value)) {
      setOwn(original, key, mergeMap(isRecord(current) ? current : {}, value, childPath));
    } else if (Array.isArray(value)) {
      const strategy = listStrategyFor(childPath);
      if (strategy === undefined) {
        setOwn(original, key, replacementList(value, childPath));
      } else {
        const order = elementOrder(patch, key, strategy);
        setList(original, key, Array.isArray(current) ? current : [], value, strategy, order, childPath);
      }
    } else {
      setOwn(original, key, value);
    }
  }

  // An order directive for a list the patch does not otherwise touch only reorders it.
  for (const directiveKey of Object.keys(patch)) {
    if (!directiveKey.startsWith(SET_ELEMENT_ORDER)) continue;
    const key = directiveKey.slice(SET_ELEMENT_ORDER.length);
    const strategy = listStrategyFor([...path, key]);
    const current = getOwn(original, key);
    if (Object.hasOwn(patch, key) || strategy === undefined || !Array.isArray(current)) continue;
    setList(original, key, current, [], strategy, elementOrder(patch, key, strategy), [...path, key]);
  }
  return original;
}

/** Stores a merged list; a list that merging emptied is dropped, as Go's omitempty would drop it. */
function setList(
  target: Record<string, unknown>,
  key: string,
  current: unknown[],
  patch: readonly unknown[],
  strategy: ListStrategy,
  order: unknown[] | undefined,
  path: readonly string[],
): void {
  const merged = mergeList(current, patch, strategy, order, path);
  if (merged.length === 0 && current.length > 0) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the patch emptied this list
    delete target[key];
  } else {
    setOwn(target, key, merged);
  }
}

/** A list taken whole from the patch: maps in it lose nulls and directives like any map from a patch. */
function replacementList(list: readonly unknown[], path: readonly string[]): unknown[] {
  return list.map((item) => {
    if (isRecord(item)) return mergeMap({}, item, path);
    if (Array.isArray(item)) return replacementList(item, path);
    return item;
  });
}

function mergeList(
  original: unknown[],
  patch: readonly unknown[],
  strategy: ListStrategy,
  order: unknown[] | undefined,
  path: readonly string[],
): unknown[] {
  const mergeKey = strategy.mergeKey;
  if (mergeKey === undefined) {
    // A set of primitives: the union, first occurrence wins.
    const merged: unknown[] = [];
    for (const item of [...original, ...patch]) {
      if (!merged.some((m) => deepEqual(m, item))) merged.push(cloneJson(item));
    }
    return orderItems(merged, order ?? [...patch], original, (item) => item);
  }

  const idOf = (item: unknown): unknown => (isRecord(item) && Object.hasOwn(item, mergeKey) ? item[mergeKey] : undefined);
  let base = original;
  let replace = false;
  const items: Record<string, unknown>[] = [];
  for (const item of patch) {
    if (!isRecord(item)) {
      throw badRequest(`the list at ${path.join(".")} merges on "${mergeKey}", so its items must be objects`);
    }
    const directive = getOwn(item, PATCH);
    if (directive === undefined) {
      items.push(item);
    } else if (directive === "delete") {
      if (!Object.hasOwn(item, mergeKey)) throw badRequest("delete patch type with no merge key defined");
      base = base.filter((o) => idOf(o) === undefined || !deepEqual(idOf(o), item[mergeKey]));
    } else if (directive === "replace") {
      replace = true;
    } else if (directive === "merge") {
      if (Object.hasOwn(item, mergeKey)) items.push(item);
    } else {
      throw badPatchType(directive, item);
    }
  }
  const merged = replace ? [] : [...base];
  for (const item of items) {
    if (!Object.hasOwn(item, mergeKey)) {
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    }
    const index = merged.findIndex((o) => idOf(o) !== undefined && deepEqual(idOf(o), item[mergeKey]));
    const existing = index >= 0 ? merged[index] : undefined;
    const next = mergeMap(isRecord(existing) ? existing : {}, item, path);
    if (index >= 0) merged[index] = next;
    else merged.push(next);
  }
  const patchOrder = order ?? items.map((item) => item[mergeKey]);
  return orderItems(merged, patchOrder, replace ? [] : original.map(idOf), idOf);
}

/**
 * Orders a merged list as upstream's normalizeElementOrder does: items named by the patch (or by
 * $setElementOrder) come in that order; items only on the server keep their relative order and sit before a patch
 * item only if they preceded it in the live list.
 */
function orderItems(
  merged: readonly unknown[],
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  idOf: (item: unknown) => unknown,
): unknown[] {
  const indexIn = (list: readonly unknown[], item: unknown): number => {
    const id = idOf(item);
    return id === undefined ? -1 : list.findIndex((x) => deepEqual(x, id));
  };
  const fromPatch = merged
    .filter((item) => indexIn(patchOrder, item) >= 0)
    .sort((a, b) => indexIn(patchOrder, a) - indexIn(patchOrder, b));
  const serverOnly = merged.filter((item) => indexIn(patchOrder, item) < 0);

  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < fromPatch.length) {
    if (j >= fromPatch.length) {
      out.push(serverOnly[i++]);
    } else if (i >= serverOnly.length) {
      out.push(fromPatch[j++]);
    } else {
      const left = indexIn(serverOrder, serverOnly[i]);
      const right = indexIn(serverOrder, fromPatch[j]);
      out.push(left >= 0 && right >= 0 && left < right ? serverOnly[i++] : fromPatch[j++]);
    }
  }
  return out;
}

/** The merge-key values (or primitive values) of `$setElementOrder/<key>`, if the patch has one. */
function elementOrder(patch: Record<string, unknown>, key: string, strategy: ListStrategy): unknown[] | undefined {
  const order = getOwn(patch, `${SET_ELEMENT_ORDER}${key}`);
  if (order === undefined) return undefined;
  if (!Array.isArray(order)) throw badRequest("invalid patch format of setElementOrder list");
  const entries: readonly unknown[] = order;
  const mergeKey = strategy.mergeKey;
  if (mergeKey === undefined) return [...entries];
  return entries.map((entry: unknown) => {
    if (!isRecord(entry) || !Object.hasOwn(entry, mergeKey)) throw badRequest("invalid patch format of setElementOrder list");
    return entry[mergeKey];
  });
}

/** `$retainKeys`: every key the patch sets must be listed, and the original keeps only listed keys. */
function applyRetainKeys(original: Record<string, unknown>, patch: Record<string, unknown>): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const keep = patch[RETAIN_KEYS];
  if (!Array.isArray(keep) || !keep.every((k): k is string => typeof k === "string")) {
    throw badRequest("invalid patch format of retainKeys");
  }
  for (const [key, value] of Object.entries(patch)) {
    if (value !== null && !key.startsWith("$") && !keep.includes(key)) throw badRequest("invalid patch format of retainKeys");
  }
  for (const key of Object.keys(original)) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- dropping keys the directive does not retain
    if (!keep.includes(key)) delete original[key];
  }
}

function applyDeletesFromPrimitiveLists(original: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [directiveKey, values] of Object.entries(patch)) {
    if (!directiveKey.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    const key = directiveKey.slice(DELETE_FROM_PRIMITIVE_LIST.length);
    if (key === "" || !Array.isArray(values)) throw badRequest("invalid patch format of primitive list");
    const current = getOwn(original, key);
    if (!Array.isArray(current)) continue;
    const kept = current.filter((item) => !values.some((v) => deepEqual(v, item)));
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the patch emptied this list
    if (kept.length === 0) delete original[key];
    else setOwn(original, key, kept);
  }
}

function withoutKey(record: Record<string, unknown>, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (k !== key) setOwn(out, k, v);
  return out;
}

function badPatchType(directive: unknown, map: Record<string, unknown>): Error {
  return badRequest(`unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(map)}`);
}
