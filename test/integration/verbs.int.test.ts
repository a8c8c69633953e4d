// Every verb and subresource of the API over real HTTP, against a real apiserver process on a real etcd: status
// codes, Status bodies, selectors, pagination, patches, deletion rules, subresources, Tables and bad input. After
// every refused write, etcd itself (read with etcdctl, not through the apiserver) shows that nothing was stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { startApiServerProcess, waitFor, type ApiServerProcess } from "../support/apiserver.js";
import { startEtcd, type EtcdHandle } from "../support/etcd.js";
import { call, etcdctl, etcdKeys, metricSum, openWatch, type ApiTarget, type Reply, type RequestOptions, type StatusBody } from "../support/http.js";

const NS = "verbs";

interface List<T = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

interface PodSpec {
  nodeName?: string;
  containers: { name: string; image: string }[];
}
interface Pod extends KubeObject {
  spec: PodSpec;
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

interface Deployment extends KubeObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: { containers: { name: string; image: string; env?: { name: string; value: string }[] }[] } };
  };
  status?: { replicas?: number; observedGeneration?: number };
}

interface Scale extends KubeObject {
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

interface Table {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion?: string };
  columnDefinitions: { name: string; type: string; format: string; priority: number }[];
  rows: { cells: unknown[]; object?: KubeObject }[];
}

let etcd: EtcdHandle | undefined;
let apiserver: ApiServerProcess | undefined;

function base(): ApiTarget {
  if (!apiserver) throw new Error("the apiserver did not start");
  return apiserver.api;
}

function api<T = KubeObject>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<Reply<T>> {
  return call<T>(base(), method, path, body, options);
}

/** A request that must succeed with `code`; the reply's body otherwise ends up in the failure message. */
async function ok<T = KubeObject>(code: number, method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T> {
  const reply = await api<T>(method, path, body, options);
  if (reply.status !== code) throw new Error(`${method} ${path}: expected ${code}, got ${reply.status}: ${reply.text}`);
  return reply.body;
}

async function keysUnder(prefix: string): Promise<string[]> {
  if (!etcd) throw new Error("etcd did not start");
  return etcdKeys(etcd.endpoint, prefix);
}

function configMap(name: string, labels: Record<string, string> = {}, data: Record<string, string> = { a: "1" }): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels }, data };
}

function pod(name: string, labels: Record<string, string> = {}): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, labels }, spec: { containers: [{ name: "app", image: "busybox" }] } };
}

function deployment(name: string, containers: { name: string; image: string }[] = [{ name: "web", image: "nginx:1.24" }]): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers } } },
  };
}

function names(list: { items: KubeObject[] }): string[] {
  return list.items.map((o) => o.metadata.name ?? "").sort();
}

const cm = (name = ""): string => `/api/v1/namespaces/${NS}/configmaps${name ? `/${name}` : ""}`;
const pods = (name = ""): string => `/api/v1/namespaces/${NS}/pods${name ? `/${name}` : ""}`;
const deploys = (name = ""): string => `/apis/apps/v1/namespaces/${NS}/deployments${name ? `/${name}` : ""}`;

beforeAll(async () => {
  etcd = await startEtcd();
  apiserver = await startApiServerProcess(etcd.endpoint);
  await ok(201, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
});

afterAll(async () => {
  await apiserver?.stop("SIGKILL");
  await etcd?.destroy();
});

describe("create", () => {
  it("answers 201 with the stored object carrying uid, resourceVersion and creationTimestamp", async () => {
    const reply = await api("POST", cm(), configMap("created"));
    expect(reply.status).toBe(201);
    expect(reply.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(reply.body.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(reply.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(reply.body.metadata.namespace).toBe(NS);
    expect(await keysUnder(`/registry/configmaps/${NS}/created`)).toEqual([`/registry/configmaps/${NS}/created`]);
    const again = await api<StatusBody>("POST", cm(), configMap("created"));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ kind: "Status", status: "Failure", reason: "AlreadyExists", message: 'configmaps "created" already exists' });
  });

  it("names an object from generateName with a random suffix", async () => {
    const created = await ok(201, "POST", cm(), { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "gen-" } });
    expect(created.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(created.metadata.generateName).toBe("gen-");
    await ok(200, "GET", cm(created.metadata.name));
  });

  it("stores nothing for a dryRun=All create but answers as if it had", async () => {
    const reply = await api("POST", `${cm()}?dryRun=All`, configMap("dry"));
    expect(reply.status).toBe(201);
    expect(reply.body.metadata.name).toBe("dry");
    expect(reply.body.metadata.uid).toBeDefined();
    expect(await keysUnder(`/registry/configmaps/${NS}/dry`)).toEqual([]);
    expect((await api("GET", cm("dry"))).status).toBe(404);
  });

  it("refuses a namespaced object in a namespace that does not exist with 404", async () => {
    const reply = await api<StatusBody>("POST", "/api/v1/namespaces/nowhere/configmaps", configMap("lost"));
    expect(reply.status).toBe(404);
    expect(reply.body).toMatchObject({ kind: "Status", reason: "NotFound", message: 'namespaces "nowhere" not found' });
    expect(await keysUnder("/registry/configmaps/nowhere/")).toEqual([]);
  });
});

describe("get and list", () => {
  it("gets an object, and a missing one is 404 with Kubernetes' message", async () => {
    await ok(201, "POST", cm(), configMap("fetched"));
    const got = await ok(200, "GET", cm("fetched"));
    expect(got).toMatchObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "fetched", namespace: NS }, data: { a: "1" } });
    const missing = await api<StatusBody>("GET", cm("absent"));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'configmaps "absent" not found',
      reason: "NotFound",
      details: { name: "absent", kind: "configmaps" },
      code: 404,
    });
    const group = await api<StatusBody>("GET", deploys("absent"));
    expect(group.body.message).toBe('deployments.apps "absent" not found');
  });

  it("serves cluster-scoped and namespaced resources only under their own URLs", async () => {
    expect((await api("GET", "/api/v1/namespaces/default/nodes")).status).toBe(404);
    expect((await api("GET", "/api/v1/namespaces/default/namespaces")).status).toBe(404);
    expect((await api("GET", "/api/v1/nodes")).status).toBe(200);
    // A namespaced resource lists across namespaces at the cluster URL, but has no cluster-scoped objects.
    expect((await api("GET", "/api/v1/configmaps")).status).toBe(200);
    expect((await api("GET", "/api/v1/configmaps/fetched")).status).toBe(404);
    expect((await api("POST", "/api/v1/configmaps", configMap("nowhere"))).status).toBe(404);
    expect((await api("GET", "/api/v1/namespaces/default/flurbs")).status).toBe(404);
    expect((await api("GET", "/apis/apps/v2/namespaces/default/deployments")).status).toBe(404);
    expect(await keysUnder("/registry/configmaps/nowhere")).toEqual([]);
  });

  it("lists with equality and set-based label selectors", async () => {
    const labelled: [string, Record<string, string>][] = [
      ["sel-prod-web", { env: "prod", tier: "web" }],
      ["sel-prod-db", { env: "prod", tier: "db" }],
      ["sel-dev-web", { env: "dev", tier: "web" }],
      ["sel-test", { env: "test" }],
      ["sel-none", { other: "x" }],
    ];
    for (const [name, labels] of labelled) await ok(201, "POST", cm(), configMap(name, labels));
    const select = async (selector: string): Promise<string[]> =>
      names(await ok<List>(200, "GET", `${cm()}?labelSelector=${encodeURIComponent(selector)}`)).filter((n) => n.startsWith("sel-"));
    expect(await select("env=prod")).toEqual(["sel-prod-db", "sel-prod-web"]);
    expect(await select("env==prod,tier=web")).toEqual(["sel-prod-web"]);
    expect(await select("env!=prod")).toEqual(["sel-dev-web", "sel-none", "sel-test"]);
    expect(await select("env in (prod, dev)")).toEqual(["sel-dev-web", "sel-prod-db", "sel-prod-web"]);
    expect(await select("env notin (prod,dev)")).toEqual(["sel-none", "sel-test"]);
    expect(await select("tier")).toEqual(["sel-dev-web", "sel-prod-db", "sel-prod-web"]);
    expect(await select("!tier")).toEqual(["sel-none", "sel-test"]);
    expect(await select("env in (prod),!other,tier notin (db)")).toEqual(["sel-prod-web"]);
    const bad = await api<StatusBody>("GET", `${cm()}?labelSelector=${encodeURIComponent("env in prod")}`);
    expect(bad.status).toBe(400);
    expect(bad.body.kind).toBe("Status");
  });

  it("lists pods with field selectors on name, namespace, node and phase", async () => {
    for (const name of ["fs-a", "fs-b", "fs-c"]) await ok(201, "POST", pods(), pod(name));
    await ok(201, "POST", `${pods("fs-a")}/binding`, { apiVersion: "v1", kind: "Binding", metadata: { name: "fs-a" }, target: { apiVersion: "v1", kind: "Node", name: "node-1" } });
    const b = await ok<Pod>(200, "GET", pods("fs-b"));
    await ok(200, "PUT", `${pods("fs-b")}/status`, { ...b, status: { ...b.status, phase: "Succeeded" } });
    const select = async (path: string, selector: string): Promise<string[]> =>
      names(await ok<List>(200, "GET", `${path}?fieldSelector=${encodeURIComponent(selector)}`)).filter((n) => n.startsWith("fs-"));
    expect(await select(pods(), "metadata.name=fs-b")).toEqual(["fs-b"]);
    expect(await select("/api/v1/pods", `metadata.namespace=${NS}`)).toEqual(["fs-a", "fs-b", "fs-c"]);
    expect(await select("/api/v1/pods", "metadata.namespace=default")).toEqual([]);
    expect(await select(pods(), "spec.nodeName=node-1")).toEqual(["fs-a"]);
    expect(await select(pods(), "spec.nodeName=")).toEqual(["fs-b", "fs-c"]);
    expect(await select(pods(), "status.phase!=Succeeded,status.phase!=Failed")).toEqual(["fs-a", "fs-c"]);
    expect(await select("/api/v1/pods", "spec.nodeName=node-1,status.phase!=Succeeded")).toEqual(["fs-a"]);
    const unknown = await api<StatusBody>("GET", `${pods()}?fieldSelector=spec.flavour%3Dvanilla`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain("spec.flavour");
  });

  it("lists events by their involvedObject fields", async () => {
    const event = (name: string, kind: string, object: string, uid: string): KubeObject => ({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name },
      involvedObject: { apiVersion: "v1", kind, name: object, namespace: NS, uid },
      reason: "Tested",
      message: `about ${object}`,
      type: "Normal",
      source: { component: "integration-test" },
      firstTimestamp: "2024-01-01T00:00:00Z",
      lastTimestamp: "2024-01-01T00:00:00Z",
      count: 1,
    });
    await ok(201, "POST", `/api/v1/namespaces/${NS}/events`, event("ev-pod-1", "Pod", "fs-a", "uid-a"));
    await ok(201, "POST", `/api/v1/namespaces/${NS}/events`, event("ev-pod-2", "Pod", "fs-b", "uid-b"));
    await ok(201, "POST", `/api/v1/namespaces/${NS}/events`, event("ev-dep", "Deployment", "fs-a", "uid-d"));
    const select = async (selector: string): Promise<string[]> =>
      names(await ok<List>(200, "GET", `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent(selector)}`)).filter((n) => n.startsWith("ev-"));
    expect(await select("involvedObject.name=fs-a")).toEqual(["ev-dep", "ev-pod-1"]);
    expect(await select("involvedObject.name=fs-a,involvedObject.kind=Pod")).toEqual(["ev-pod-1"]);
    expect(await select(`involvedObject.uid=uid-b,involvedObject.namespace=${NS}`)).toEqual(["ev-pod-2"]);
    expect(await select("involvedObject.kind!=Pod")).toEqual(["ev-dep"]);
  });

  it("pages through a list with limit and continue at one resourceVersion", async () => {
    for (let i = 0; i < 7; i++) await ok(201, "POST", "/api/v1/namespaces/default/configmaps", configMap(`page-${i}`));
    const path = "/api/v1/namespaces/default/configmaps";
    const first = await ok<List>(200, "GET", `${path}?limit=3`);
    expect(first.items).toHaveLength(3);
    expect(first.metadata.continue).toBeTruthy();
    expect(first.metadata.remainingItemCount).toBe(4);
    // Changes after the first page are not part of the paginated list: every page reads etcd at the same revision.
    await ok(201, "POST", path, configMap("page-9-late"));
    await ok(200, "DELETE", `${path}/page-6`);
    const seen = [...first.items];
    let token = first.metadata.continue;
    let pages = 1;
    while (token) {
      const page = await ok<List>(200, "GET", `${path}?limit=3&continue=${encodeURIComponent(token)}`);
      expect(page.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
      seen.push(...page.items);
      token = page.metadata.continue;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen.map((o) => o.metadata.name)).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4", "page-5", "page-6"]);
    const bogus = await api<StatusBody>("GET", `${path}?limit=3&continue=not-a-token`);
    expect(bogus.status).toBe(400);
  });

  it("writes a long list in chunks, byte for byte the JSON of the whole list, from etcd and from the cache", async () => {
    const path = "/api/v1/namespaces/default/configmaps";
    const names = Array.from({ length: 130 }, (_, i) => `chunked-${String(i).padStart(3, "0")}`);
    await Promise.all(names.map((name) => ok(201, "POST", path, configMap(name))));
    for (const query of ["", "?resourceVersion=0"]) {
      const reply = await api<List>("GET", `${path}${query}`);
      expect(reply.status).toBe(200);
      expect(reply.headers["transfer-encoding"]).toBe("chunked");
      expect(reply.headers["content-type"]).toBe("application/json");
      expect(reply.text).toBe(JSON.stringify(reply.body));
      expect(reply.body.kind).toBe("ConfigMapList");
      expect(reply.body.apiVersion).toBe("v1");
      expect(reply.body.metadata.resourceVersion).toBeTruthy();
      expect(reply.body.items.map((o) => o.metadata.name).filter((n) => n?.startsWith("chunked-"))).toEqual(names);
    }
  });

  it("serves resourceVersion=0 lists from the watch cache without reading etcd", async () => {
    const created = await ok(201, "POST", cm(), configMap("cached"));
    const rv = Number(created.metadata.resourceVersion);
    // The cache may lag the write by a moment; a resourceVersion=0 list is allowed to be that stale.
    await waitFor("the cache to hold the new config map", async () => {
      const list = await ok<List>(200, "GET", `${cm()}?resourceVersion=0`);
      return list.items.some((o) => o.metadata.name === "cached") || undefined;
    });
    const before = await metricSum(base(), "etcd_request_duration_seconds_count", { operation: "list", type: "configmaps" });
    for (let i = 0; i < 5; i++) {
      const list = await ok<List>(200, "GET", `${cm()}?resourceVersion=0`);
      expect(Number(list.metadata.resourceVersion)).toBeGreaterThanOrEqual(rv);
      expect(list.items.every((o) => Number(o.metadata.resourceVersion) > 0)).toBe(true);
    }
    const after = await metricSum(base(), "etcd_request_duration_seconds_count", { operation: "list", type: "configmaps" });
    expect(after).toBe(before);
    // A list with limit and no resourceVersion is a paginated etcd read.
    await ok(200, "GET", `${cm()}?limit=2`);
    expect(await metricSum(base(), "etcd_request_duration_seconds_count", { operation: "list", type: "configmaps" })).toBeGreaterThan(after);
  });
});

describe("update and patch", () => {
  it("applies 64 concurrent merge patches of one object, none refused with a conflict (retried until each wins, as Kubernetes' GuaranteedUpdate)", async () => {
    await ok(201, "POST", cm(), configMap("contended"));
    const replies = await Promise.all(Array.from({ length: 64 }, (_, i) => api("PATCH", cm("contended"), { data: { [`k${i}`]: `${i}` } }, { contentType: "application/merge-patch+json" })));
    expect(replies.map((r) => r.status).filter((code) => code !== 200)).toEqual([]);
    const final = await ok<KubeObject & { data: Record<string, string> }>(200, "GET", cm("contended"));
    expect(Object.keys(final.data)).toHaveLength(65);
  });

  it("updates with PUT and refuses a stale resourceVersion with 409 Conflict", async () => {
    const created = await ok(201, "POST", cm(), configMap("updated"));
    const updated = await ok(200, "PUT", cm("updated"), { ...created, data: { a: "2" } });
    expect(updated.data).toEqual({ a: "2" });
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
    const stale = await api<StatusBody>("PUT", cm("updated"), { ...created, data: { a: "3" } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "Conflict",
      code: 409,
      message: 'Operation cannot be fulfilled on configmaps "updated": the object has been modified; please apply your changes to the latest version and try again',
    });
    expect((await ok(200, "GET", cm("updated"))).data).toEqual({ a: "2" });
    const dep = await ok<Deployment>(201, "POST", deploys(), deployment("conflicted"));
    await ok(200, "PUT", deploys("conflicted"), { ...dep, spec: { ...dep.spec, replicas: 3 } });
    const depStale = await api<StatusBody>("PUT", deploys("conflicted"), { ...dep, spec: { ...dep.spec, replicas: 4 } });
    expect(depStale.body.message).toBe('Operation cannot be fulfilled on deployments.apps "conflicted": the object has been modified; please apply your changes to the latest version and try again');
  });

  it("applies JSON patches and merge patches", async () => {
    await ok(201, "POST", cm(), configMap("patched", { keep: "yes", drop: "yes" }, { a: "1", b: "2" }));
    const merged = await ok(200, "PATCH", cm("patched"), { metadata: { labels: { drop: null, added: "1" } }, data: { b: null, c: "3" } }, { contentType: "application/merge-patch+json" });
    expect(merged.metadata.labels).toEqual({ keep: "yes", added: "1" });
    expect(merged.data).toEqual({ a: "1", c: "3" });
    const jsonPatched = await ok(200, "PATCH", cm("patched"), [
      { op: "test", path: "/data/a", value: "1" },
      { op: "replace", path: "/data/a", value: "10" },
      { op: "add", path: "/data/d", value: "4" },
      { op: "remove", path: "/metadata/labels/keep" },
    ], { contentType: "application/json-patch+json" });
    expect(jsonPatched.data).toEqual({ a: "10", c: "3", d: "4" });
    expect(jsonPatched.metadata.labels).toEqual({ added: "1" });
    const failedTest = await api<StatusBody>("PATCH", cm("patched"), [{ op: "test", path: "/data/a", value: "nope" }], { contentType: "application/json-patch+json" });
    expect(failedTest.status).toBeGreaterThanOrEqual(400);
    expect(failedTest.status).toBeLessThan(500);
    const missingPath = await api<StatusBody>("PATCH", cm("patched"), [{ op: "replace", path: "/data/zzz", value: "x" }], { contentType: "application/json-patch+json" });
    expect(missingPath.status).toBeGreaterThanOrEqual(400);
    expect(missingPath.status).toBeLessThan(500);
    expect((await ok(200, "GET", cm("patched"))).data).toEqual({ a: "10", c: "3", d: "4" });
  });

  it("merges a strategic merge patch into a Deployment's containers by name, keeping the others", async () => {
    await ok(201, "POST", deploys(), deployment("smp", [{ name: "web", image: "nginx:1.24" }, { name: "sidecar", image: "envoy:1" }]));
    const patched = await ok<Deployment>(200, "PATCH", deploys("smp"), {
      spec: { template: { spec: { containers: [{ name: "web", image: "nginx:1.25", env: [{ name: "A", value: "1" }] }] } } },
    }, { contentType: "application/strategic-merge-patch+json" });
    expect(patched.spec.template.spec.containers.map((c) => [c.name, c.image])).toEqual([["web", "nginx:1.25"], ["sidecar", "envoy:1"]]);
    expect(patched.spec.template.spec.containers[0]?.env).toEqual([{ name: "A", value: "1" }]);
    const deleted = await ok<Deployment>(200, "PATCH", deploys("smp"), {
      spec: { template: { spec: { containers: [{ name: "sidecar", $patch: "delete" }] } } },
    }, { contentType: "application/strategic-merge-patch+json" });
    expect(deleted.spec.template.spec.containers.map((c) => c.name)).toEqual(["web"]);
    expect(JSON.stringify(deleted)).not.toContain("$patch");
  });

  it("creates a missing object with an apply patch (201) and updates it with the next one (200)", async () => {
    const body = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "applied", namespace: NS }, data: { x: "1" } };
    const first = await api("PATCH", `${cm("applied")}?fieldManager=test&force=true`, body, { contentType: "application/apply-patch+yaml" });
    expect(first.status).toBe(201);
    expect(first.body.data).toEqual({ x: "1" });
    const second = await api("PATCH", `${cm("applied")}?fieldManager=test&force=true`, { ...body, data: { x: "2", y: "3" } }, { contentType: "application/apply-patch+yaml" });
    expect(second.status).toBe(200);
    expect(second.body.data).toEqual({ x: "2", y: "3" });
    expect(second.body.metadata.uid).toBe(first.body.metadata.uid);
    const yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied-yaml\ndata:\n  k: v\n";
    const fromYaml = await api("PATCH", `${cm("applied-yaml")}?fieldManager=test`, yaml, { contentType: "application/apply-patch+yaml" });
    expect(fromYaml.status).toBe(201);
    expect(fromYaml.body.data).toEqual({ k: "v" });
    // Other patch types do not create.
    const merge = await api<StatusBody>("PATCH", cm("never-created"), { data: { a: "1" } }, { contentType: "application/merge-patch+json" });
    expect(merge.status).toBe(404);
  });
});

describe("delete", () => {
  it("deletes a config map at once and answers with a Success Status", async () => {
    const created = await ok(201, "POST", cm(), configMap("doomed"));
    const reply = await api<StatusBody & { details: { uid?: string } }>("DELETE", cm("doomed"));
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Success", details: { name: "doomed", kind: "configmaps", uid: created.metadata.uid } });
    expect(await keysUnder(`/registry/configmaps/${NS}/doomed`)).toEqual([]);
    expect((await api("DELETE", cm("doomed"))).status).toBe(404);
  });

  it("deletes a pod that has no node at once, and marks a bound pod until a zero grace period removes it", async () => {
    await ok(201, "POST", pods(), pod("unbound"));
    const unbound = await api<Pod>("DELETE", pods("unbound"));
    expect(unbound.status).toBe(200);
    expect(unbound.body.kind).toBe("Pod");
    expect((await api("GET", pods("unbound"))).status).toBe(404);

    await ok(201, "POST", pods(), pod("bound"));
    await ok(201, "POST", `${pods("bound")}/binding`, { apiVersion: "v1", kind: "Binding", metadata: { name: "bound" }, target: { kind: "Node", name: "node-1" } });
    const graceful = await api<Pod>("DELETE", pods("bound"));
    // Kubernetes answers 200 whether the object is gone or only marked for deletion.
    expect(graceful.status).toBe(200);
    expect(graceful.body.metadata.deletionTimestamp).toBeDefined();
    expect(graceful.body.metadata.deletionGracePeriodSeconds).toBe(30);
    const still = await ok<Pod>(200, "GET", pods("bound"));
    expect(still.metadata.deletionTimestamp).toBeDefined();
    expect(await keysUnder(`/registry/pods/${NS}/bound`)).toHaveLength(1);
    const forced = await api<Pod>("DELETE", `${pods("bound")}?gracePeriodSeconds=0`);
    expect(forced.status).toBe(200);
    expect((await api("GET", pods("bound"))).status).toBe(404);
    expect(await keysUnder(`/registry/pods/${NS}/bound`)).toEqual([]);
  });

  it("keeps an object with finalizers until a patch removes the last one", async () => {
    await ok(201, "POST", cm(), { ...configMap("finalized"), metadata: { name: "finalized", finalizers: ["example.com/hold"] } });
    const marked = await api("DELETE", cm("finalized"));
    expect(marked.status).toBe(200);
    expect(marked.body.metadata.deletionTimestamp).toBeDefined();
    const held = await ok(200, "GET", cm("finalized"));
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect(held.metadata.finalizers).toEqual(["example.com/hold"]);
    // A second delete changes nothing.
    expect((await ok(200, "GET", cm("finalized"))).metadata.resourceVersion).toBe(held.metadata.resourceVersion);
    await ok(200, "PATCH", cm("finalized"), { metadata: { finalizers: null } }, { contentType: "application/merge-patch+json" });
    expect((await api("GET", cm("finalized"))).status).toBe(404);
    expect(await keysUnder(`/registry/configmaps/${NS}/finalized`)).toEqual([]);
  });

  it("adds the foregroundDeletion finalizer for a Foreground delete", async () => {
    await ok(201, "POST", deploys(), deployment("foreground"));
    const reply = await api<Deployment>("DELETE", deploys("foreground"), { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Foreground" });
    expect(reply.status).toBe(200);
    const held = await ok<Deployment>(200, "GET", deploys("foreground"));
    expect(held.metadata.finalizers).toContain("foregroundDeletion");
    expect(held.metadata.deletionTimestamp).toBeDefined();
    await ok(200, "PATCH", deploys("foreground"), [{ op: "remove", path: "/metadata/finalizers" }], { contentType: "application/json-patch+json" });
    expect((await api("GET", deploys("foreground"))).status).toBe(404);
    // Only the legacy orphanDependents=false makes a delete that leaves the object in place answer 202 Accepted.
    await ok(201, "POST", cm(), { ...configMap("legacy-cascade"), metadata: { name: "legacy-cascade", finalizers: ["example.com/hold"] } });
    expect((await api("DELETE", cm("legacy-cascade"), { orphanDependents: false })).status).toBe(202);
    await ok(200, "PATCH", cm("legacy-cascade"), { metadata: { finalizers: null } }, { contentType: "application/merge-patch+json" });
    const bad = await api<StatusBody>("DELETE", cm("fetched"), { propagationPolicy: "Sideways" });
    expect(bad.status).toBe(422);
    expect((await api("GET", cm("fetched"))).status).toBe(200);
  });

  it("deletes a collection by label selector and leaves the rest", async () => {
    for (let i = 0; i < 4; i++) await ok(201, "POST", cm(), configMap(`coll-${i}`, { batch: i < 3 ? "gone" : "kept" }));
    const reply = await api<List>("DELETE", `${cm()}?labelSelector=batch%3Dgone`);
    expect(reply.status).toBe(200);
    expect(names(reply.body)).toEqual(["coll-0", "coll-1", "coll-2"]);
    const left = await ok<List>(200, "GET", `${cm()}?labelSelector=batch`);
    expect(names(left)).toEqual(["coll-3"]);
    expect((await keysUnder(`/registry/configmaps/${NS}/coll-`)).sort()).toEqual([`/registry/configmaps/${NS}/coll-3`]);
  });
});

describe("subresources", () => {
  it("writes status only through /status, ignores spec changes there, and bumps generation on spec changes only", async () => {
    const created = await ok<Deployment>(201, "POST", deploys(), { ...deployment("statusy"), status: { replicas: 99 } });
    expect(created.metadata.generation).toBe(1);
    expect(created.status?.replicas).toBeUndefined();
    // Status in a main-resource update is ignored; a metadata-only change keeps the generation.
    const labelled = await ok<Deployment>(200, "PUT", deploys("statusy"), { ...created, metadata: { ...created.metadata, labels: { l: "1" } }, status: { replicas: 5 } });
    expect(labelled.metadata.generation).toBe(1);
    expect(labelled.status?.replicas).toBeUndefined();
    // Spec changes through /status are ignored; status is written.
    const viaStatus = await ok<Deployment>(200, "PUT", `${deploys("statusy")}/status`, { ...labelled, spec: { ...labelled.spec, replicas: 7 }, status: { replicas: 2, observedGeneration: 1 } });
    expect(viaStatus.spec.replicas).toBe(2);
    expect(viaStatus.status).toMatchObject({ replicas: 2, observedGeneration: 1 });
    expect(viaStatus.metadata.generation).toBe(1);
    const patchedStatus = await ok<Deployment>(200, "PATCH", `${deploys("statusy")}/status`, { status: { replicas: 3 }, spec: { replicas: 9 } }, { contentType: "application/merge-patch+json" });
    expect(patchedStatus.status?.replicas).toBe(3);
    expect(patchedStatus.spec.replicas).toBe(2);
    expect((await ok<Deployment>(200, "GET", `${deploys("statusy")}/status`)).status?.replicas).toBe(3);
    // A spec change bumps the generation and keeps the status.
    const scaled = await ok<Deployment>(200, "PATCH", deploys("statusy"), { spec: { replicas: 4 } }, { contentType: "application/merge-patch+json" });
    expect(scaled.metadata.generation).toBe(2);
    expect(scaled.status?.replicas).toBe(3);
    const annotated = await ok<Deployment>(200, "PATCH", deploys("statusy"), { metadata: { annotations: { note: "x" } } }, { contentType: "application/merge-patch+json" });
    expect(annotated.metadata.generation).toBe(2);
  });

  it("binds a pod once and refuses a second binding with 409", async () => {
    await ok(201, "POST", pods(), pod("bindme"));
    const binding = { apiVersion: "v1", kind: "Binding", metadata: { name: "bindme" }, target: { apiVersion: "v1", kind: "Node", name: "node-a" } };
    const first = await api<StatusBody>("POST", `${pods("bindme")}/binding`, binding);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ kind: "Status", status: "Success" });
    const bound = await ok<Pod>(200, "GET", pods("bindme"));
    expect(bound.spec.nodeName).toBe("node-a");
    expect(bound.status?.conditions).toContainEqual(expect.objectContaining({ type: "PodScheduled", status: "True" }));
    const second = await api<StatusBody>("POST", `${pods("bindme")}/binding`, { ...binding, target: { kind: "Node", name: "node-b" } });
    expect(second.status).toBe(409);
    // Kubernetes names the subresource in this conflict.
    expect(second.body).toMatchObject({ kind: "Status", reason: "Conflict", code: 409, message: 'Operation cannot be fulfilled on pods/binding "bindme": pod bindme is already assigned to node "node-a"', details: { name: "bindme", kind: "pods/binding" } });
    expect((await ok<Pod>(200, "GET", pods("bindme"))).spec.nodeName).toBe("node-a");
    expect((await api("POST", `${pods("nobody")}/binding`, { ...binding, metadata: { name: "nobody" } })).status).toBe(404);
  });

  it("answers writes with the stored object's JSON, member order as when serialized whole, and its watch events are what a GET reads, byte for byte", async () => {
    // Twins written alike: one answers in JSON (the stored bytes with resourceVersion spliced in), the other with a
    // Table whose row holds the whole object (always serialized from it), so the members' order of both must agree.
    const twins = ["twin-json", "twin-table"] as const;
    const accept = { "twin-json": "application/json", "twin-table": "application/json;as=Table;v=v1;g=meta.k8s.io" };
    const query = { "twin-json": "", "twin-table": "?includeObject=Object" };
    const created = await ok<Pod>(201, "POST", pods(), pod("twin-json", { app: "twin" }));
    await ok<Pod>(201, "POST", pods(), pod("twin-table", { app: "twin" }));
    const watch = await openWatch(base(), `${pods()}?watch=true&fieldSelector=metadata.name%3Dtwin-json&resourceVersion=${created.metadata.resourceVersion ?? ""}`);
    /** An object's members, recursively, in order, with the type of each scalar: what the twins' replies share. */
    const shape = (value: unknown): unknown =>
      Array.isArray(value) ? value.map(shape) : typeof value === "object" && value !== null ? Object.entries(value).map(([k, v]) => [k, shape(v)]) : typeof value;
    /** The shape, with managedFields entries keyed by manager: their order is by time (seconds), then by manager,
     * so twins written a moment apart may list them in different orders, as the real apiserver would. */
    const twinShape = (value: unknown): unknown => {
      const object = value as KubeObject;
      const entries = object.metadata.managedFields ?? [];
      const byManager = Object.fromEntries(entries.map((e) => [`${e.manager ?? ""}/${e.operation ?? ""}/${e.subresource ?? ""}`, shape(e)]));
      return { object: shape({ ...object, metadata: { ...object.metadata, managedFields: entries.length } }), managedFields: byManager };
    };
    // A status write that adds annotations puts them after resourceVersion in the stored object's metadata.
    const running = (p: Pod): KubeObject => ({
      ...p,
      metadata: { ...p.metadata, labels: { ...p.metadata.labels, ready: "true" }, annotations: { probe: "ok" } },
      status: {
        phase: "Running",
        conditions: [{ type: "Ready", status: "True" }],
        podIP: "10.244.0.9",
        containerStatuses: [{ name: "app", ready: true, restartCount: 0, image: "busybox", imageID: "", state: { running: { startedAt: "2026-01-01T00:00:00Z" } } }],
      },
    });
    const writes: { what: string; method: string; path: (name: string) => string; body: (current: Pod) => unknown; options?: RequestOptions }[] = [
      { what: "a status update", method: "PUT", path: (n) => `${pods(n)}/status`, body: running },
      { what: "a binding", method: "POST", path: (n) => `${pods(n)}/binding`, body: (p) => ({ apiVersion: "v1", kind: "Binding", metadata: { name: p.metadata.name }, target: { kind: "Node", name: "node-a" } }) },
      { what: "a status merge patch", method: "PATCH", path: (n) => `${pods(n)}/status`, body: () => ({ status: { conditions: [{ type: "Ready", status: "False" }] } }), options: { contentType: "application/merge-patch+json" } },
      // A Go client sends metadata in ObjectMeta's field order: resourceVersion before creationTimestamp and labels.
      { what: "an update", method: "PUT", path: pods, body: (p) => ({ ...p, metadata: { name: p.metadata.name, namespace: p.metadata.namespace, uid: p.metadata.uid, resourceVersion: p.metadata.resourceVersion, ...p.metadata, annotations: { a: "1" } } }) },
      { what: "a strategic merge patch", method: "PATCH", path: pods, body: () => ({ metadata: { labels: { app: null, tier: "web" } } }), options: { contentType: "application/strategic-merge-patch+json" } },
    ];
    try {
      for (const write of writes) {
        const replies: Record<string, Reply> = {};
        for (const name of twins) {
          const current = await ok<Pod>(200, "GET", pods(name));
          const table = write.method === "POST" ? "" : query[name];
          replies[name] = await api(write.method, write.path(name) + table, write.body(current), { ...write.options, ...(table === "" ? {} : { accept: accept[name] }) });
          expect(replies[name]?.status, `${write.what} of ${name}: ${replies[name]?.text ?? ""}`).toBeLessThan(300);
        }
        const stored = await api<Pod>("GET", pods("twin-json"));
        if (write.method !== "POST") {
          const text = replies["twin-json"]?.text ?? "";
          // One member each (a member spliced in twice would be lost in a round trip), the stored object, in the
          // order the Table twin's row has its members.
          expect(JSON.stringify(JSON.parse(text)), write.what).toBe(text);
          expect(JSON.parse(text), write.what).toEqual(stored.body);
          const row = (replies["twin-table"]?.body as Table).rows[0]?.object;
          expect(twinShape(JSON.parse(text)), write.what).toEqual(twinShape(row));
        }
        // The watch event of the write is the object a GET reads, member order included.
        const revision = stored.body.metadata.resourceVersion;
        const events = await watch.waitFor(`the event of ${write.what}`, (all) => all.some((e) => e.object.metadata.resourceVersion === revision));
        expect(JSON.stringify(events.find((e) => e.object.metadata.resourceVersion === revision)?.object), write.what).toBe(stored.text);
      }
    } finally {
      watch.close();
    }
  });

  const workloads: { resource: string; path: (name?: string) => string; body: (name: string) => KubeObject; selector: string }[] = [
    { resource: "deployments", path: deploys, body: (n) => deployment(n), selector: "app=scale-deployments" },
    {
      resource: "replicasets",
      path: (n = "") => `/apis/apps/v1/namespaces/${NS}/replicasets${n ? `/${n}` : ""}`,
      body: (n) => ({ ...deployment(n), kind: "ReplicaSet" }),
      selector: "app=scale-replicasets",
    },
    {
      resource: "statefulsets",
      path: (n = "") => `/apis/apps/v1/namespaces/${NS}/statefulsets${n ? `/${n}` : ""}`,
      body: (n) => ({ ...deployment(n), kind: "StatefulSet", spec: { ...deployment(n).spec, serviceName: n } }),
      selector: "app=scale-statefulsets",
    },
    {
      resource: "replicationcontrollers",
      path: (n = "") => `/api/v1/namespaces/${NS}/replicationcontrollers${n ? `/${n}` : ""}`,
      body: (n) => ({
        apiVersion: "v1",
        kind: "ReplicationController",
        metadata: { name: n },
        spec: { replicas: 2, selector: { app: n }, template: { metadata: { labels: { app: n } }, spec: { containers: [{ name: "web", image: "nginx" }] } } },
      }),
      selector: "app=scale-replicationcontrollers",
    },
  ];

  it.each(workloads)("gets, puts and patches the autoscaling/v1 Scale of $resource", async ({ resource, path, body, selector }) => {
    const name = `scale-${resource}`;
    await ok(201, "POST", path(), body(name));
    const scale = await ok<Scale>(200, "GET", `${path(name)}/scale`);
    expect(scale).toMatchObject({ apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name, namespace: NS }, spec: { replicas: 2 }, status: { replicas: 0, selector } });
    const put = await ok<Scale>(200, "PUT", `${path(name)}/scale`, { ...scale, spec: { replicas: 5 } });
    expect(put.spec.replicas).toBe(5);
    const patched = await ok<Scale>(200, "PATCH", `${path(name)}/scale`, { spec: { replicas: 1 } }, { contentType: "application/merge-patch+json" });
    expect(patched.spec.replicas).toBe(1);
    expect((await ok<Deployment>(200, "GET", path(name))).spec.replicas).toBe(1);
    const stale = await api<StatusBody>("PUT", `${path(name)}/scale`, { ...scale, spec: { replicas: 3 } });
    expect(stale.status).toBe(409);
    const negative = await api<StatusBody>("PATCH", `${path(name)}/scale`, { spec: { replicas: -1 } }, { contentType: "application/merge-patch+json" });
    expect(negative.status).toBe(422);
    expect(negative.body.details?.causes?.[0]?.field).toBe("spec.replicas");
  });

  it("answers pods/log of an unscheduled pod with 204 No Content, and exec without an upgrade with 400, as Kubernetes does", async () => {
    await ok(201, "POST", pods(), pod("loggy"));
    const log = await call(base(), "GET", `${pods("loggy")}/log`, undefined, { accept: "*/*" });
    expect(log.status).toBe(204);
    expect(log.text).toBe("");
    const wrong = await api<StatusBody>("GET", `${pods("loggy")}/log?container=nope`);
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toBe("container nope is not valid for pod loggy");
    const exec = await api<StatusBody>("POST", `${pods("loggy")}/exec?command=ls&stdout=true`);
    expect(exec.status).toBe(400);
    expect(exec.body).toMatchObject({ kind: "Status", reason: "BadRequest", message: "Upgrade request required" });
    expect((await api<StatusBody>("GET", `${pods("absent")}/log`)).status).toBe(404);
  });

  it("shows events.k8s.io/v1 events as core/v1 events and the other way round", async () => {
    const modern = await ok(201, "POST", `/apis/events.k8s.io/v1/namespaces/${NS}/events`, {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "modern" },
      eventTime: "2024-01-01T00:00:00.000000Z",
      reportingController: "example.com/ctrl",
      reportingInstance: "ctrl-1",
      action: "Testing",
      reason: "Modern",
      note: "written as events.k8s.io/v1",
      type: "Normal",
      regarding: { apiVersion: "v1", kind: "Pod", name: "loggy", namespace: NS },
    });
    expect(modern.apiVersion).toBe("events.k8s.io/v1");
    const asCore = await ok(200, "GET", `/api/v1/namespaces/${NS}/events/modern`);
    expect(asCore).toMatchObject({ apiVersion: "v1", kind: "Event", reason: "Modern", message: "written as events.k8s.io/v1", involvedObject: { kind: "Pod", name: "loggy" } });

    await ok(201, "POST", `/api/v1/namespaces/${NS}/events`, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "classic" },
      involvedObject: { apiVersion: "v1", kind: "Pod", name: "loggy", namespace: NS },
      reason: "Classic",
      message: "written as core/v1",
      type: "Warning",
      source: { component: "kubelet", host: "node-1" },
      count: 2,
      firstTimestamp: "2024-01-01T00:00:00Z",
      lastTimestamp: "2024-01-01T00:01:00Z",
    });
    const asModern = await ok(200, "GET", `/apis/events.k8s.io/v1/namespaces/${NS}/events/classic`);
    expect(asModern).toMatchObject({ apiVersion: "events.k8s.io/v1", kind: "Event", reason: "Classic", note: "written as core/v1", regarding: { kind: "Pod", name: "loggy" }, type: "Warning" });
    const listed = await ok<List>(200, "GET", `/apis/events.k8s.io/v1/namespaces/${NS}/events`);
    expect(listed.kind).toBe("EventList");
    expect(listed.items.map((e) => e.metadata.name)).toEqual(expect.arrayContaining(["modern", "classic"]));
    expect(listed.items.every((e) => e.apiVersion === "events.k8s.io/v1")).toBe(true);
    // events.k8s.io selects by its own field names (the Events API conformance test lists by reportingController).
    const byController = await ok<List>(200, "GET", `/apis/events.k8s.io/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent("reportingController=example.com/ctrl,regarding.name=loggy")}`);
    expect(byController.items.map((e) => e.metadata.name)).toEqual(["modern"]);
    const refused = await call<StatusBody>(base(), "GET", `/apis/events.k8s.io/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name%3Dloggy`);
    expect([refused.status, refused.body.message]).toEqual([400, "field label not supported: involvedObject.name"]);
  });
});

describe("tables", () => {
  const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io";

  it("answers lists and single objects as Tables with column definitions and PartialObjectMetadata rows", async () => {
    await ok(201, "POST", pods(), pod("tabled", { app: "tabled" }));
    const table = await ok<Table>(200, "GET", `${pods()}?labelSelector=app%3Dtabled`, undefined, { accept: `${TABLE}, application/json` });
    expect(table).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
    expect(Number(table.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]);
    expect(table.columnDefinitions[0]).toMatchObject({ type: "string", format: "name", priority: 0 });
    expect(table.columnDefinitions.find((c) => c.name === "IP")?.priority).toBe(1);
    expect(table.rows).toHaveLength(1);
    // RESTARTS is a string cell upstream too ("0", or "2 (5m ago)").
    expect(table.rows[0]?.cells.slice(0, 4)).toEqual(["tabled", "0/1", "Pending", "0"]);
    expect(table.rows[0]?.object).toMatchObject({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: { name: "tabled", namespace: NS, labels: { app: "tabled" } } });
    expect(table.rows[0]?.object).not.toHaveProperty("spec");

    const single = await ok<Table>(200, "GET", pods("tabled"), undefined, { accept: TABLE });
    expect(single.kind).toBe("Table");
    expect(single.rows).toHaveLength(1);

    const full = await ok<Table>(200, "GET", `${pods()}?labelSelector=app%3Dtabled&includeObject=Object`, undefined, { accept: TABLE });
    expect(full.rows[0]?.object).toMatchObject({ kind: "Pod", apiVersion: "v1", spec: { containers: [{ name: "app" }] } });
    const none = await ok<Table>(200, "GET", `${pods()}?labelSelector=app%3Dtabled&includeObject=None`, undefined, { accept: TABLE });
    expect(none.rows[0]?.object).toBeNull();

    const cms = await ok<Table>(200, "GET", cm(), undefined, { accept: TABLE });
    expect(cms.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Data", "Age"]);
  });

  it("answers creates, updates, patches, deletes and deletecollections as Tables when asked, as Kubernetes transforms every verb's reply", async () => {
    const created = await ok<Table>(201, "POST", cm(), configMap("tw-1", { tw: "yes" }), { accept: TABLE });
    expect(created).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
    expect(created.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Data", "Age"]);
    expect(created.rows.map((r) => r.cells.slice(0, 2))).toEqual([["tw-1", 1]]);
    // One object's Table carries that object's resourceVersion; its row, the PartialObjectMetadata of the Table's version.
    const stored = await ok(200, "GET", cm("tw-1"));
    expect(created.metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
    expect(created.rows[0]?.object).toMatchObject({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: { name: "tw-1" } });

    const updated = await ok<Table>(200, "PUT", `${cm("tw-1")}?includeObject=Object`, configMap("tw-1", { tw: "yes" }, { a: "1", b: "2" }), { accept: "application/json;as=Table;v=v1beta1;g=meta.k8s.io" });
    expect(updated.apiVersion).toBe("meta.k8s.io/v1beta1");
    expect(updated.rows[0]?.cells[1]).toBe(2);
    expect(updated.rows[0]?.object).toMatchObject({ kind: "ConfigMap", apiVersion: "v1", data: { a: "1", b: "2" } });
    const patched = await ok<Table>(200, "PATCH", `${cm("tw-1")}?includeObject=None`, { data: { c: "3" } }, { accept: TABLE, contentType: "application/merge-patch+json" });
    expect(patched.rows.map((r) => [r.cells[1], r.object])).toEqual([[3, null]]);

    // The reply's options are checked after the write, as upstream: a bad includeObject is a 400, the update stored.
    const bad = await api<StatusBody>("PUT", `${cm("tw-1")}?includeObject=Bogus`, configMap("tw-1", { tw: "yes" }, { z: "1" }), { accept: TABLE });
    expect([bad.status, bad.body.message]).toEqual([400, `Unable to convert to Table as requested: includeObject: Invalid value: "Bogus": must be 'Metadata', 'Object', 'None', or empty`]);
    expect((await ok(200, "GET", cm("tw-1"))).data).toEqual({ z: "1" });

    await ok(201, "POST", cm(), configMap("tw-2", { tw: "yes" }), { accept: TABLE });
    const deletedAll = await ok<Table>(200, "DELETE", `${cm()}?labelSelector=tw%3Dyes`, undefined, { accept: TABLE });
    expect(deletedAll.rows.map((r) => r.cells[0]).sort()).toEqual(["tw-1", "tw-2"]);
    expect(Number(deletedAll.metadata.resourceVersion)).toBeGreaterThan(0);

    // A delete that leaves the object (a finalizer) answers it as a Table; one that removes it answers a Status.
    await ok(201, "POST", cm(), { ...configMap("tw-3"), metadata: { name: "tw-3", finalizers: ["example.com/keep"] } });
    const staying = await ok<Table>(200, "DELETE", cm("tw-3"), undefined, { accept: TABLE });
    expect(staying.rows.map((r) => r.cells[0])).toEqual(["tw-3"]);
    await ok(200, "PATCH", cm("tw-3"), { metadata: { finalizers: null } }, { contentType: "application/merge-patch+json" });
    await ok(201, "POST", cm(), configMap("tw-4"));
    expect(await ok(200, "DELETE", cm("tw-4"), undefined, { accept: TABLE })).toMatchObject({ kind: "Status", status: "Success" });
  });

  it("prints a Scale as printScale does, and refuses Table-only requests to subresources without Tables before they act", async () => {
    await ok(201, "POST", deploys(), deployment("tw-scale"));
    const scaled = await ok<Table>(200, "PATCH", `${deploys("tw-scale")}/scale`, { spec: { replicas: 4 } }, { accept: TABLE, contentType: "application/merge-patch+json" });
    expect(scaled.columnDefinitions.map((c) => [c.name, c.type, c.format])).toEqual([["Name", "string", ""], ["Desired", "integer", ""], ["Available", "integer", ""], ["Age", "string", ""]]);
    expect(scaled.rows[0]?.cells.slice(0, 3)).toEqual(["tw-scale", 4, 0]);

    await ok(201, "POST", pods(), pod("tw-unbound"));
    const binding = { apiVersion: "v1", kind: "Binding", metadata: { name: "tw-unbound" }, target: { kind: "Node", name: "node-1" } };
    const refused = await api<StatusBody>("POST", `${pods("tw-unbound")}/binding`, binding, { accept: TABLE });
    expect([refused.status, refused.body.reason, refused.body.message]).toEqual([406, "NotAcceptable", "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"]);
    expect((await ok<Pod>(200, "GET", pods("tw-unbound"))).spec.nodeName).toBeUndefined();
    expect((await api("GET", `${pods("tw-unbound")}/log`, undefined, { accept: TABLE })).status).toBe(406);
    // kubectl get's Accept ends with plain JSON: the binding is answered, as a Status.
    expect(await ok(201, "POST", `${pods("tw-unbound")}/binding`, binding, { accept: `${TABLE},application/json` })).toMatchObject({ kind: "Status", status: "Success" });
  });

  it("answers PartialObjectMetadata for objects and PartialObjectMetadataList for lists, and 406 for the other way round once the request ran", async () => {
    const metadata = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io";
    const metadataList = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io";
    expect(await ok(201, "POST", cm(), configMap("pm-1"), { accept: metadata })).toMatchObject({ kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: { name: "pm-1" } });
    const refused = await api<StatusBody>("POST", cm(), configMap("pm-2"), { accept: metadataList });
    expect([refused.status, refused.body.message]).toEqual([406, "you requested PartialObjectMetadataList, but the requested object is not a list (*core.ConfigMap)"]);
    await ok(200, "GET", cm("pm-2"));
    const listRefused = await api<StatusBody>("GET", cm(), undefined, { accept: metadata });
    expect([listRefused.status, listRefused.body.message]).toEqual([406, "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)"]);
    expect(await ok(200, "GET", `${cm()}?labelSelector=none%3Dhere`, undefined, { accept: metadataList })).toMatchObject({ kind: "PartialObjectMetadataList", items: null });
  });

  it("refuses a Table of a review kind with 406 NotAcceptable, as the real apiserver (no Table conversion for it)", async () => {
    const review = { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: { nonResourceAttributes: { path: "/", verb: "get" } } };
    const refused = await api<StatusBody>("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, { accept: TABLE });
    expect(refused.status).toBe(406);
    expect(refused.body).toMatchObject({ kind: "Status", code: 406, reason: "NotAcceptable", message: "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf" });
    // A client that also offers plain JSON gets the review itself.
    const answered = await ok(201, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review, { accept: `${TABLE}, application/json` });
    expect(answered.kind).toBe("SelfSubjectAccessReview");
  });
});

describe("bad input", () => {
  interface BadCase {
    title: string;
    method: string;
    path: string;
    body: string | Buffer;
    contentType: string;
    code: number;
    reason: string;
    /** etcd keys that must not exist afterwards. */
    key: string;
  }
  const cases: BadCase[] = [
    { title: "malformed JSON", method: "POST", path: cm(), body: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"broken"', contentType: "application/json", code: 400, reason: "BadRequest", key: `/registry/configmaps/${NS}/broken` },
    { title: "malformed YAML", method: "POST", path: cm(), body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken-yaml\n data: [unclosed\n", contentType: "application/yaml", code: 400, reason: "BadRequest", key: `/registry/configmaps/${NS}/broken-yaml` },
    { title: "a kind that does not match the URL", method: "POST", path: cm(), body: JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "wrong-kind" } }), contentType: "application/json", code: 400, reason: "BadRequest", key: `/registry/configmaps/${NS}/wrong-kind` },
    { title: "an apiVersion that does not match the URL", method: "POST", path: deploys(), body: JSON.stringify({ ...deployment("wrong-version"), apiVersion: "apps/v1beta1" }), contentType: "application/json", code: 400, reason: "BadRequest", key: `/registry/deployments/${NS}/wrong-version` },
    { title: "a namespace in the body that differs from the URL", method: "POST", path: cm(), body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "other-ns", namespace: "default" } }), contentType: "application/json", code: 400, reason: "BadRequest", key: "/registry/configmaps/default/other-ns" },
    { title: "an unknown field with fieldValidation=Strict", method: "POST", path: `${cm()}?fieldValidation=Strict`, body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "strict" }, dataa: { a: "1" } }), contentType: "application/json", code: 400, reason: "BadRequest", key: `/registry/configmaps/${NS}/strict` },
    { title: "a body over 3 MiB", method: "POST", path: cm(), body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "huge" }, data: { blob: "x".repeat(3 * 1024 * 1024 + 10) } }), contentType: "application/json", code: 413, reason: "RequestEntityTooLarge", key: `/registry/configmaps/${NS}/huge` },
    { title: "an unsupported content type", method: "POST", path: cm(), body: "name=unsupported", contentType: "application/x-www-form-urlencoded", code: 415, reason: "UnsupportedMediaType", key: `/registry/configmaps/${NS}/unsupported` },
    { title: "an unsupported patch type", method: "PATCH", path: cm("fetched"), body: '{"data":{"z":"1"}}', contentType: "text/plain", code: 415, reason: "UnsupportedMediaType", key: `/registry/configmaps/${NS}/zzz-none` },
    { title: "a malformed merge patch", method: "PATCH", path: cm("fetched"), body: '{"data":', contentType: "application/merge-patch+json", code: 400, reason: "BadRequest", key: `/registry/configmaps/${NS}/zzz-none` },
  ];

  it("refuses a pod with malformed or repeated sysctl names with 422 and the real apiserver's causes, and stores nothing", async () => {
    const sysctls = [["foo-", "bar"], ["kernel.shmmax", "1"], ["safe-and-unsafe", "1"], ["bar..", "42"], ["kernel.shmmax", "2"], ["", "2"]].map(([name, value]) => ({ name, value }));
    const body = { ...pod("sysctls"), spec: { ...pod("sysctls").spec, securityContext: { sysctls } } };
    const reply = await api<StatusBody>("POST", pods(), body);
    expect(reply.status).toBe(422);
    const format = "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$";
    // As kube-apiserver v1.26.1 answers the same request.
    expect(reply.body.details?.causes).toEqual([
      { reason: "FieldValueInvalid", message: `Invalid value: "foo-": ${format}`, field: "spec.securityContext.sysctls[0].name" },
      { reason: "FieldValueInvalid", message: `Invalid value: "bar..": ${format}`, field: "spec.securityContext.sysctls[3].name" },
      { reason: "FieldValueDuplicate", message: 'Duplicate value: "kernel.shmmax"', field: "spec.securityContext.sysctls[4].name" },
      { reason: "FieldValueRequired", message: "Required value", field: "spec.securityContext.sysctls[5].name" },
    ]);
    expect(await keysUnder(`/registry/pods/${NS}/sysctls`)).toEqual([]);
  });

  it.each(cases)("refuses $title with $code $reason and stores nothing", async ({ method, path, body, contentType, code, reason, key }) => {
    const before = await ok(200, "GET", cm("fetched"));
    const reply = await api<StatusBody>(method, path, body, { contentType });
    expect(reply.status).toBe(code);
    expect(reply.body).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", reason, code });
    expect(await keysUnder(key)).toEqual([]);
    // The object patched by the patch cases is untouched.
    expect((await ok(200, "GET", cm("fetched"))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("stores an object with an unknown field under fieldValidation=Warn and says so in a Warning header", async () => {
    const reply = await api("POST", `${cm()}?fieldValidation=Warn`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "warned" }, dataa: { a: "1" } });
    expect(reply.status).toBe(201);
    const warning = reply.headers.warning;
    expect(String(warning)).toMatch(/^299 - ".*dataa.*"$/);
    // As in Kubernetes, the unknown field is dropped, not stored.
    expect(reply.body).not.toHaveProperty("dataa");
    if (!etcd) throw new Error("etcd did not start");
    const stored = JSON.parse(await etcdctl(etcd.endpoint, ["get", "--print-value-only", `/registry/configmaps/${NS}/warned`])) as Record<string, unknown>;
    expect(stored).toMatchObject({ kind: "ConfigMap", metadata: { name: "warned" } });
    expect(stored).not.toHaveProperty("dataa");
    const patched = await api("PATCH", `${cm("warned")}?fieldValidation=Ignore`, { data: { b: "2" }, extra: 1 }, { contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    expect(patched.headers.warning).toBeUndefined();
    expect(patched.body).not.toHaveProperty("extra");
    expect(patched.body.data).toEqual({ b: "2" });
  });

  it("refuses invalid names and labels with 422 naming each field in details.causes", async () => {
    const badName = await api<StatusBody>("POST", cm(), configMap("Not_A_Valid_Name"));
    expect(badName.status).toBe(422);
    expect(badName.body).toMatchObject({ kind: "Status", reason: "Invalid", code: 422, details: { name: "Not_A_Valid_Name", kind: "ConfigMap" } });
    expect(badName.body.details?.causes?.map((c) => c.field)).toEqual(["metadata.name"]);
    expect(badName.body.message).toMatch(/^ConfigMap "Not_A_Valid_Name" is invalid: metadata.name: Invalid value: "Not_A_Valid_Name"/);

    const badLabels = await api<StatusBody>("POST", cm(), configMap("bad-labels", { "bad key!": "v", ok: "-not-valid-" }));
    expect(badLabels.status).toBe(422);
    const fields = badLabels.body.details?.causes?.map((c) => c.field) ?? [];
    expect(fields).toContain("metadata.labels");
    expect(fields.length).toBeGreaterThanOrEqual(2);

    const badPod = await api<StatusBody>("POST", pods(), { apiVersion: "v1", kind: "Pod", metadata: { name: "no-image" }, spec: { containers: [{ name: "c" }] } });
    expect(badPod.status).toBe(422);
    expect(badPod.body.details?.causes).toContainEqual(expect.objectContaining({ field: "spec.containers[0].image", reason: "FieldValueRequired" }));

    expect(await keysUnder(`/registry/configmaps/${NS}/Not_A_Valid_Name`)).toEqual([]);
    expect(await keysUnder(`/registry/configmaps/${NS}/bad-labels`)).toEqual([]);
    expect(await keysUnder(`/registry/pods/${NS}/no-image`)).toEqual([]);
  });

  it("refuses an invalid update with 422 and keeps the stored object", async () => {
    const created = await ok(201, "POST", cm(), configMap("invalid-update"));
    const reply = await api<StatusBody>("PUT", cm("invalid-update"), { ...created, metadata: { ...created.metadata, labels: { "a/b/c": "x" } } });
    expect(reply.status).toBe(422);
    expect(reply.body.details?.causes?.[0]?.field).toBe("metadata.labels");
    expect((await ok(200, "GET", cm("invalid-update"))).metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });
});
