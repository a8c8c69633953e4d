// CustomResourceDefinitions through the real kubectl against a real apiserver process on a real etcd: a CRD with a
// schema, defaults, printer columns, status and scale subresources and two versions is served as soon as it is
// applied; its objects are pruned, defaulted and validated, stored under /registry/<group>/<plural>/; deleting the
// CRD deletes them and the resource leaves discovery. A second apiserver on the same etcd serves the CRD too.
import { ApiException, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { startApiServerProcess, startTestCluster, waitFor, type ApiServerProcess, type TestCluster } from "../support/apiserver.js";
import { startComponentOnFreePort } from "../support/components.js";
import { call, etcdctl, etcdKeys, openWatch } from "../support/http.js";

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec:
                type: string
                pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'
              image:
                type: string
                default: nginx:1.27
              replicas:
                type: integer
                minimum: 1
                maximum: 10
                default: 1
              mode:
                type: string
                enum: [Fast, Slow]
          status:
            type: object
            properties:
              replicas:
                type: integer
              labelSelector:
                type: string
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
  - name: v1alpha1
    served: false
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`;

const crontab = (name: string, spec: string): string => `apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: ${name}
spec:
${spec}
`;

let cluster: TestCluster | undefined;

function kc(): TestCluster {
  if (!cluster) throw new Error("cluster not started");
  return cluster;
}

function kubectl(args: string[], options?: Parameters<TestCluster["kubectl"]>[1]): ReturnType<TestCluster["kubectl"]> {
  return kc().kubectl(args, options);
}

beforeAll(async () => {
  cluster = await startTestCluster();
}, 90_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe("a CRD with schema, defaults, printer columns and a status subresource, used through kubectl", () => {
  it("is served as soon as it is applied, and its objects follow the schema", async () => {
    // Warm kubectl's discovery cache first, so the CRD's resource is a cache miss afterwards.
    await kubectl(["get", "pods"]);
    await kubectl(["apply", "-f", "-"], { stdin: CRD });
    const empty = await kubectl(["get", "crontabs"]);
    expect(empty.stderr).toContain("No resources found in default namespace.");

    // kubectl's default (Strict) field validation refuses an unknown field, as Kubernetes' decoder does.
    const strict = await kubectl(["apply", "-f", "-"], { stdin: crontab("defaulted", "  cronSpec: '* * * * */5'\n  unknownField: x"), allowFailure: true });
    expect(strict.stderr.trim()).toBe('Error from server (BadRequest): error when creating "STDIN": CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: unknown field "spec.unknownField"');
    // With Warn, the field is pruned after a warning; defaults fill what the object leaves out.
    const created = await kubectl(["apply", "--validate=warn", "-f", "-"], { stdin: crontab("defaulted", "  cronSpec: '* * * * */5'\n  unknownField: x") });
    expect(created.stdout).toContain("crontab.stable.example.com/defaulted created");
    expect(created.stderr).toContain('Warning: unknown field "spec.unknownField"');
    const stored = JSON.parse((await kubectl(["get", "crontab", "defaulted", "-o", "json"])).stdout) as KubeObject & { spec: Record<string, unknown> };
    expect(stored.spec).toEqual({ cronSpec: "* * * * */5", image: "nginx:1.27", replicas: 1 });
    expect(stored.metadata.generation).toBe(1);

    // Invalid objects: kubectl prints Kubernetes' field errors.
    const bad = await kubectl(["apply", "-f", "-"], { stdin: crontab("bad", "  cronSpec: 'every minute'\n  replicas: 15\n  mode: Medium"), allowFailure: true });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The CronTab "bad" is invalid: ');
    expect(bad.stderr).toContain("spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10");
    expect(bad.stderr).toContain('spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"');
    expect(bad.stderr).toContain("spec.cronSpec: Invalid value: \"every minute\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'");
    const missing = await kubectl(["create", "-f", "-"], { stdin: crontab("missing", "  replicas: 2"), allowFailure: true });
    expect(missing.stderr).toContain('The CronTab "missing" is invalid: spec.cronSpec: Required value');
    const wrongType = await kubectl(["create", "-f", "-"], { stdin: crontab("wrongtype", "  cronSpec: '* * * * *'\n  replicas: many"), allowFailure: true });
    expect(wrongType.stderr).toContain('spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"');

    // Ignore prunes silently.
    const ignored = await kubectl(["create", "--validate=false", "-f", "-"], { stdin: crontab("ignored", "  cronSpec: '* * * * *'\n  bogus: 1") });
    expect(ignored.stderr).toBe("");
    const ignoredObject = JSON.parse((await kubectl(["get", "crontab", "ignored", "-o", "json"])).stdout) as KubeObject & { spec: Record<string, unknown> };
    expect(ignoredObject.spec.bogus).toBeUndefined();
    await kubectl(["delete", "crontab", "ignored"]);

    // The Table has the CRD's printer columns.
    const table = await kubectl(["get", "crontab", "defaulted"]);
    const [header, row] = table.stdout.trim().split("\n");
    expect(header?.split(/\s{2,}/)).toEqual(["NAME", "SPEC", "REPLICAS", "AGE"]);
    expect(row?.split(/\s{2,}/).slice(0, 3)).toEqual(["defaulted", "* * * * */5", "1"]);
    const short = await kubectl(["get", "ct"]);
    expect(short.stdout).toContain("defaulted");

    // kubectl explain (OpenAPI v3, kubectl's default, and v2) shows apiVersion, kind and metadata at the root with
    // Kubernetes' descriptions, and ObjectMeta's fields below metadata, as Kubernetes' conformance test checks.
    for (const output of ["plaintext", "plaintext-openapiv2"]) {
      const root = await kubectl(["explain", "crontabs", `--output=${output}`]);
      expect(root.stdout).toMatch(/FIELDS:[^]*apiVersion[^]*<string>[^]*APIVersion defines[^]*kind[^]*<string>[^]*Kind is a string[^]*spec[^]*<Object>/);
      const metadata = await kubectl(["explain", "crontabs.metadata", `--output=${output}`]);
      expect(metadata.stdout).toMatch(/DESCRIPTION:[^]*Standard object's metadata[^]*FIELDS:[^]*creationTimestamp[^]*<string>[^]*CreationTimestamp is a timestamp/);
    }

    // The etcd key is Kubernetes': /registry/<group>/<plural>/<namespace>/<name>.
    expect(await etcdKeys(kc().etcd.endpoint, "/registry/stable.example.com/")).toContain("/registry/stable.example.com/crontabs/default/defaulted");
  });

  it("has a status subresource: each endpoint keeps to its half, generation follows spec only", async () => {
    await kubectl(["patch", "crontab", "defaulted", "--type=merge", "-p", '{"status":{"replicas":7}}']);
    type CronTab = KubeObject & { spec: { replicas: number }; status?: { replicas?: number } };
    let object = JSON.parse((await kubectl(["get", "crontab", "defaulted", "-o", "json"])).stdout) as CronTab;
    expect(object.status?.replicas).toBeUndefined();
    expect(object.metadata.generation).toBe(1);

    await kubectl(["patch", "crontab", "defaulted", "--subresource=status", "--type=merge", "-p", '{"status":{"replicas":3,"labelSelector":"app=cron"},"spec":{"replicas":9}}']);
    object = JSON.parse((await kubectl(["get", "crontab", "defaulted", "-o", "json"])).stdout) as CronTab;
    expect(object.status?.replicas).toBe(3);
    expect(object.spec.replicas).toBe(1);
    expect(object.metadata.generation).toBe(1);

    const invalidStatus = await kubectl(["patch", "crontab", "defaulted", "--subresource=status", "--type=merge", "-p", '{"status":{"replicas":"x"}}'], { allowFailure: true });
    expect(invalidStatus.stderr).toContain('status.replicas: Invalid value: "string": status.replicas in body must be of type integer: "string"');

    await kubectl(["patch", "crontab", "defaulted", "--type=merge", "-p", '{"spec":{"replicas":2}}']);
    object = JSON.parse((await kubectl(["get", "crontab", "defaulted", "-o", "json"])).stdout) as CronTab;
    expect(object.metadata.generation).toBe(2);

    // Strategic merge patch is not for custom resources (415), as in Kubernetes.
    const smp = await kubectl(["patch", "crontab", "defaulted", "-p", '{"spec":{"replicas":3}}'], { allowFailure: true });
    expect(smp.stderr).toContain("application/strategic-merge-patch+json is not supported");
  });

  it("scales with kubectl scale through the scale subresource", async () => {
    const out = await kubectl(["scale", "crontab", "defaulted", "--replicas=5"]);
    expect(out.stdout).toContain("crontab.stable.example.com/defaulted scaled");
    const object = JSON.parse((await kubectl(["get", "crontab", "defaulted", "-o", "json"])).stdout) as KubeObject & { spec: { replicas: number } };
    expect(object.spec.replicas).toBe(5);
    const scale = await call<{ spec: { replicas: number }; status: { replicas: number; selector?: string } }>(kc().api, "GET", "/apis/stable.example.com/v1/namespaces/default/crontabs/defaulted/scale");
    expect(scale.body.spec.replicas).toBe(5);
    expect(scale.body.status).toEqual({ replicas: 3, selector: "app=cron" });
  });

  it("lists with selectors, watches, and serves the second version with its apiVersion", async () => {
    const base = kc().api;
    await kubectl(["apply", "-f", "-"], { stdin: crontab("labelled", "  cronSpec: '0 * * * *'").replace("  name: labelled", "  name: labelled\n  labels: {tier: batch}") });
    const byLabel = await kubectl(["get", "crontabs", "-l", "tier=batch", "-o", "name"]);
    expect(byLabel.stdout.trim()).toBe("crontab.stable.example.com/labelled");
    const byField = await kubectl(["get", "crontabs", "--field-selector", "metadata.name=defaulted", "-o", "name"]);
    expect(byField.stdout.trim()).toBe("crontab.stable.example.com/defaulted");

    const watch = await openWatch(base, "/apis/stable.example.com/v1/namespaces/default/crontabs?watch=true&labelSelector=tier%3Dbatch");
    try {
      await kubectl(["label", "crontab", "labelled", "seen=yes"]);
      const event = await waitFor("the MODIFIED event", () => watch.events.find((e) => e.type === "MODIFIED"));
      expect((event.object as KubeObject).metadata.labels).toEqual({ tier: "batch", seen: "yes" });
    } finally {
      watch.close();
    }

    const beta = await call<KubeObject>(base, "GET", "/apis/stable.example.com/v1beta1/namespaces/default/crontabs/labelled");
    expect(beta.status).toBe(200);
    expect(beta.body.apiVersion).toBe("stable.example.com/v1beta1");
    const alpha = await call(base, "GET", "/apis/stable.example.com/v1alpha1/namespaces/default/crontabs/labelled");
    expect(alpha.status).toBe(404);
    const group = await call<{ preferredVersion: { version: string }; versions: { version: string }[] }>(base, "GET", "/apis/stable.example.com");
    expect(group.body.versions.map((v) => v.version)).toEqual(["v1", "v1beta1"]);

    const crds = await kubectl(["get", "crd"]);
    expect(crds.stdout.split("\n")[0]?.split(/\s{2,}/)).toEqual(["NAME", "CREATED AT"]);
    await kubectl(["wait", "--for=condition=Established", "crd/crontabs.stable.example.com", "--timeout=20s"]);
  });

  it("publishes a CRD that keeps unknown fields at its root as kubectl's /openapi/v2 wants it: any field validates, explain works", async () => {
    const free = (kind: string, plural: string, schema: string): string => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.free.example.com
spec:
  group: free.example.com
  scope: Namespaced
  names: {plural: ${plural}, singular: ${kind.toLowerCase()}, kind: ${kind}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: ${schema}
`;
    // The e2e's "CRD without validation schema" and "preserving unknown fields at the schema root".
    await kubectl(["apply", "-f", "-"], { stdin: free("Anything", "anythings", "{type: object, x-kubernetes-preserve-unknown-fields: true}") });
    await kubectl(["apply", "-f", "-"], { stdin: free("Rooted", "rooteds", "{description: keeps all, type: object, x-kubernetes-preserve-unknown-fields: true, properties: {spec: {type: object, properties: {dummy: {type: object}}}}}") });
    await kubectl(["wait", "--for=condition=Established", "crd/anythings.free.example.com", "crd/rooteds.free.example.com", "--timeout=20s"]);
    const v2 = await call<{ definitions: Record<string, unknown> }>(kc().api, "GET", "/openapi/v2");
    for (const kind of ["Anything", "Rooted"]) {
      expect(v2.body.definitions[`com.example.free.v1.${kind}`]).toEqual({ type: "object", "x-kubernetes-group-version-kind": [{ group: "free.example.com", version: "v1", kind }] });
    }
    for (const kind of ["Anything", "Rooted"]) {
      const object = JSON.stringify({ apiVersion: "free.example.com/v1", kind, metadata: { name: "random" }, a: { b: [{ c: "d" }] } });
      await kubectl(["create", "-f", "-"], { stdin: object });
      await kubectl(["delete", kind.toLowerCase(), "random"]);
      await kubectl(["apply", "-f", "-"], { stdin: object });
      await kubectl(["delete", kind.toLowerCase(), "random"]);
      // Both the v3 (kubectl's default) and the v2 explain.
      for (const output of ["plaintext", "plaintext-openapiv2"]) {
        const explained = await kubectl(["explain", `${kind.toLowerCase()}s`, `--output=${output}`]);
        expect(explained.stdout).toMatch(new RegExp(`KIND:\\s+${kind}`));
      }
    }
    const empty = await kubectl(["explain", "anythings"]);
    expect(empty.stdout).toMatch(/DESCRIPTION:[\s\S]*<empty>/);
    await kubectl(["delete", "crd", "anythings.free.example.com", "rooteds.free.example.com"]);
  }, 60_000);

  it("defaults objects on read: a default added to the schema shows on objects stored before it (GET, LIST, WATCH)", async () => {
    const base = kc().api;
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "defaulteds.late.example.com" },
      spec: {
        group: "late.example.com",
        scope: "Cluster",
        names: { plural: "defaulteds", singular: "defaulted", kind: "Defaulted" },
        versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", properties: { a: { type: "string" }, b: { type: "string" } } } } }],
      },
    };
    expect((await call(base, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)).status).toBe(201);
    await kubectl(["wait", "--for=condition=Established", "crd/defaulteds.late.example.com", "--timeout=20s"]);
    const path = "/apis/late.example.com/v1/defaulteds";
    const patchCrd = async (ops: unknown[]): Promise<void> => {
      const reply = await call(base, "PATCH", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/defaulteds.late.example.com", ops, { contentType: "application/json-patch+json" });
      expect(reply.status).toBe(200);
    };
    const read = async (name: string): Promise<Record<string, unknown>> => (await call<Record<string, unknown>>(base, "GET", `${path}/${name}`)).body;
    await waitFor("the resource to be served", async () => ((await call(base, "GET", path)).status === 200 ? true : undefined));
    expect((await call(base, "POST", path, { apiVersion: "late.example.com/v1", kind: "Defaulted", metadata: { name: "first" } })).status).toBe(201);

    await patchCrd([{ op: "add", path: "/spec/versions/0/schema/openAPIV3Schema/properties/a/default", value: "A" }]);
    await waitFor("GET to default a", async () => ((await read("first")).a === "A" ? true : undefined));
    const listed = await call<{ items: Record<string, unknown>[] }>(base, "GET", path);
    expect(listed.body.items.find((i) => (i.metadata as KubeObject["metadata"]).name === "first")?.a).toBe("A");
    // Still not stored: etcd holds the object as written.
    expect(await etcdctl(kc().etcd.endpoint, ["get", "/registry/late.example.com/defaulteds/first", "--print-value-only"])).not.toContain('"a"');
    const created = await call<Record<string, unknown>>(base, "POST", path, { apiVersion: "late.example.com/v1", kind: "Defaulted", metadata: { name: "second" } });
    expect(created.body.a).toBe("A");

    await patchCrd([
      { op: "remove", path: "/spec/versions/0/schema/openAPIV3Schema/properties/a/default" },
      { op: "add", path: "/spec/versions/0/schema/openAPIV3Schema/properties/b/default", value: "B" },
    ]);
    await waitFor("GET to default b", async () => ((await read("second")).b === "B" ? true : undefined));
    expect(await read("second")).toMatchObject({ a: "A", b: "B" });
    expect((await read("first")).a).toBeUndefined();
    const watch = await openWatch(base, `${path}?watch=true`);
    try {
      const added = await waitFor("the watch's ADDED events", () => (watch.events.length >= 2 ? watch.events : undefined));
      for (const event of added) expect((event.object as Record<string, unknown>).b).toBe("B");
    } finally {
      watch.close();
    }
    await call(base, "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/defaulteds.late.example.com");
  }, 60_000);

  it("is served by a second apiserver on the same etcd, and Cluster-scoped CRDs too", async () => {
    let second: ApiServerProcess | undefined;
    try {
      second = await startApiServerProcess(kc().etcd.endpoint);
      const secondUrl = second.api;
      const list = await call<{ items: KubeObject[] }>(secondUrl, "GET", "/apis/stable.example.com/v1/namespaces/default/crontabs");
      expect(list.body.items.map((i) => i.metadata.name).sort()).toEqual(["defaulted", "labelled"]);
      const crd2 = CRD.replaceAll("crontabs", "backups").replaceAll("crontab", "backup").replaceAll("CronTab", "Backup").replace("shortNames: [ct]", "shortNames: [bk]").replace("scope: Namespaced", "scope: Cluster");
      await kc().kubectl(["apply", "-f", "-"], { stdin: crd2 });
      // Created through the first apiserver, served by the second at once.
      const other = await call<KubeObject>(secondUrl, "POST", "/apis/stable.example.com/v1/backups", { apiVersion: "stable.example.com/v1", kind: "Backup", metadata: { name: "nightly" }, spec: { cronSpec: "0 0 * * *" } });
      expect(other.status).toBe(201);
      expect(other.body.metadata.namespace).toBeUndefined();
      expect((await call(secondUrl, "GET", "/apis/stable.example.com/v1/namespaces/default/backups/nightly")).status).toBe(404);
      expect(await etcdKeys(kc().etcd.endpoint, "/registry/stable.example.com/backups/")).toEqual(["/registry/stable.example.com/backups/nightly"]);
      const listed = await kubectl(["get", "backups", "-o", "name"]);
      expect(listed.stdout.trim()).toBe("backup.stable.example.com/nightly");
      await kc().kubectl(["delete", "crd", "backups.stable.example.com"]);
      expect(await etcdKeys(kc().etcd.endpoint, "/registry/stable.example.com/backups/")).toEqual([]);
    } finally {
      await second?.stop("SIGKILL");
    }
  }, 60_000);

  it("takes part in garbage collection (owners and dependents of custom resources) and namespace deletion", async () => {
    const manager = await startComponentOnFreePort("kube-controller-manager", ["--kubeconfig", kc().kubeconfig, "--leader-elect=false", "--controllers=garbagecollector,namespace"], "crd-gc-controller-manager");
    try {
      const base = kc().api;
      const owner = await call<KubeObject>(base, "POST", "/apis/stable.example.com/v1/namespaces/default/crontabs", { apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "owner" }, spec: { cronSpec: "* * * * *" } });
      expect(owner.status).toBe(201);
      const ownerRef = { apiVersion: "stable.example.com/v1", kind: "CronTab", name: "owner", uid: owner.body.metadata.uid ?? "" };
      await call(base, "POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "owned-by-crontab", ownerReferences: [ownerRef] } });
      const cm = await call<KubeObject>(base, "POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "owner-cm" } });
      const cmRef = { apiVersion: "v1", kind: "ConfigMap", name: "owner-cm", uid: cm.body.metadata.uid ?? "" };
      await call(base, "POST", "/apis/stable.example.com/v1/namespaces/default/crontabs", { apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "owned-by-cm", ownerReferences: [cmRef] }, spec: { cronSpec: "* * * * *" } });

      await kubectl(["delete", "crontab", "owner"]);
      await kubectl(["delete", "configmap", "owner-cm"]);
      await waitFor("the ConfigMap owned by the CronTab to be collected", async () => (await call(base, "GET", "/api/v1/namespaces/default/configmaps/owned-by-crontab")).status === 404, 30_000, 200);
      await waitFor("the CronTab owned by the ConfigMap to be collected", async () => (await call(base, "GET", "/apis/stable.example.com/v1/namespaces/default/crontabs/owned-by-cm")).status === 404, 30_000, 200);

      // Deleting a namespace deletes its custom resources, then the namespace goes.
      await kubectl(["create", "namespace", "storage-crns"]);
      expect((await call(base, "POST", "/apis/stable.example.com/v1/namespaces/storage-crns/crontabs", { apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "in-ns" }, spec: { cronSpec: "* * * * *" } })).status).toBe(201);
      expect(await etcdKeys(kc().etcd.endpoint, "/registry/stable.example.com/crontabs/storage-crns/")).toEqual(["/registry/stable.example.com/crontabs/storage-crns/in-ns"]);
      await kubectl(["delete", "namespace", "storage-crns", "--wait=false"]);
      await waitFor("namespace storage-crns to be removed", async () => (await call(base, "GET", "/api/v1/namespaces/storage-crns")).status === 404, 30_000, 200);
      expect(await etcdKeys(kc().etcd.endpoint, "/registry/stable.example.com/crontabs/storage-crns/")).toEqual([]);
    } finally {
      await manager.kill();
    }
  }, 60_000);

  it("works with @kubernetes/client-node's CustomObjectsApi", async () => {
    const config = new KubeConfig();
    config.loadFromFile(kc().kubeconfig);
    const api = config.makeApiClient(CustomObjectsApi);
    const target = { group: "stable.example.com", version: "v1", namespace: "default", plural: "crontabs" };
    const created = (await api.createNamespacedCustomObject({ ...target, body: { apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "from-client-node" }, spec: { cronSpec: "*/5 * * * *" } } })) as KubeObject & { spec: { replicas?: number } };
    expect(created.spec.replicas).toBe(1);
    const list = (await api.listNamespacedCustomObject({ ...target, labelSelector: "" })) as { kind: string; items: KubeObject[] };
    expect(list.kind).toBe("CronTabList");
    expect(list.items.map((i) => i.metadata.name)).toContain("from-client-node");
    try {
      await api.createNamespacedCustomObject({ ...target, body: { apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "bad-from-client-node" }, spec: { cronSpec: "*/5 * * * *", replicas: 0 } } });
      throw new Error("expected a 422");
    } catch (err) {
      expect(err instanceof ApiException ? err.code : err).toBe(422);
    }
    await api.deleteNamespacedCustomObject({ ...target, name: "from-client-node" });
  });

  it("deletes its objects when the CRD is deleted, and the resource leaves discovery", async () => {
    await kubectl(["delete", "crd", "crontabs.stable.example.com"]);
    expect(await etcdKeys(kc().etcd.endpoint, "/registry/stable.example.com/crontabs/")).toEqual([]);
    // kubectl keeps discovery on disk; `api-resources` refreshes it, as a new kubeconfig or an expired cache would.
    const resources = await kubectl(["api-resources"]);
    expect(resources.stdout).not.toContain("crontabs");
    const gone = await kubectl(["get", "crontabs"], { allowFailure: true });
    expect(gone.code).not.toBe(0);
    expect(gone.stderr.trim()).toBe('error: the server doesn\'t have a resource type "crontabs"');
  });
});
