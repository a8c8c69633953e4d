import { describe, expect, it } from "vitest";
import { StatusError } from "../errors.js";
import type { KubeObject } from "../meta.js";
import { FieldSet, formatPath, keyElement } from "./fieldset.js";
import { decodeManagers, managerFromUserAgent, trackApply, trackUpdate, type Writer } from "./managers.js";
import { compare, createdFieldsV1, fieldSetOf, mergeApplied, removePaths, WHOLE_OBJECT } from "./structure.js";

const T1 = "2026-01-01T00:00:00Z";
const T2 = "2026-01-01T00:01:00Z";
const T3 = "2026-01-01T00:02:00Z";

function writer(manager: string, time: string, subresource = ""): Writer {
  return { manager, apiVersion: "apps/v1", subresource, time };
}

function deployment(replicas: number, image = "nginx:1", extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", uid: "u1", resourceVersion: "5", labels: { app: "web" } },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "nginx", image, ports: [{ containerPort: 80, protocol: "TCP" }] }] },
      },
      ...extra,
    },
  };
}

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error("expected a StatusError");
}

describe("FieldsV1 encoding", () => {
  it("encodes leaves as {}, items with '.', keys sorted by name, and reads it back", () => {
    const set = fieldSetOf(deployment(2));
    const v1 = set.toFieldsV1();
    expect(v1).toEqual({
      "f:metadata": { "f:labels": { "f:app": {} } },
      "f:spec": {
        "f:replicas": {},
        "f:selector": {},
        "f:template": {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:containers": {
              'k:{"name":"nginx"}': {
                ".": {},
                "f:image": {},
                "f:name": {},
                "f:ports": { 'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {}, "f:protocol": {} } },
              },
            },
          },
        },
      },
    });
    expect(FieldSet.fromFieldsV1(v1).equals(set)).toBe(true);
  });

  it("skips server-owned metadata and apiVersion/kind", () => {
    const paths = fieldSetOf(deployment(1)).list().map(formatPath);
    expect(paths).not.toContain(".metadata.name");
    expect(paths).not.toContain(".metadata.uid");
    expect(paths).not.toContain(".apiVersion");
    expect(paths).toContain(".metadata.labels.app");
  });

  it("encodes set lists with v: and empty maps as leaves", () => {
    const set = fieldSetOf({ metadata: { finalizers: ["a/b"] }, spec: { template: { spec: { containers: [{ name: "c", resources: {} }] } } } });
    expect(set.toFieldsV1()).toEqual({
      "f:metadata": { "f:finalizers": { 'v:"a/b"': {} } },
      "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"c"}': { ".": {}, "f:name": {}, "f:resources": {} } } } } },
    });
  });

  it("fills a key field's default: a port without protocol is keyed TCP", () => {
    const set = fieldSetOf({ spec: { ports: [{ port: 80 }] } });
    expect(set.list().map(formatPath)).toContain('.spec.ports[port=80,protocol="TCP"].port');
  });

  it("refuses unknown path elements", () => {
    expect(() => FieldSet.fromFieldsV1({ "x:y": {} })).toThrow(/unknown path element/);
  });

  it("prints paths as Kubernetes does in conflicts", () => {
    expect(formatPath(["f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"nginx"}', "f:image"])).toBe('.spec.template.spec.containers[name="nginx"].image');
    expect(formatPath(["f:metadata", "f:finalizers", 'v:"x"'])).toBe('.metadata.finalizers[="x"]');
  });
});

describe("compare", () => {
  it("tells added, modified and removed fields apart", () => {
    const before = deployment(1);
    const after = deployment(2, "nginx:2");
    after.metadata.labels = { tier: "front" };
    const { added, modified, removed } = compare(before, after);
    expect(added.list().map(formatPath)).toEqual([".metadata.labels.tier"]);
    expect(modified.list().map(formatPath).sort()).toEqual([".spec.replicas", '.spec.template.spec.containers[name="nginx"].image']);
    expect(removed.list().map(formatPath)).toEqual([".metadata.labels.app"]);
  });
});

describe("managerFromUserAgent", () => {
  it.each([
    ["kubectl/v1.32.0 (linux/amd64) kubernetes/abc", "kubectl"],
    ["kube-controller-manager/v1.32.0 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:deployment-controller", "kube-controller-manager"],
    ["curl", "curl"],
    [undefined, "unknown"],
    ["/v1.0", "unknown"],
    ["a\u0007b/1", "ab"],
  ])("%j → %j", (ua, manager) => {
    expect(managerFromUserAgent(ua)).toBe(manager);
  });

  it("cuts at 128 bytes", () => {
    expect(managerFromUserAgent("x".repeat(300))).toHaveLength(128);
  });

  it("answers a User-Agent it has seen, long or not, printable or not, as it did the first time", () => {
    const agents = ["kubectl/v1", "é\u00a0ü~ !/x", "\u200bzero-width/1", "\t\u007fcontrol/2", `${"y".repeat(600)}/z`, `${"é".repeat(100)}/1`];
    const first = agents.map((ua) => managerFromUserAgent(ua));
    expect(first).toEqual(["kubectl", "éü~ !", "zero-width", "control", "y".repeat(128), "é".repeat(64)]);
    for (let i = 0; i < 300; i++) managerFromUserAgent(`filler-${i}/1`);
    expect(agents.map((ua) => managerFromUserAgent(ua))).toEqual(first);
  });
});

describe("trackUpdate", () => {
  it("gives a creator every field it set, as one Update entry", () => {
    const entries = trackUpdate([], undefined, deployment(1), writer("kubectl-create", T1), WHOLE_OBJECT);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ manager: "kubectl-create", operation: "Update", apiVersion: "apps/v1", time: T1, fieldsType: "FieldsV1" });
    expect(FieldSet.fromFieldsV1(entries[0]!.fieldsV1).has(["f:spec", "f:replicas"])).toBe(true);
  });

  it("owns the maps and lists it adds, but not the structs every object has", () => {
    const entries = trackUpdate([], undefined, deployment(1), writer("kubectl-create", T1), WHOLE_OBJECT);
    const v1 = entries[0]!.fieldsV1 as Record<string, Record<string, Record<string, unknown>>>;
    expect(v1["f:metadata"]).toEqual({ "f:labels": { ".": {}, "f:app": {} } });
    const template = v1["f:spec"]!["f:template"] as Record<string, Record<string, Record<string, Record<string, Record<string, unknown>>>>>;
    expect(Object.keys(template)).not.toContain(".");
    const container = template["f:spec"]!["f:containers"]!['k:{"name":"nginx"}']!;
    expect(container["f:ports"]).toEqual({ ".": {}, 'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {}, "f:protocol": {} } });
  });

  it("moves a changed field to the updater and keeps one entry per manager, apiVersion and subresource", () => {
    const created = deployment(1);
    created.metadata.managedFields = trackUpdate([], undefined, created, writer("kubectl-create", T1), WHOLE_OBJECT);
    const scaled = deployment(3);
    const entries = trackUpdate(decodeManagers(created.metadata.managedFields), created, scaled, writer("kubectl", T2, "scale"), WHOLE_OBJECT);
    const managers = decodeManagers(entries);
    expect(managers.map((m) => [m.manager, m.subresource, m.time])).toEqual([["kubectl-create", "", T1], ["kubectl", "scale", T2]]);
    expect(managers[0]!.fields.has(["f:spec", "f:replicas"])).toBe(false);
    expect(managers[1]!.fields.list().map(formatPath)).toEqual([".spec.replicas"]);
    // The same manager again: still one entry, its time moved on.
    const again = trackUpdate(managers, scaled, deployment(4), writer("kubectl", T3, "scale"), WHOLE_OBJECT);
    expect(decodeManagers(again).map((m) => [m.manager, m.time])).toEqual([["kubectl-create", T1], ["kubectl", T3]]);
  });

  it("drops removed fields from everyone and entries left empty", () => {
    const before = deployment(1);
    const managers = decodeManagers(trackUpdate([], undefined, before, writer("a", T1), WHOLE_OBJECT));
    const after = structuredClone(before);
    after.metadata.labels = { other: "x" };
    const entries = trackUpdate(managers, before, after, writer("b", T2), WHOLE_OBJECT);
    const decoded = decodeManagers(entries);
    expect(decoded.find((m) => m.manager === "a")!.fields.has(["f:metadata", "f:labels", "f:app"])).toBe(false);
    expect(decoded.find((m) => m.manager === "b")!.fields.list().map(formatPath)).toEqual([".metadata.labels.other"]);
  });

  it("keeps at most 10 Update entries, merging the oldest of a version into ancient-changes", () => {
    let object: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: {} };
    let managers = decodeManagers([]);
    for (let i = 0; i < 12; i++) {
      const next = structuredClone(object);
      (next.data as Record<string, string>)[`k${i}`] = "v";
      const time = `2026-01-01T00:${String(i).padStart(2, "0")}:00Z`;
      next.metadata.managedFields = trackUpdate(managers, object, next, { manager: `m${i}`, apiVersion: "v1", subresource: "", time }, WHOLE_OBJECT);
      managers = decodeManagers(next.metadata.managedFields);
      object = next;
    }
    expect(managers).toHaveLength(10);
    const ancient = managers.find((m) => m.manager === "ancient-changes")!;
    expect(ancient.fields.list().map(formatPath)).toEqual([".data.k0", ".data.k1", ".data.k2"]);
    expect(ancient.time).toBe("2026-01-01T00:02:00Z");
    expect(managers.map((m) => m.manager)).not.toContain("m0");
  });

  it("leaves the time alone when nothing changed", () => {
    const before = deployment(1);
    const managers = decodeManagers(trackUpdate([], undefined, before, writer("a", T1), WHOLE_OBJECT));
    const entries = trackUpdate(managers, before, deployment(1), writer("a", T2), WHOLE_OBJECT);
    expect(entries[0]!.time).toBe(T1);
  });
});

describe("trackApply", () => {
  const applied = (replicas: number | undefined, image = "nginx:1"): KubeObject => {
    const object = deployment(replicas ?? 0, image);
    delete object.metadata.uid;
    delete object.metadata.resourceVersion;
    if (replicas === undefined) delete (object.spec as Record<string, unknown>).replicas;
    return object;
  };

  it("owns exactly what it applied, as an Apply entry without the version in its identity", () => {
    const { object, managedFields } = trackApply([], undefined, applied(2), writer("kubectl", T1), WHOLE_OBJECT, false);
    expect((object.spec as { replicas: number }).replicas).toBe(2);
    expect(managedFields).toHaveLength(1);
    expect(managedFields[0]).toMatchObject({ manager: "kubectl", operation: "Apply" });
    expect(FieldSet.fromFieldsV1(managedFields[0]!.fieldsV1).equals(fieldSetOf(applied(2)))).toBe(true);
  });

  it("409s naming the other manager's field, with one cause per field", () => {
    const live = deployment(1);
    live.metadata.managedFields = trackUpdate([], undefined, live, writer("kubectl-client-side-apply", T1), WHOLE_OBJECT);
    const err = statusOf(() => trackApply(decodeManagers(live.metadata.managedFields), live, applied(5), writer("other", T2), WHOLE_OBJECT, false));
    expect(err.code).toBe(409);
    expect(err.reason).toBe("Conflict");
    expect(err.message).toBe('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
    expect(err.details?.causes).toEqual([{ reason: "FieldManagerConflict", message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: ".spec.replicas" }]);
  });

  it("lists several conflicts by manager", () => {
    const live = deployment(1);
    const first = trackApply([], undefined, applied(1), writer("alpha", T1), WHOLE_OBJECT, false);
    const err = statusOf(() => trackApply(decodeManagers(first.managedFields), live, applied(3, "nginx:2"), writer("beta", T2), WHOLE_OBJECT, false));
    expect(err.message).toBe('Apply failed with 2 conflicts: conflicts with "alpha":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image');
  });

  it("shares a field applied with the same value, without a conflict", () => {
    const first = trackApply([], undefined, applied(2), writer("alpha", T1), WHOLE_OBJECT, false);
    const second = trackApply(decodeManagers(first.managedFields), first.object, applied(2), writer("beta", T2), WHOLE_OBJECT, false);
    const owners = decodeManagers(second.managedFields).filter((m) => m.fields.has(["f:spec", "f:replicas"])).map((m) => m.manager);
    expect(owners.sort()).toEqual(["alpha", "beta"]);
  });

  it("with force takes the field from the other manager", () => {
    const first = trackApply([], undefined, applied(2), writer("alpha", T1), WHOLE_OBJECT, false);
    const forced = trackApply(decodeManagers(first.managedFields), first.object, applied(7), writer("beta", T2), WHOLE_OBJECT, true);
    expect((forced.object.spec as { replicas: number }).replicas).toBe(7);
    const alpha = decodeManagers(forced.managedFields).find((m) => m.manager === "alpha")!;
    expect(alpha.fields.has(["f:spec", "f:replicas"])).toBe(false);
    expect(alpha.fields.has(["f:metadata", "f:labels", "f:app"])).toBe(true);
  });

  it("removes what the applier no longer applies unless someone else owns it", () => {
    const withSidecar = applied(2);
    const containers = ((withSidecar.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers);
    containers.push({ name: "sidecar", image: "busybox" });
    const first = trackApply([], undefined, withSidecar, writer("alpha", T1), WHOLE_OBJECT, false);
    const second = trackApply(decodeManagers(first.managedFields), first.object, applied(undefined), writer("alpha", T2), WHOLE_OBJECT, false);
    const spec = second.object.spec as { replicas?: number; template: { spec: { containers: { name: string }[] } } };
    expect(spec.replicas).toBeUndefined();
    expect(spec.template.spec.containers.map((c) => c.name)).toEqual(["nginx"]);

    // Another manager's field stays.
    const managers = decodeManagers(first.managedFields);
    const updated = trackUpdate(managers, first.object, deployment(9), writer("hpa", T2), WHOLE_OBJECT);
    const third = trackApply(decodeManagers(updated), deployment(9), applied(undefined), writer("alpha", T3), WHOLE_OBJECT, false);
    expect((third.object.spec as { replicas?: number }).replicas).toBe(9);
  });

  it("keeps the entry's time when re-applying the same configuration", () => {
    const first = trackApply([], undefined, applied(2), writer("alpha", T1), WHOLE_OBJECT, false);
    const again = trackApply(decodeManagers(first.managedFields), first.object, applied(2), writer("alpha", T2), WHOLE_OBJECT, false);
    expect(again.managedFields[0]!.time).toBe(T1);
  });
});

describe("mergeApplied and removePaths", () => {
  it("merges associative lists on their keys, sets by union, and replaces atomic maps and lists", () => {
    const live = { metadata: { finalizers: ["a"] }, spec: { selector: { matchLabels: { a: "1", b: "2" } }, tolerations: [{ key: "x" }], ports: [{ port: 80, protocol: "TCP", name: "http" }] } };
    const config = { metadata: { finalizers: ["b"] }, spec: { selector: { matchLabels: { a: "1" } }, tolerations: [{ key: "y" }], ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
    expect(mergeApplied(live, config)).toEqual({
      metadata: { finalizers: ["a", "b"] },
      spec: { selector: { matchLabels: { a: "1" } }, tolerations: [{ key: "y" }], ports: [{ port: 80, protocol: "TCP", name: "http", targetPort: 8080 }, { port: 443 }] },
    });
  });

  it("removes list items by key and empty parents", () => {
    const object: Record<string, unknown> = { metadata: { labels: { a: "1" } }, spec: { containers: [{ name: "a" }, { name: "b" }] } };
    removePaths(object, [["f:metadata", "f:labels", "f:a"], ["f:spec", "f:containers", 'k:{"name":"b"}'], ["f:spec", "f:missing"]]);
    expect(object).toEqual({ spec: { containers: [{ name: "a" }] } });
  });
});

describe("keyElement", () => {
  it("is the key fields sorted by name as compact JSON, for scalar keys and for any other", () => {
    const cases: Record<string, unknown>[] = [
      { name: "web" },
      { protocol: "TCP", containerPort: 80 },
      { b: true, a: -0, c: 1.5e300 },
      { "": "empty name", "\"q": "ü\u2028" },
      { "10": "index", "9": "index", x: 1 },
      { "1a": "digit first" },
      { obj: { z: 1, a: 2 }, list: [1], nil: null },
    ];
    for (const keys of cases) {
      const sorted: Record<string, unknown> = {};
      for (const name of Object.keys(keys).sort()) Object.defineProperty(sorted, name, { value: keys[name], enumerable: true });
      expect(keyElement(keys)).toBe(`k:${JSON.stringify(sorted)}`);
    }
  });
});

describe("createdFieldsV1 (a create's managedFields in one walk)", () => {
  // Objects that reach every branch of the walk: always-present structs, empty maps and lists, atomic maps,
  // associative lists (one key, two keys, a defaulted key, an item without its key, duplicate keys), sets,
  // atomic lists, the server's metadata fields, members that sort out of insertion order, and odd key text.
  const objects: Record<string, KubeObject> = {
    deployment: deployment(3, "nginx:1", { paused: false, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%" } } }),
    pod: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "default", uid: "u", generateName: "p-", finalizers: ["b", "a"], annotations: { z: "1", a: "2" }, ownerReferences: [{ apiVersion: "v1", kind: "X", name: "o", uid: "ou", controller: true }] },
      spec: {
        containers: [
          { name: "web", image: "nginx", ports: [{ containerPort: 80 }, { containerPort: 53, protocol: "UDP" }], env: [{ name: "A", value: "1" }, { value: "no key" }], args: ["x", "y"], resources: {} },
          { name: "side", image: "busybox", volumeMounts: [{ name: "v", mountPath: "/v" }], command: [] },
        ],
        initContainers: [{ name: "init", image: "busybox" }],
        volumes: [{ name: "v", emptyDir: {} }, { name: "v", configMap: { name: "cm" } }],
        nodeSelector: { disk: "ssd" },
        tolerations: [{ key: "k", operator: "Exists" }],
        securityContext: {},
        __proto__weird: { "f:x": 1, "k:{}": 2 },
      },
      status: { phase: "Pending", conditions: [{ type: "Ready", status: "False" }] },
    },
    service: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s", labels: {} },
      spec: { selector: { app: "web" }, ports: [{ port: 80, protocol: "TCP", targetPort: 8080 }, { port: 80, protocol: "UDP" }], clusterIPs: ["10.0.0.1"] },
    },
    // A defaulted pod as a create stores it (no duplicate keys: the one-walk path, not the tree).
    defaultedPod: JSON.parse(
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p-1","namespace":"default","uid":"0f0c","creationTimestamp":"2026-12-07T08:30:16Z","labels":{"b":"2","a":"1"}},"spec":{"containers":[{"name":"c","image":"nginx","imagePullPolicy":"Always","terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","resources":{},"ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":80,"protocol":"UDP"}],"volumeMounts":[{"name":"kube-api-access-pbppr","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}]},{"name":"a","image":"busybox"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","terminationGracePeriodSeconds":30,"securityContext":{},"schedulerName":"default-scheduler","enableServiceLinks":true,"tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],"priority":0,"preemptionPolicy":"PreemptLowerPriority","serviceAccountName":"default","volumes":[{"name":"kube-api-access-pbppr","projected":{"defaultMode":420,"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}}]}}]},"status":{"phase":"Pending","qosClass":"BestEffort"}}',
    ) as KubeObject,
    bare: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "default", uid: "u", creationTimestamp: "x" } },
    empty: {} as KubeObject,
    // More members than the insertion sort takes, in reverse order.
    manyLabels: { metadata: { name: "m", labels: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${String(40 - i).padStart(2, "0")}`, "v"])) } },
    serverMetaOnly: { metadata: { name: "n", uid: "u" }, spec: { containers: [{ image: "no name" }] } },
    emptySpec: { apiVersion: "v1", kind: "Thing", metadata: { name: "t" }, spec: {}, status: {} },
  };

  for (const [name, object] of Object.entries(objects)) {
    for (const [scopeName, scope] of [["whole object", WHOLE_OBJECT], ["not status", (f: string) => WHOLE_OBJECT(f) && f !== "status"], ["status only", (f: string) => f === "status" || f === "metadata"]] as const) {
      it(`${name}, ${scopeName}: the same tree, member order included, as compare's added set`, () => {
        const added = compare(undefined, object, scope).added;
        const fast = createdFieldsV1(object, scope);
        if (added.isEmpty()) expect(fast).toBeUndefined();
        else expect(JSON.stringify(fast)).toBe(JSON.stringify(added.toFieldsV1()));
      });
    }
  }

  it("trackUpdate of a create from no managers is one Update entry with that tree", () => {
    const object = objects.pod!;
    const entries = trackUpdate([], undefined, object, writer("kubectl", T1, "status"), WHOLE_OBJECT);
    expect(entries).toEqual([{ manager: "kubectl", operation: "Update", apiVersion: "apps/v1", time: T1, fieldsType: "FieldsV1", fieldsV1: compare(undefined, object, WHOLE_OBJECT).added.toFieldsV1(), subresource: "status" }]);
    expect(trackUpdate([], undefined, objects.bare!, writer("kubectl", T1), WHOLE_OBJECT)).toEqual([]);
  });
});
