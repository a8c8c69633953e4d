// Property-based fuzzing of the apiserver's write paths over real HTTP, against a real process on a real etcd.
//
// Bodies start from the valid test builders and are mutated at random (fields deleted or replaced by values of the
// wrong type, huge and unicode strings, deep nesting, random labels, annotations and names, wrong kinds), or are
// random JSON, or random bytes under random Content-Types. They are POSTed, PUT over existing objects and sent as
// json, merge, strategic-merge and apply patches to pods, services, deployments, config maps, namespaces, nodes and
// events (both APIs), including their status and scale subresources. The properties:
//   (a) no reply is a 5xx;
//   (b) the server stays up: /livez answers ok after every request and the process has not exited, and watches
//       opened on every fuzzed collection before the run are still open, having delivered only well-formed events;
//   (c) every error reply is a valid Status (kind Status, status Failure, code = the HTTP code, a reason), and a
//       Content-Type that cannot fit the verb (a patch type on POST or PUT, a non-patch type on PATCH) is a 415;
//   (d) afterwards, everything under /registry in etcd (read directly) is a valid object: it parses, has
//       metadata.name/uid/creationTimestamp matching its key, every field has the JSON type Kubernetes gives it
//       (api/wire-types.ts), and it passes validateObject for its resource; and the cluster IPs and node ports
//       reserved in etcd are exactly those the stored Services use.
// The runs use a fixed seed (FUZZ_SEED overrides it); fast-check prints the seed and the counterexample on failure.
import { Etcd3 } from "etcd3";
import fc, { type JsonValue } from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRecord, type KubeObject } from "../../api/meta.js";
import { apiVersionOf, RESOURCES, type ResourceInfo } from "../../api/resources.js";
import { newConfigMap, newDeployment, newNamespace, newNode, newPod, newService } from "../../api/testing/builders.js";
import { validateObject } from "../../api/validation/index.js";
import { findWireTypeError } from "../../api/wire-types.js";
import { MAX_REQUEST_BODY_BYTES } from "../../apiserver/http/body.js";
import { fetchHeaders, startApiServerProcess, withAdminToken, type ApiServerProcess } from "../support/apiserver.js";
import { startEtcd, type EtcdHandle } from "../support/etcd.js";

const SEED = Number(process.env.FUZZ_SEED ?? "20240917");
const NS = "fuzz";
const REQUEST_TIMEOUT_MS = 15_000;

type Json = JsonValue;
type JsonObject = Record<string, Json>;
type PathSegment = string | number;

// ---------------------------------------------------------------------------------------------------------------
// Targets: one per resource, with a builder and the name of the object that updates and patches aim at.

interface Target {
  resource: string;
  collection: string;
  baseName: string;
  build(name: string): JsonObject;
  subresources: readonly ("status" | "scale")[];
}

function plain(object: object): JsonObject {
  return JSON.parse(JSON.stringify(object)) as JsonObject;
}

function coreEvent(name: string): JsonObject {
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name, namespace: NS },
    involvedObject: { apiVersion: "v1", kind: "Pod", name: "base", namespace: NS },
    reason: "Fuzzed",
    message: "a fuzzed event",
    type: "Normal",
    source: { component: "fuzzer" },
    firstTimestamp: "2024-01-01T00:00:00Z",
    lastTimestamp: "2024-01-01T00:00:00Z",
    count: 1,
  };
}

function eventsV1Event(name: string): JsonObject {
  return {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: { name, namespace: NS },
    eventTime: "2024-01-01T00:00:00.000000Z",
    reportingController: "fuzz.example.com/fuzzer",
    reportingInstance: "fuzzer-1",
    action: "Fuzz",
    reason: "Fuzzed",
    regarding: { apiVersion: "v1", kind: "Pod", name: "base", namespace: NS },
    note: "a fuzzed event",
    type: "Normal",
  };
}

const TARGETS: readonly Target[] = [
  { resource: "pods", collection: `/api/v1/namespaces/${NS}/pods`, baseName: "base", build: (n) => plain(newPod(n, { namespace: NS, labels: { app: "fuzz" } })), subresources: ["status"] },
  { resource: "services", collection: `/api/v1/namespaces/${NS}/services`, baseName: "base", build: (n) => plain(newService(n, { namespace: NS, ports: [80, 443] })), subresources: ["status"] },
  { resource: "deployments", collection: `/apis/apps/v1/namespaces/${NS}/deployments`, baseName: "base", build: (n) => plain(newDeployment(n, { namespace: NS, replicas: 2 })), subresources: ["status", "scale"] },
  { resource: "configmaps", collection: `/api/v1/namespaces/${NS}/configmaps`, baseName: "base", build: (n) => plain(newConfigMap(n, { namespace: NS, data: { key: "value" } })), subresources: [] },
  { resource: "namespaces", collection: "/api/v1/namespaces", baseName: "fuzz-base", build: (n) => plain(newNamespace(n, { labels: { team: "fuzz" } })), subresources: ["status"] },
  { resource: "nodes", collection: "/api/v1/nodes", baseName: "fuzz-node", build: (n) => plain(newNode(n, { podCIDR: "10.244.7.0/24" })), subresources: ["status"] },
  { resource: "events", collection: `/api/v1/namespaces/${NS}/events`, baseName: "base", build: coreEvent, subresources: [] },
  { resource: "events.k8s.io", collection: `/apis/events.k8s.io/v1/namespaces/${NS}/events`, baseName: "base-v1", build: eventsV1Event, subresources: [] },
];

// ---------------------------------------------------------------------------------------------------------------
// Values. Huge strings and deep nesting are markers expanded only when a body is serialized, so that fast-check's
// counterexamples stay printable.

const MARKER = /"\\u0000(HUGE|DEEP):(\d+):([^\\"]*)\\u0000"/g;

function expandMarkers(json: string): string {
  return json.replace(MARKER, (_m, type: string, count: string, unit: string) => {
    const n = Number(count);
    if (type === "HUGE") return JSON.stringify(unit.repeat(n));
    return unit === "{" ? `${'{"a":'.repeat(n)}1${"}".repeat(n)}` : `${"[".repeat(n)}1${"]".repeat(n)}`;
  });
}

const hugeString = fc.oneof(
  fc.record({ n: fc.constantFrom(64, 254, 1000, 70_000, 300_000), unit: fc.constantFrom("a", "Z", "é", "💥", "-", ".", "0") }),
  fc.record({ n: fc.constant(1_100_000), unit: fc.constantFrom("a", "0") }),
).map(({ n, unit }) => `\u0000HUGE:${n}:${unit}\u0000`);
const oversizedString = fc.constant("\u0000HUGE:3200000:a\u0000");
const deepValue = fc.record({ n: fc.constantFrom(20, 200, 1001, 5000, 100_000), unit: fc.constantFrom("[", "{") }).map(({ n, unit }) => `\u0000DEEP:${n}:${unit}\u0000`);

const weirdNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, -0.5, 1e-9, 30000, 32767, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, 1e21, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const weirdString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 10 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "", " ", "0", "-1", "1.5", "true", "null", "NaN", "Infinity", "1e400", "100Mi", "1Ei", "99999999999999999999Ei", "500m", "-1Gi", "0x10",
      "1.5.5", "2024-01-01T00:00:00Z", "not-a-date", "10.96.0.1", "10.96.0.10", "None", "::1", "256.0.0.1", "0.0.0.0", "TCP", "UDP", "SCTP",
      "ClusterIP", "NodePort", "LoadBalancer", "ExternalName", "Always", "IfNotPresent", "Never", "RollingUpdate", "Recreate", "25%", "200%",
      "-10%", "%", "\u0000", "\ud800", "a\nb", "<script>", "../../etc/passwd", "%2F", "a/b", "__proto__", "constructor", "kubernetes",
      "default", "kube-system", "Active", "Terminating", "Normal", "Warning", "Pending", "Running", "Ready", "True", "Exists", "Equal",
      "NoSchedule", "NoExecute", "ClientIP", "Cluster", "Local", "IPv4", "IPv6", "SingleStack", "RequireDualStack", "foreground",
    ),
  },
  { weight: 1, arbitrary: hugeString },
);

const weirdScalar: fc.Arbitrary<Json> = fc.oneof(fc.constant(null), fc.boolean(), weirdNumber, weirdString);

const weirdKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "$patch", "$retainKeys", "$setElementOrder/containers",
      "$deleteFromPrimitiveList/finalizers", "", "a/b", "kubernetes.io/x", "x".repeat(300), "metadata", "spec", "status", "kind",
      "apiVersion", "name", "namespace", "labels", "annotations", "containers", "ports", "image", "selector", "replicas", "template",
      "clusterIP", "type", "data", "binaryData", "finalizers", "uid", "resourceVersion", "generation", "deletionTimestamp", "items",
    ),
  },
);

const weirdValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 5, arbitrary: weirdScalar },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(weirdScalar, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(weirdKey, weirdScalar, { maxKeys: 5 }) },
  { weight: 1, arbitrary: fc.array(fc.dictionary(weirdKey, weirdScalar, { maxKeys: 3 }), { maxLength: 3 }) },
  { weight: 1, arbitrary: deepValue },
);

const validLabelKey = fc.stringMatching(/^([a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?(\.[a-z]{2,4})?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,14}[A-Za-z0-9])?$/);
const validLabelValue = fc.stringMatching(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,14}[A-Za-z0-9])?)?$/);
const labelMap: fc.Arbitrary<JsonObject> = fc.dictionary(fc.oneof(validLabelKey, weirdKey), fc.oneof({ weight: 3, arbitrary: validLabelValue }, { weight: 1, arbitrary: weirdValue }), { maxKeys: 4 });

const weirdName: fc.Arbitrary<Json> = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?$/),
  fc.constantFrom("", "UPPER", "-a", "a-", "a..b", "a".repeat(64), "a".repeat(254), ".", "..", "a/b", "a%b", "a b", "ä", "💥", "a_b", "1.2.3.4"),
  weirdValue,
);

// ---------------------------------------------------------------------------------------------------------------
// Mutations of an object: choices are abstract (an index into the object's paths) and resolved when applied.

type Mutation =
  | { op: "delete" | "null" | "wrap" | "box" | "stringify" | "dup"; pick: number }
  | { op: "tweak"; pick: number; text: string; number: number; key: string }
  | { op: "replace" | "insert"; pick: number; key: string; value: Json }
  | { op: "meta"; field: string; value: Json }
  | { op: "labels"; value: JsonObject }
  | { op: "annotations"; value: JsonObject }
  | { op: "typeMeta"; apiVersion: Json; kind: Json };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Same JSON type, another value: gets past type checks into defaulting, validation and allocation.
  { weight: 6, arbitrary: fc.record({ op: fc.constant("tweak" as const), pick: fc.nat(), text: weirdString, number: weirdNumber, key: fc.oneof(validLabelKey, weirdKey) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom("delete" as const, "null" as const, "wrap" as const, "box" as const, "stringify" as const, "dup" as const), pick: fc.nat() }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constantFrom("replace" as const, "insert" as const), pick: fc.nat(), key: weirdKey, value: weirdValue }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("meta" as const),
      field: fc.constantFrom("name", "namespace", "generateName", "finalizers", "ownerReferences", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "managedFields", "labels", "annotations"),
      value: fc.oneof(weirdName, weirdValue, fc.array(weirdString, { maxLength: 3 }), fc.array(fc.record({ apiVersion: weirdString, kind: weirdString, name: weirdString, uid: weirdString, controller: fc.oneof(fc.boolean(), weirdScalar) }), { maxLength: 2 })),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom("labels" as const, "annotations" as const), value: labelMap }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("typeMeta" as const),
      apiVersion: fc.oneof(fc.constantFrom("v1", "apps/v1", "", "v2", "events.k8s.io/v1", "apps/v1beta1", "/v1", "v1/"), weirdScalar),
      kind: fc.oneof(fc.constantFrom("Pod", "Service", "Deployment", "ConfigMap", "Namespace", "Node", "Event", "Status", "List", "pod", ""), weirdScalar),
    }),
  },
);

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function allPaths(value: Json, prefix: PathSegment[] = [], out: PathSegment[][] = []): PathSegment[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((child, i) => allPaths(child, [...prefix, i], out));
  else if (isObject(value)) for (const [key, child] of Object.entries(value)) allPaths(child, [...prefix, key], out);
  return out;
}

function getAt(root: Json, path: readonly PathSegment[]): Json | undefined {
  let node: Json | undefined = root;
  for (const seg of path) {
    if (Array.isArray(node) && typeof seg === "number") node = node[seg];
    else if (isObject(node) && typeof seg === "string") node = Object.hasOwn(node, seg) ? node[seg] : undefined;
    else return undefined;
  }
  return node;
}

function setOwn(target: JsonObject, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Sets (or with `value` undefined, removes) the member at `path`; the root itself is never replaced. */
function setAt(root: Json, path: readonly PathSegment[], value: Json | undefined): void {
  if (path.length === 0) return;
  const parent = getAt(root, path.slice(0, -1));
  const last = path[path.length - 1]!;
  if (Array.isArray(parent) && typeof last === "number") {
    if (value === undefined) parent.splice(last, 1);
    else parent[last] = value;
  } else if (isObject(parent) && typeof last === "string") {
    if (value === undefined) Reflect.deleteProperty(parent, last);
    else setOwn(parent, last, value);
  }
}

function metadataOf(object: JsonObject): JsonObject {
  const meta = object.metadata;
  if (isObject(meta)) return meta;
  const fresh: JsonObject = {};
  object.metadata = fresh;
  return fresh;
}

function applyMutations(source: JsonObject, mutations: readonly Mutation[]): JsonObject {
  const object = structuredClone(source);
  for (const m of mutations) {
    if (m.op === "meta") {
      setOwn(metadataOf(object), m.field, m.value);
      continue;
    }
    if (m.op === "labels" || m.op === "annotations") {
      const meta = metadataOf(object);
      const existing = meta[m.op];
      meta[m.op] = isObject(existing) ? { ...existing, ...m.value } : m.value;
      continue;
    }
    if (m.op === "typeMeta") {
      object.apiVersion = m.apiVersion;
      object.kind = m.kind;
      continue;
    }
    const paths = allPaths(object);
    const path = paths[m.pick % paths.length]!;
    const current = getAt(object, path);
    switch (m.op) {
      case "delete":
        setAt(object, path, undefined);
        break;
      case "null":
        setAt(object, path, null);
        break;
      case "wrap":
        if (current !== undefined) setAt(object, path, [current]);
        break;
      case "box":
        if (current !== undefined) setAt(object, path, { value: current });
        break;
      case "stringify":
        if (current !== undefined) setAt(object, path, typeof current === "string" ? Number(current) || current : JSON.stringify(current));
        break;
      case "dup":
        if (Array.isArray(current) && current.length > 0) current.push(structuredClone(current[0]!));
        break;
      case "tweak":
        if (typeof current === "string") setAt(object, path, m.text);
        else if (typeof current === "number") setAt(object, path, m.number);
        else if (typeof current === "boolean") setAt(object, path, !current);
        else if (Array.isArray(current)) current.splice(m.number % (current.length + 1), 1);
        else if (isObject(current)) setOwn(current, m.key, typeof Object.values(current)[0] === "number" ? m.number : m.text);
        break;
      case "replace":
        if (path.length === 0) object[m.key] = m.value;
        else setAt(object, path, m.value);
        break;
      case "insert":
        if (Array.isArray(current)) current.push(m.value);
        else if (isObject(current)) setOwn(current, m.key, m.value);
        else setAt(object, path, m.value);
        break;
    }
  }
  return object;
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies.

type Encoding = "json" | "json-charset" | "yaml" | "none";

/** Random bytes or text under a random Content-Type. */
interface RawBody {
  t: "raw";
  bytes: Uint8Array;
  contentType: string | null;
  /** A large text built at send time instead of `bytes` (see BOMBS), so that counterexamples stay printable. */
  bomb: string | null;
}

/** Hostile texts for the YAML and JSON decoders: deep flow and block nesting, complex keys, long lines. */
const BOMBS: Readonly<Record<string, () => string>> = {
  "deep-flow": () => `${"[".repeat(100_000)}1${"]".repeat(100_000)}`,
  "deep-flow-map": () => `${"{a: ".repeat(50_000)}1${"}".repeat(50_000)}`,
  "deep-dash": () => `${"- ".repeat(100_000)}x\n`,
  "deep-indent": () => `${Array.from({ length: 2_000 }, (_, i) => `${" ".repeat(i)}a:`).join("\n")} 1\n`,
  "complex-keys": () => `${"? ".repeat(400)}x\n`,
  "complex-key": () => "? [a, b]\n: c\nmetadata: {name: x}\n",
  "alias-key": () => "a: &x b\n*x : c\nmetadata: {name: x}\n",
  "long-line": () => `metadata: {name: ${"x".repeat(2_000_000)}}`,
  "many-keys": () => JSON.stringify(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]))),
};

const contentTypes = fc.constantFrom(
  "application/json", "application/json; charset=utf-8", "application/yaml", "application/vnd.kubernetes.protobuf", "text/plain",
  "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "garbage", "application/json-patch+json",
  "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml", "*/*", "application/",
  "application/json;;;", "APPLICATION/JSON", "application/cbor", "application/json; charset=latin1",
);

const YAML_BOMB = ["a: &a [x, x, x, x, x, x, x, x, x]", ...["b", "c", "d", "e", "f", "g"].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefg"[i]!}`).join(", ")}]`), "metadata: {name: bomb}"].join("\n");

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function protoField(field: number, bytes: Uint8Array): number[] {
  return [(field << 3) | 2, ...varint(bytes.length), ...bytes];
}

/** "k8s\0" + runtime.Unknown{typeMeta{apiVersion, kind}, raw}: a well-framed envelope around random message bytes. */
function protobufEnvelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  const typeMeta = [...protoField(1, enc.encode(apiVersion)), ...protoField(2, enc.encode(kind))];
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...protoField(1, Uint8Array.from(typeMeta)), ...protoField(2, raw)]);
}

const plainRawBody: fc.Arbitrary<RawBody> = fc.record({
  t: fc.constant("raw" as const),
  bytes: fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.string({ unit: "binary", maxLength: 200 }).map((s) => new TextEncoder().encode(s)),
    fc.jsonValue({ maxDepth: 4 }).chain((v) => {
      const text = JSON.stringify(v);
      return fc.nat(text.length).map((cut) => new TextEncoder().encode(text.slice(0, cut)));
    }),
    fc.constantFrom(YAML_BOMB, "---\na: 1\n---\nb: 2\n", "!!binary AAAA", "a: !!js/function 'x'", "{", "[1,", '{"a":1,"a":2}', "null", '"str"', "0", "[]", "{}", "\uFEFF{}", "<<: *x")
      .map((s) => new TextEncoder().encode(s)),
    fc.record({ apiVersion: fc.constantFrom("v1", "apps/v1", "events.k8s.io/v1", "x"), kind: fc.constantFrom("Pod", "Service", "Deployment", "ConfigMap", "Namespace", "Event", "Node", "Scale", "DeleteOptions", "Bogus"), raw: fc.uint8Array({ maxLength: 300 }) })
      .map(({ apiVersion, kind, raw }) => protobufEnvelope(apiVersion, kind, raw)),
  ),
  contentType: fc.option(contentTypes, { nil: null }),
  bomb: fc.constant(null),
});

const bombBody: fc.Arbitrary<RawBody> = fc.record({
  t: fc.constant("raw" as const),
  bytes: fc.constant(new Uint8Array()),
  contentType: fc.constantFrom("application/yaml", "application/yaml", "application/apply-patch+yaml", "application/json", "application/merge-patch+json"),
  bomb: fc.constantFrom(...Object.keys(BOMBS)),
});

const rawBody: fc.Arbitrary<RawBody> = fc.oneof({ weight: 4, arbitrary: plainRawBody }, { weight: 1, arbitrary: bombBody });

interface ObjectBody { t: "object"; mutations: Mutation[]; encoding: Encoding }
interface JsonBody { t: "json"; value: Json }
type Body = ObjectBody | JsonBody | RawBody;

/** Mutations that keep every JSON type: bodies that get through decoding into defaulting, validation and storage. */
const mildMutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("tweak" as const), pick: fc.nat(), text: weirdString, number: weirdNumber, key: fc.oneof(validLabelKey, weirdKey) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom("delete" as const, "dup" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom("labels" as const, "annotations" as const), value: fc.dictionary(validLabelKey, validLabelValue, { maxKeys: 3 }) }) },
);

const objectBody: fc.Arbitrary<ObjectBody> = fc.record({
  t: fc.constant("object" as const),
  mutations: fc.oneof(fc.array(mutation, { minLength: 0, maxLength: 4 }), fc.array(mildMutation, { minLength: 1, maxLength: 4 })),
  encoding: fc.constantFrom<Encoding>("json", "json", "json", "json", "json-charset", "yaml", "none"),
});

const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 8, arbitrary: objectBody },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("json" as const), value: fc.oneof(weirdValue, oversizedString) }) },
  { weight: 2, arbitrary: rawBody },
);

const queryOptions = fc.record({
  dryRun: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom("All", "bogus") }),
  fieldValidation: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom("Strict", "Warn", "Ignore", "bogus") }),
});

function querySuffix(q: { dryRun: string | null; fieldValidation: string | null }, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  if (q.dryRun !== null) params.set("dryRun", q.dryRun);
  if (q.fieldValidation !== null) params.set("fieldValidation", q.fieldValidation);
  const text = params.toString();
  return text ? `?${text}` : "";
}

interface Encoded {
  payload: Uint8Array | string | undefined;
  contentType: string | undefined;
}

function encodeValue(value: Json, encoding: Encoding, jsonType = "application/json"): Encoded {
  const text = expandMarkers(JSON.stringify(value));
  switch (encoding) {
    case "json":
      return { payload: text, contentType: jsonType };
    case "json-charset":
      return { payload: text, contentType: `${jsonType}; charset=utf-8` };
    case "yaml":
      // JSON is YAML 1.2.
      return { payload: text, contentType: "application/yaml" };
    case "none":
      return { payload: text, contentType: undefined };
  }
}

function encodeBody(b: Body, base: JsonObject): Encoded {
  switch (b.t) {
    case "object":
      return encodeValue(applyMutations(base, b.mutations), b.encoding);
    case "json":
      return encodeValue(b.value, "json");
    case "raw":
      return rawPayload(b);
  }
}

function rawPayload(b: RawBody): Encoded {
  const bomb = b.bomb === null ? undefined : BOMBS[b.bomb];
  return { payload: bomb ? bomb() : b.bytes, contentType: b.contentType ?? undefined };
}

// ---------------------------------------------------------------------------------------------------------------
// Patches.

interface JsonPatchOp {
  op: string;
  pick: number;
  style: "existing" | "append" | "child" | "weird";
  weirdPath: string;
  fromPick: number;
  value: Json;
  drop: "none" | "path" | "value" | "from" | "op";
}

const jsonPatchOp: fc.Arbitrary<JsonPatchOp> = fc.record({
  op: fc.oneof({ weight: 8, arbitrary: fc.constantFrom("add", "remove", "replace", "move", "copy", "test") }, { weight: 1, arbitrary: fc.constantFrom("ADD", "", "nope", "_get") }),
  pick: fc.nat(),
  style: fc.constantFrom("existing", "existing", "existing", "append", "child", "weird"),
  weirdPath: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("/", "//", "/-", "/metadata/-", "/spec/containers/99", "/spec/containers/-1", "/spec/containers/01", "/metadata/labels/a~1b", "/metadata/~2", "/__proto__/x", "/metadata/__proto__/polluted", "/spec/containers/1e2", "metadata", "/status")),
  fromPick: fc.nat(),
  value: weirdValue,
  drop: fc.constantFrom("none", "none", "none", "none", "path", "value", "from", "op"),
});

type PatchKind = "json" | "merge" | "strategic" | "apply" | "other";

interface PatchPlan {
  kind: PatchKind;
  otherType: string;
  ops: JsonPatchOp[];
  /** For merge-style patches: which parts of the object the patch touches, and how. */
  picks: { pick: number; value: Json; mode: "value" | "original" | "mutated" }[];
  mutations: Mutation[];
  directives: { pick: number; key: "$patch" | "$retainKeys" | "$setElementOrder/containers" | "$deleteFromPrimitiveList/finalizers" | "$setElementOrder/ports"; value: Json }[];
  raw: Json | null;
  rawBytes: RawBody | null;
}

const patchPlan: fc.Arbitrary<PatchPlan> = fc.record({
  kind: fc.constantFrom<PatchKind>("json", "json", "merge", "merge", "strategic", "strategic", "strategic", "apply", "other"),
  otherType: contentTypes,
  ops: fc.array(jsonPatchOp, { minLength: 1, maxLength: 5 }),
  picks: fc.array(fc.record({ pick: fc.nat(), value: weirdValue, mode: fc.constantFrom("value" as const, "original" as const, "mutated" as const) }), { minLength: 1, maxLength: 4 }),
  mutations: fc.array(mutation, { maxLength: 3 }),
  directives: fc.array(
    fc.record({
      pick: fc.nat(),
      key: fc.constantFrom("$patch" as const, "$retainKeys" as const, "$setElementOrder/containers" as const, "$deleteFromPrimitiveList/finalizers" as const, "$setElementOrder/ports" as const),
      value: fc.oneof(fc.constantFrom<Json>("delete", "replace", "merge", "bogus", [{ name: "app" }], [{ name: "nope" }], ["spec"], [{ port: 80 }], ["kubernetes"]), weirdValue),
    }),
    { maxLength: 2 },
  ),
  raw: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: weirdValue }),
  rawBytes: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: rawBody }),
});

function pointer(path: readonly PathSegment[]): string {
  return path.map((seg) => `/${String(seg).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

function buildJsonPatch(current: JsonObject, ops: readonly JsonPatchOp[]): Json {
  const paths = allPaths(current);
  return ops.map((o): Json => {
    const at = paths[o.pick % paths.length]!;
    let path: string;
    switch (o.style) {
      case "existing":
        path = pointer(at);
        break;
      case "append":
        path = `${pointer(at)}/-`;
        break;
      case "child":
        path = `${pointer(at)}/${typeof o.value === "string" ? o.value.replaceAll("\u0000", "") : "x"}`;
        break;
      case "weird":
        path = o.weirdPath;
        break;
    }
    const op: JsonObject = { op: o.op, path, value: o.value, from: pointer(paths[o.fromPick % paths.length]!) };
    if (o.drop !== "none") Reflect.deleteProperty(op, o.drop);
    return op;
  });
}

/** A merge-style patch: a sparse copy of the object in which some members are replaced, kept or mutated. */
function buildMergePatch(current: JsonObject, plan: PatchPlan, strategic: boolean): Json {
  const paths = allPaths(current).filter((p) => p.length > 0 && p.every((seg) => typeof seg === "string"));
  const patch: JsonObject = {};
  for (const pick of plan.picks) {
    const path = paths[pick.pick % Math.max(1, paths.length)];
    if (path === undefined) continue;
    let node: JsonObject = patch;
    for (const seg of path.slice(0, -1)) {
      const next = node[seg as string];
      if (isObject(next)) node = next;
      else {
        const fresh: JsonObject = {};
        setOwn(node, seg as string, fresh);
        node = fresh;
      }
    }
    const original = getAt(current, path) ?? null;
    const value = pick.mode === "value" ? pick.value : pick.mode === "original" ? structuredClone(original) : isObject(original) ? applyMutations(original, plan.mutations) : pick.value;
    setOwn(node, path[path.length - 1] as string, value);
  }
  if (strategic) {
    const targets = allPaths(patch).filter((p) => isObject(getAt(patch, p)));
    for (const d of plan.directives) {
      const at = getAt(patch, targets[d.pick % targets.length]!);
      if (isObject(at)) setOwn(at, d.key, d.value);
    }
  }
  return patch;
}

const PATCH_TYPES: Record<Exclude<PatchKind, "other">, string> = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

function encodePatch(current: JsonObject, plan: PatchPlan): Encoded {
  if (plan.rawBytes !== null) return rawPayload(plan.rawBytes);
  const type = plan.kind === "other" ? plan.otherType : PATCH_TYPES[plan.kind];
  if (plan.raw !== null) return { payload: expandMarkers(JSON.stringify(plan.raw)), contentType: type };
  let value: Json;
  switch (plan.kind) {
    case "json":
      value = buildJsonPatch(current, plan.ops);
      break;
    case "merge":
    case "other":
      value = buildMergePatch(current, plan, false);
      break;
    case "strategic":
      value = buildMergePatch(current, plan, true);
      break;
    case "apply":
      value = applyMutations(current, plan.mutations);
      break;
  }
  return { payload: expandMarkers(JSON.stringify(value)), contentType: type };
}

// ---------------------------------------------------------------------------------------------------------------
// The oracle.

interface Reply {
  status: number;
  text: string;
}

function payloadBytes(encoded: Encoded): number {
  const payload = encoded.payload;
  return payload === undefined ? 0 : typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
}

function describeRequest(method: string, path: string, encoded: Encoded): string {
  const payload = encoded.payload;
  const text = payload === undefined ? "" : typeof payload === "string" ? payload : Buffer.from(payload).toString("base64");
  return `${method} ${path} (Content-Type ${encoded.contentType ?? "none"}, ${text.length} chars): ${text.slice(0, 1500)}`;
}

function checkReply(request: string, reply: Reply): void {
  const where = `${request}\n→ ${reply.status}: ${reply.text.slice(0, 1500)}`;
  if (reply.status >= 500) throw new Error(`a 5xx reply\n${where}`);
  if (reply.status < 400) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(reply.text);
    } catch {
      throw new Error(`a success reply that is not JSON\n${where}`);
    }
    if (!isRecord(parsed) || !isRecord(parsed.metadata)) throw new Error(`a success reply that is not an object with metadata\n${where}`);
    return;
  }
  let status: unknown;
  try {
    status = JSON.parse(reply.text);
  } catch {
    throw new Error(`an error reply that is not JSON\n${where}`);
  }
  if (
    !isRecord(status) ||
    status.kind !== "Status" ||
    status.apiVersion !== "v1" ||
    status.status !== "Failure" ||
    status.code !== reply.status ||
    typeof status.reason !== "string" ||
    status.reason === "" ||
    typeof status.message !== "string"
  ) {
    throw new Error(`an error reply that is not a valid Status\n${where}`);
  }
}

const PATCH_MEDIA_TYPES = new Set(Object.values(PATCH_TYPES));
/** Content types that can never carry an object to create or replace (Kubernetes: 415 UnsupportedMediaType). */
const NOT_OBJECT_MEDIA_TYPES = new Set([...PATCH_MEDIA_TYPES, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "garbage"]);

/** 415 where the Content-Type cannot fit the verb: a patch type on POST or PUT, anything else on PATCH. */
function checkMediaType(method: string, encoded: Encoded, reply: Reply, request: string): void {
  // Also left out: empty bodies, which kubelab refuses (400) before looking at their type.
  if ([404, 405, 413].includes(reply.status) || payloadBytes(encoded) === 0 || payloadBytes(encoded) > MAX_REQUEST_BODY_BYTES) return;
  const essence = (encoded.contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const unfit = method === "PATCH" ? !PATCH_MEDIA_TYPES.has(essence) : NOT_OBJECT_MEDIA_TYPES.has(essence);
  if (unfit && reply.status !== 415) throw new Error(`expected 415 for Content-Type ${encoded.contentType ?? "none"}\n${request}\n→ ${reply.status}: ${reply.text.slice(0, 1500)}`);
}

const WATCHED = ["/api/v1/pods", "/api/v1/services", "/api/v1/configmaps", "/api/v1/namespaces", "/api/v1/nodes", "/api/v1/events", "/apis/apps/v1/deployments", "/apis/events.k8s.io/v1/events"];

interface Watcher {
  url: string;
  events: number;
  problems: string[];
  ended: boolean;
  abort: AbortController;
}

/** Reads a watch stream in the background, checking that every line is a watch event carrying an object. */
function startWatch(url: string, headers: Record<string, string>): Watcher {
  const w: Watcher = { url, events: 0, problems: [], ended: false, abort: new AbortController() };
  const consume = async (): Promise<void> => {
    const res = await fetch(url, { headers, signal: w.abort.signal });
    if (res.status !== 200 || !res.body) {
      w.problems.push(`watch answered ${res.status}: ${await res.text()}`);
      return;
    }
    const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === "") continue;
        const event = JSON.parse(line) as { type?: unknown; object?: { metadata?: unknown } };
        if (!["ADDED", "MODIFIED", "DELETED", "BOOKMARK"].includes(String(event.type)) || !isRecord(event.object?.metadata)) w.problems.push(`unexpected watch event: ${line.slice(0, 500)}`);
        else w.events++;
      }
    }
    w.ended = true;
  };
  consume().catch((err: unknown) => {
    if (!w.abort.signal.aborted) w.problems.push(`watch failed: ${String(err)}`);
  });
  return w;
}

// ---------------------------------------------------------------------------------------------------------------

describe("the apiserver under fuzzed writes", () => {
  let etcd: EtcdHandle;
  let apiserver: ApiServerProcess;
  /** The admin's bearer token, on every request. */
  let auth: Record<string, string> = {};
  const codes = new Map<string, number>();
  let counter = 0;
  const watchers: Watcher[] = [];

  async function send(method: string, path: string, encoded: Encoded): Promise<Reply> {
    const headers: Record<string, string> = { ...auth };
    if (encoded.contentType !== undefined) headers["Content-Type"] = encoded.contentType;
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
    if (encoded.payload !== undefined) init.body = encoded.payload;
    let reply: Reply;
    try {
      const res = await fetch(`${apiserver.url}${path}`, init);
      reply = { status: res.status, text: await res.text() };
    } catch (err) {
      // The server answers an oversized body with 413 before reading all of it and closes the connection; a
      // client still writing may see the reset (EPIPE) instead of the reply. The server must stay up regardless.
      if (payloadBytes(encoded) > MAX_REQUEST_BODY_BYTES) {
        codes.set(`${method} reset`, (codes.get(`${method} reset`) ?? 0) + 1);
        return { status: 413, text: "" };
      }
      throw new Error(`no reply (${String(err)}) to ${describeRequest(method, path, encoded)}\nserver log tail: ${apiserver.logs().slice(-2000)}`);
    }
    const label = `${method} ${reply.status}`;
    codes.set(label, (codes.get(label) ?? 0) + 1);
    checkReply(describeRequest(method, path, encoded), reply);
    checkMediaType(method, encoded, reply, describeRequest(method, path, encoded));
    return reply;
  }

  async function checkAlive(): Promise<void> {
    const proc = apiserver.process;
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the apiserver exited (${String(proc.exitCode ?? proc.signalCode)}): ${apiserver.logs().slice(-3000)}`);
    const res = await fetch(`${apiserver.url}/livez`, { headers: auth, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    if (res.status !== 200 || text !== "ok") throw new Error(`/livez answered ${res.status}: ${text}`);
  }

  async function current(target: Target, subresource?: "scale"): Promise<JsonObject> {
    const suffix = subresource ? `/${subresource}` : "";
    const res = await fetch(`${apiserver.url}${target.collection}/${target.baseName}${suffix}`, { headers: auth, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (res.status !== 200) throw new Error(`GET of ${target.resource}/${target.baseName}${suffix} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as JsonObject;
  }

  function nameSegment(mode: "base" | "fresh" | "weird", target: Target, weird: string): string {
    if (mode === "base") return target.baseName;
    if (mode === "fresh") return `missing-${++counter}`;
    // Every byte percent-encoded: "/" and "." too, and lone surrogates as U+FFFD's bytes.
    return [...Buffer.from(weird, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("") || "x";
  }

  beforeAll(async () => {
    etcd = await startEtcd();
    apiserver = await startApiServerProcess(etcd.endpoint);
    auth = fetchHeaders(await withAdminToken(apiserver.api));
    const setup: [string, JsonObject][] = [
      ["/api/v1/namespaces", plain(newNamespace(NS))],
      ...TARGETS.map((t): [string, JsonObject] => [t.collection, t.build(t.baseName)]),
    ];
    for (const [path, object] of setup) {
      const res = await fetch(`${apiserver.url}${path}`, { method: "POST", headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify(object) });
      if (res.status !== 201) throw new Error(`setup POST ${path} answered ${res.status}: ${await res.text()}`);
    }
    // Watchers on every fuzzed collection, across namespaces: the watch caches must survive whatever gets stored.
    for (const path of WATCHED) watchers.push(startWatch(`${apiserver.url}${path}?watch=true&allowWatchBookmarks=true`, auth));
    console.log(`fuzzing with seed ${SEED} (set FUZZ_SEED to change it)`);
  });

  afterAll(async () => {
    for (const w of watchers) w.abort.abort();
    console.log(`replies by method and code: ${JSON.stringify(Object.fromEntries([...codes.entries()].sort()))}`);
    await apiserver?.stop("SIGKILL");
    await etcd?.destroy();
  });

  it("answers creates of mutated, random and garbage bodies without a 5xx, with Status errors, and stays up", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(TARGETS.length - 1), body, queryOptions, async (t, b, q) => {
        const target = TARGETS[t]!;
        const encoded = encodeBody(b, target.build(`f-${++counter}`));
        await send("POST", `${target.collection}${querySuffix(q)}`, encoded);
        await checkAlive();
      }),
      { numRuns: 200, seed: SEED, endOnFailure: true },
    );
  });

  it("answers updates of existing objects with mutated and garbage bodies without a 5xx, with Status errors, and stays up", async () => {
    const updatePlan = fc.record({
      target: fc.nat(TARGETS.length - 1),
      body,
      query: queryOptions,
      subresource: fc.constantFrom<"none" | "status" | "scale">("none", "none", "none", "status", "scale"),
      resourceVersion: fc.constantFrom<"keep" | "drop" | "stale" | "garbage">("keep", "keep", "drop", "stale", "garbage"),
      name: fc.constantFrom<"base" | "fresh" | "weird">("base", "base", "base", "base", "fresh", "weird"),
      weirdName: weirdString,
    });
    await fc.assert(
      fc.asyncProperty(updatePlan, async (p) => {
        const target = TARGETS[p.target]!;
        const sub = p.subresource === "none" || !target.subresources.includes(p.subresource) ? undefined : p.subresource;
        const base = await current(target, sub === "scale" ? "scale" : undefined);
        const meta = metadataOf(base);
        if (p.resourceVersion === "drop") delete meta.resourceVersion;
        if (p.resourceVersion === "stale") meta.resourceVersion = "1";
        if (p.resourceVersion === "garbage") meta.resourceVersion = "not-a-number";
        const path = `${target.collection}/${nameSegment(p.name, target, p.weirdName)}${sub ? `/${sub}` : ""}${querySuffix(p.query)}`;
        await send("PUT", path, encodeBody(p.body, base));
        await checkAlive();
      }),
      { numRuns: 150, seed: SEED + 1, endOnFailure: true },
    );
  });

  it("answers json, merge, strategic-merge and apply patches with random bodies without a 5xx, with Status errors, and stays up", async () => {
    const plan = fc.record({
      target: fc.nat(TARGETS.length - 1),
      patch: patchPlan,
      query: queryOptions,
      subresource: fc.constantFrom<"none" | "status" | "scale">("none", "none", "none", "none", "status", "scale"),
      name: fc.constantFrom<"base" | "fresh" | "weird">("base", "base", "base", "base", "base", "fresh", "weird"),
      weirdName: weirdString,
      force: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        const target = TARGETS[p.target]!;
        const sub = p.subresource === "none" || !target.subresources.includes(p.subresource) ? undefined : p.subresource;
        const base = await current(target, sub === "scale" ? "scale" : undefined);
        const extra: Record<string, string> = p.patch.kind === "apply" ? { fieldManager: "fuzzer", ...(p.force ? { force: "true" } : {}) } : {};
        const path = `${target.collection}/${nameSegment(p.name, target, p.weirdName)}${sub ? `/${sub}` : ""}${querySuffix(p.query, extra)}`;
        await send("PATCH", path, encodePatch(base, p.patch));
        await checkAlive();
      }),
      { numRuns: 220, seed: SEED + 2, endOnFailure: true },
    );
  });

  it("refuses patches that would nest a stored object deeper and deeper", async () => {
    const nest = (n: number): Json => {
      let v: Json = "x";
      for (let i = 0; i < n; i++) v = { a: v };
      return v;
    };
    const json = (value: Json): Encoded => ({ payload: JSON.stringify(value), contentType: "application/json" });
    expect((await send("POST", "/api/v1/nodes", json({ metadata: { name: "deepening" }, status: { extra: nest(900) } }))).status).toBe(201);
    // Each patch stays under the body limit but would add 900 levels to what is stored.
    const statuses: number[] = [];
    for (let round = 1; round <= 4; round++) {
      const path = `/status/extra${"/a".repeat(round * 899)}`;
      const reply = await send("PATCH", "/api/v1/nodes/deepening/status", { payload: JSON.stringify([{ op: "replace", path, value: nest(899) }]), contentType: "application/json-patch+json" });
      statuses.push(reply.status);
    }
    // The first patch is refused; the later ones name paths that therefore do not exist.
    expect(statuses).toEqual([400, 422, 422, 422]);
    await checkAlive();
  });

  it("stored only valid objects: everything under /registry parses and re-validates for its resource", async () => {
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      // Keys first, then one value at a time: stored objects reach a megabyte, and a single range read of all of
      // them would pass gRPC's 4 MiB message limit.
      const keys = await client.getAll().prefix("/registry/").keys();
      const problems: string[] = [];
      let checked = 0;
      const reserved = new Map<string, string>();
      const used = new Map<string, string>();
      for (const key of keys) {
        if (key.startsWith("/registry/ranges/")) {
          // Allocator reservations: the value is the owning Service's "namespace/name".
          const [, , , range, value] = key.split("/");
          reserved.set(`${range ?? ""}/${value ?? ""}`, (await client.get(key).string()) ?? "");
          continue;
        }
        const value = await client.get(key).buffer();
        if (value === null) continue; // an event or master lease whose lease expired
        if (key.startsWith("/registry/masterleases/")) {
          // The lease endpoint reconciler's record of a live apiserver (not a served resource): an Endpoints named
          // after the apiserver's address, which is the key's next segment.
          const record = JSON.parse(value.toString("utf8")) as { kind?: string; metadata?: { name?: string } };
          if (record.kind !== "Endpoints" || record.metadata?.name !== key.split("/")[3]) problems.push(`${key}: not a master lease record`);
          continue;
        }
        const segments = key.slice("/registry/".length).split("/");
        const info: ResourceInfo | undefined = RESOURCES.find((r) => r.resource === segments[0] && r.storageResource === undefined);
        if (!info) {
          problems.push(`${key}: no resource stores under "${segments[0] ?? ""}"`);
          continue;
        }
        checked++;
        problems.push(...storedObjectProblems(key, info, segments, value));
        if (info.resource === "services") for (const [allocated, owner] of allocatedValues(value)) used.set(allocated, owner);
      }
      // Every cluster IP and node port in use is reserved for its Service, and nothing else is reserved.
      for (const [value, owner] of used) if (reserved.get(value) !== owner) problems.push(`${owner} uses ${value}, reserved for ${JSON.stringify(reserved.get(value))}`);
      for (const [value, owner] of reserved) if (!used.has(value)) problems.push(`${value} is reserved for ${owner}, which does not use it`);
      console.log(`checked ${checked} stored objects`);
      expect(checked).toBeGreaterThan(TARGETS.length);
      expect(problems).toEqual([]);
      // The watches opened before the fuzzing are still open and delivered only well-formed events.
      for (const w of watchers) {
        expect(w.problems, w.url).toEqual([]);
        expect(w.ended, w.url).toBe(false);
        expect(w.events, w.url).toBeGreaterThan(0);
      }
    } finally {
      client.close();
    }
  });
});

/** "serviceips/<ip>" and "servicenodeports/<port>" of a stored Service, with its "namespace/name". */
function allocatedValues(value: Buffer): [string, string][] {
  const svc = JSON.parse(value.toString("utf8")) as { metadata?: { namespace?: string; name?: string }; spec?: { clusterIPs?: string[]; ports?: { nodePort?: number }[] } };
  const owner = `${svc.metadata?.namespace ?? ""}/${svc.metadata?.name ?? ""}`;
  const out: [string, string][] = [];
  for (const ip of svc.spec?.clusterIPs ?? []) if (ip !== "None" && ip !== "") out.push([`serviceips/${ip}`, owner]);
  for (const port of svc.spec?.ports ?? []) if (port.nodePort !== undefined) out.push([`servicenodeports/${port.nodePort}`, owner]);
  return out;
}

function storedObjectProblems(key: string, info: ResourceInfo, segments: string[], value: Buffer): string[] {
  let object: unknown;
  try {
    object = JSON.parse(value.toString("utf8"));
  } catch (err) {
    return [`${key}: not JSON (${String(err)})`];
  }
  if (!isRecord(object) || !isRecord(object.metadata)) return [`${key}: not an object with metadata`];
  const meta = object.metadata;
  const problems: string[] = [];
  const name = segments[segments.length - 1];
  if (typeof meta.name !== "string" || meta.name !== name) problems.push(`${key}: metadata.name is ${JSON.stringify(meta.name)}`);
  if (info.namespaced && meta.namespace !== segments[1]) problems.push(`${key}: metadata.namespace is ${JSON.stringify(meta.namespace)}`);
  if (typeof meta.uid !== "string" || meta.uid === "") problems.push(`${key}: metadata.uid is ${JSON.stringify(meta.uid)}`);
  if (typeof meta.creationTimestamp !== "string" || Number.isNaN(Date.parse(meta.creationTimestamp))) {
    problems.push(`${key}: metadata.creationTimestamp is ${JSON.stringify(meta.creationTimestamp)}`);
  }
  if (object.kind !== info.kind || object.apiVersion !== apiVersionOf(info)) problems.push(`${key}: stored as ${String(object.apiVersion)}/${String(object.kind)}`);
  const typeError = findWireTypeError(apiVersionOf(info), info.kind, object);
  if (typeError) problems.push(`${key}: ${typeError.field} holds ${typeError.found} where Kubernetes has ${typeError.expected}`);
  for (const err of validateObject(info, object as KubeObject)) problems.push(`${key}: ${err.field}: ${err.message}`);
  return problems;
}
