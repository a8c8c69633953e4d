import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StatusError } from "../api/errors.js";
import type { KubeObject, WatchEvent } from "../api/meta.js";
import { RESOURCES, type ResourceInfo } from "../api/resources.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { ConnectionError, ExpiredError } from "./errors.js";
import { TokenBucket } from "./flowcontrol.js";
import { formatLabelSelector, resourcePath, RestClient } from "./rest.js";
import { FakeApiserver } from "./testing/fake-apiserver.js";

const find = (group: string, resource: string): ResourceInfo => RESOURCES.find((r) => r.group === group && r.resource === resource)!;
const PODS = find("", "pods");
const NODES = find("", "nodes");
const DEPLOYMENTS = find("apps", "deployments");

const pod = (name: string, labels: Record<string, string> = {}): KubeObject => ({ metadata: { name, labels }, spec: { containers: [{ name: "c", image: "nginx" }] } });

let server: FakeApiserver;
let client: RestClient;
beforeEach(async () => {
  server = await FakeApiserver.start();
  client = new RestClient({ ...server.clientConfig(), token: "s3cr3t" }, { qps: 0, userAgent: "rest-test" });
});
afterEach(async () => {
  client.close();
  await server.stop();
});

describe("resourcePath", () => {
  it.each([
    [PODS, "ns", "web", undefined, "/api/v1/namespaces/ns/pods/web"],
    [PODS, undefined, undefined, undefined, "/api/v1/pods"],
    [PODS, "ns", "web", "status", "/api/v1/namespaces/ns/pods/web/status"],
    [NODES, "ignored", "n1", undefined, "/api/v1/nodes/n1"],
    [DEPLOYMENTS, "ns", undefined, undefined, "/apis/apps/v1/namespaces/ns/deployments"],
    [DEPLOYMENTS, "ns", "d", "scale", "/apis/apps/v1/namespaces/ns/deployments/d/scale"],
  ])("builds %s paths", (info, ns, name, sub, path) => {
    expect(resourcePath(info, ns, name, sub)).toBe(path);
  });
});

describe("formatLabelSelector", () => {
  it("renders matchLabels and matchExpressions", () => {
    expect(
      formatLabelSelector({
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["b", "a"] },
          { key: "env", operator: "NotIn", values: ["prod"] },
          { key: "x", operator: "Exists" },
          { key: "y", operator: "DoesNotExist" },
        ],
      }),
    ).toBe("app=web,tier in (a,b),env notin (prod),x,!y");
  });
});

describe("RestClient", () => {
  it("creates, gets, updates, patches and deletes a namespaced object", async () => {
    const created = await client.create(PODS, "default", pod("web", { app: "web" }));
    expect(created).toMatchObject({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default" } });
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);

    const got = await client.get(PODS, "default", "web");
    expect(got.metadata.uid).toBe(created.metadata.uid);

    const updated = await client.update(PODS, "default", { ...got, metadata: { ...got.metadata, labels: { app: "web", v: "2" } } });
    expect(updated.metadata.labels).toEqual({ app: "web", v: "2" });

    const withStatus = await client.updateStatus(PODS, "default", { ...updated, status: { phase: "Running" } });
    expect(withStatus.status).toEqual({ phase: "Running" });

    const merged = await client.patch(PODS, "default", "web", "merge", { metadata: { labels: { v: null, w: "3" } } });
    expect(merged.metadata.labels).toEqual({ app: "web", w: "3" });
    const jsonPatched = await client.patch(PODS, "default", "web", "json", [{ op: "replace", path: "/metadata/labels/w", value: "4" }]);
    expect(jsonPatched.metadata.labels).toEqual({ app: "web", w: "4" });
    await client.patch(PODS, "default", "web", "strategic", { metadata: { annotations: { a: "b" } } });
    await client.patch(PODS, "default", "web", "apply", { metadata: { annotations: { c: "d" } } }, { fieldManager: "test", force: true });
    const types = server.requestsTo("PATCH", "/pods/web").map((r) => r.headers["content-type"]);
    expect(types).toEqual(["application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"]);
    expect(server.requestsTo("PATCH", "/pods/web").at(-1)!.query.toString()).toBe("fieldManager=test&force=true");

    const deleted = await client.delete(PODS, "default", "web", { propagationPolicy: "Background", gracePeriodSeconds: 0, preconditions: { uid: created.metadata.uid! } });
    expect(deleted.metadata).toMatchObject({ name: "web" });
    expect(server.requestsTo("DELETE", "/pods/web")[0]!.body).toEqual({
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: "Background",
      gracePeriodSeconds: 0,
      preconditions: { uid: created.metadata.uid },
    });
    await expect(client.get(PODS, "default", "web")).rejects.toMatchObject({ code: 404, reason: "NotFound" });
  });

  it("sends the bearer token, user agent and JSON headers", async () => {
    await client.create(PODS, "default", pod("a"));
    const req = server.requests[0]!;
    expect(req.headers.authorization).toBe("Bearer s3cr3t");
    expect(req.headers["user-agent"]).toBe("rest-test");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers.accept).toBe("application/json");
  });

  it("addresses cluster-scoped and grouped resources", async () => {
    await client.create(NODES, undefined, { metadata: { name: "n1" } });
    expect((await client.get(NODES, undefined, "n1")).kind).toBe("Node");
    await client.create(DEPLOYMENTS, "prod", { metadata: { name: "d" }, spec: { replicas: 2 } });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /api/v1/nodes", "GET /api/v1/nodes/n1", "POST /apis/apps/v1/namespaces/prod/deployments"]);
  });

  it("lists with selectors, fills item kinds, and pages through continue tokens", async () => {
    for (let i = 0; i < 7; i++) await client.create(PODS, i % 2 ? "a" : "b", pod(`p${i}`, { app: i < 5 ? "web" : "db" }));
    const web = await client.list(PODS, undefined, { labelSelector: { matchLabels: { app: "web" } } });
    expect(web.items.map((p) => p.metadata.name).sort()).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    expect(web.items.every((p) => p.kind === "Pod" && p.apiVersion === "v1")).toBe(true);
    expect(web.metadata.resourceVersion).toBe(server.resourceVersion());
    const inA = await client.list(PODS, "a", { fieldSelector: "metadata.name!=p1" });
    expect(inA.items.map((p) => p.metadata.name).sort()).toEqual(["p3", "p5"]);

    const page = await client.list(PODS, undefined, { limit: 3 });
    expect(page.items).toHaveLength(3);
    expect(page.metadata.continue).toBeTruthy();
    const all = await client.listAll(PODS, undefined, { limit: 2 });
    expect(all.items).toHaveLength(7);
    expect(all.metadata.continue).toBeUndefined();
    expect(server.requestsTo("GET", "/api/v1/pods").filter((r) => r.query.get("limit") === "2")).toHaveLength(4);
  });

  it("binds a pod to a node through the binding subresource", async () => {
    await client.create(PODS, "default", pod("web"));
    await client.bind("default", "web", "node-1");
    expect((await client.get(PODS, "default", "web")).spec).toMatchObject({ nodeName: "node-1" });
    expect(server.requestsTo("POST", "/binding")[0]!.body).toEqual({
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "web", namespace: "default" },
      target: { apiVersion: "v1", kind: "Node", name: "node-1" },
    });
    await expect(client.bind("default", "web", "node-2")).rejects.toMatchObject({ code: 409, reason: "Conflict" });
  });

  it("reads and writes the scale subresource", async () => {
    await client.create(DEPLOYMENTS, "default", { metadata: { name: "d" }, spec: { replicas: 2 } });
    const scale = await client.getScale(DEPLOYMENTS, "default", "d");
    expect(scale).toMatchObject({ kind: "Scale", apiVersion: "autoscaling/v1", spec: { replicas: 2 } });
    const next = await client.updateScale(DEPLOYMENTS, "default", "d", { ...scale, spec: { replicas: 5 } });
    expect(next.spec?.replicas).toBe(5);
    expect((await client.get(DEPLOYMENTS, "default", "d")).spec).toEqual({ replicas: 5 });
  });

  it("deletes a collection by label", async () => {
    await client.create(PODS, "default", pod("a", { x: "1" }));
    await client.create(PODS, "default", pod("b", { x: "2" }));
    await client.deleteCollection(PODS, "default", { labelSelector: "x=1" });
    expect(server.objects(PODS).map((p) => p.metadata.name)).toEqual(["b"]);
  });

  describe("errors", () => {
    it("turns a Status reply into a StatusError with code, reason, message and details", async () => {
      const err: unknown = await client.get(DEPLOYMENTS, "default", "x").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StatusError);
      expect(err).toMatchObject({ code: 404, reason: "NotFound", message: 'deployments.apps "x" not found', details: { name: "x", kind: "deployments", group: "apps" } });
    });

    it("reports AlreadyExists on a duplicate create and Conflict on a stale update", async () => {
      const a = await client.create(PODS, "default", pod("a"));
      await expect(client.create(PODS, "default", pod("a"))).rejects.toMatchObject({ code: 409, reason: "AlreadyExists", message: 'pods "a" already exists' });
      await client.update(PODS, "default", a);
      await expect(client.update(PODS, "default", a)).rejects.toMatchObject({ code: 409, reason: "Conflict" });
    });

    it("makes up client-go's generic error for a reply that is not a Status", async () => {
      server.failNext({ method: "GET" }, { kind: "text", code: 500, text: "boom" });
      await expect(client.get(PODS, "default", "a")).rejects.toMatchObject({
        code: 500,
        reason: "InternalError",
        message: 'an error on the server ("boom") has prevented the request from succeeding (get pods a)',
      });
      server.failNext({ method: "POST" }, { kind: "text", code: 404, text: "{}" });
      await expect(client.create(PODS, "default", pod("a"))).rejects.toMatchObject({ code: 404, reason: "NotFound", message: "the server could not find the requested resource (create pods)" });
    });

    it("turns a 410 reply into an ExpiredError", async () => {
      server.failNext({ method: "GET" }, { kind: "status", code: 410, reason: "Expired", message: "continue too old" });
      await expect(client.list(PODS, undefined)).rejects.toBeInstanceOf(ExpiredError);
    });

    it("retries a 429 that carries Retry-After, then succeeds", async () => {
      server.failNext({ method: "GET" }, { kind: "status", code: 429, reason: "TooManyRequests", retryAfterSeconds: 0 }, 2);
      await client.create(NODES, undefined, { metadata: { name: "n" } });
      await expect(client.get(NODES, undefined, "n")).resolves.toMatchObject({ metadata: { name: "n" } });
      expect(server.requestsTo("GET", "/nodes/n")).toHaveLength(3);
    });

    it("does not retry a 5xx without Retry-After", async () => {
      server.failNext({ method: "GET" }, { kind: "status", code: 503, reason: "ServiceUnavailable" });
      await expect(client.get(NODES, undefined, "n")).rejects.toMatchObject({ code: 503, reason: "ServiceUnavailable" });
    });

    it("throws ConnectionError when nothing listens", async () => {
      const port = Number(new URL(server.url).port);
      await server.stop();
      const dead = new RestClient({ server: `http://127.0.0.1:${port}`, namespace: "default" }, { qps: 0 });
      const err: unknown = await dead.get(PODS, "default", "a").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err).toMatchObject({ code: "ECONNREFUSED", method: "GET" });
      dead.close();
      server = await FakeApiserver.start();
    });

    it("throws ConnectionError when the server resets a POST", async () => {
      server.failNext({ method: "POST" }, { kind: "reset" });
      await expect(client.create(PODS, "default", pod("a"))).rejects.toBeInstanceOf(ConnectionError);
    });

    it("rejects with the abort reason when the signal aborts", async () => {
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      await expect(client.get(PODS, "default", "a", { signal: controller.signal })).rejects.toThrow("stop");
    });

    it("refuses a namespaced get without a namespace", async () => {
      await expect(client.get(PODS, undefined, "a")).rejects.toThrow(/needs a namespace/);
    });
  });

  describe("watch", () => {
    it("streams events from a resourceVersion and stops cleanly", async () => {
      const first = await client.create(PODS, "default", pod("a"));
      const stream = await client.watch(PODS, "default", { resourceVersion: first.metadata.resourceVersion!, allowWatchBookmarks: true });
      const seen: WatchEvent[] = [];
      const done = (async () => {
        for await (const ev of stream) {
          seen.push(ev);
          if (seen.length === 4) stream.stop();
        }
      })();
      await client.create(PODS, "default", pod("b"));
      await client.patch(PODS, "default", "b", "merge", { metadata: { labels: { x: "1" } } });
      server.sendBookmarks();
      await client.delete(PODS, "default", "a");
      await done;
      expect(seen.map((e) => `${e.type} ${e.object.metadata.name ?? ""}`)).toEqual(["ADDED b", "MODIFIED b", "BOOKMARK ", "DELETED a"]);
      expect(stream.stopped).toBe(true);
      const q = server.requestsTo("GET", "/pods").at(-1)!.query;
      expect(q.get("watch")).toBe("true");
      expect(q.get("allowWatchBookmarks")).toBe("true");
    });

    it("ends iteration when the server closes the watch", async () => {
      const stream = await client.watch(PODS, undefined, { timeoutSeconds: 1 });
      const seen: WatchEvent[] = [];
      const done = (async () => {
        for await (const ev of stream) seen.push(ev);
      })();
      await client.create(PODS, "default", pod("a"));
      await vi.waitFor(() => {
        expect(seen).toHaveLength(1);
      });
      server.closeWatches();
      await done;
      expect(seen).toHaveLength(1);
    });

    it("decodes events the server splits into tiny chunks", async () => {
      await server.stop();
      server = await FakeApiserver.start({ watchChunkBytes: 3 });
      const c = new RestClient(server.clientConfig(), { qps: 0 });
      const stream = await c.watch(PODS, undefined, {});
      const names: string[] = [];
      const done = (async () => {
        for await (const ev of stream) {
          names.push(ev.object.metadata.name ?? "");
          if (names.length === 3) stream.stop();
        }
      })();
      for (const n of ["x", "y", "z"]) await c.create(PODS, "default", pod(n));
      await done;
      expect(names).toEqual(["x", "y", "z"]);
      c.close();
    });

    it("throws ExpiredError from the iteration when the resourceVersion is too old", async () => {
      await client.create(PODS, "default", pod("a"));
      server.compact();
      const stream = await client.watch(PODS, undefined, { resourceVersion: "1" });
      const iterate = async () => {
        for await (const ev of stream) throw new Error(`unexpected ${ev.type}`);
      };
      await expect(iterate()).rejects.toBeInstanceOf(ExpiredError);
    });

    it("throws ConnectionError from the iteration when the connection breaks", async () => {
      const stream = await client.watch(PODS, undefined, {});
      const iterate = async () => {
        for await (const ev of stream) throw new Error(`unexpected ${ev.type}`);
      };
      const pending = iterate();
      expect(server.watchCount()).toBe(1);
      server.breakConnections();
      await expect(pending).rejects.toBeInstanceOf(ConnectionError);
    });

    it("stops when the caller's signal aborts", async () => {
      const controller = new AbortController();
      const stream = await client.watch(PODS, undefined, { signal: controller.signal });
      const pending = (async () => {
        for await (const ev of stream) throw new Error(`unexpected ${ev.type}`);
      })();
      expect(server.watchCount()).toBe(1);
      controller.abort();
      await expect(pending).resolves.toBeUndefined();
      await vi.waitFor(() => {
        expect(server.watchCount()).toBe(0);
      });
    });
  });

  it("serves many concurrent requests over the keep-alive pool", async () => {
    await client.create(NODES, undefined, { metadata: { name: "n" } });
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 500 }, () => client.get(NODES, undefined, "n")));
    expect(results.every((r) => r.metadata.name === "n")).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("throttles with the token bucket (qps/burst)", async () => {
    const limited = new RestClient(server.clientConfig(), { qps: 20, burst: 2 });
    await limited.create(NODES, undefined, { metadata: { name: "n" } });
    const started = Date.now();
    await Promise.all(Array.from({ length: 5 }, () => limited.get(NODES, undefined, "n")));
    // 1 token left after the create, then 4 more at 20/s: ≥ ~150 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    limited.close();
  });
});

describe("TokenBucket", () => {
  it("allows a burst, then spaces requests at qps in arrival order", async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 2, clock);
    const order: number[] = [];
    const waits = [0, 1, 2, 3].map((i) => bucket.wait().then((ms) => order.push(i) && ms));
    await clock.advance(0);
    expect(order).toEqual([0, 1]);
    await clock.advance(100);
    expect(order).toEqual([0, 1, 2]);
    await clock.advance(100);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(await Promise.all(waits)).toEqual([0, 0, 100, 200]);
    expect(bucket.tryAccept()).toBe(false);
    clock.step(1000);
    expect(bucket.tryAccept()).toBe(true);
  });

  it("gives the reservation back when the wait is aborted", async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(1, 1, clock);
    await bucket.wait();
    const controller = new AbortController();
    const waiting = bucket.wait(controller.signal);
    controller.abort(new Error("cancelled"));
    await expect(waiting).rejects.toThrow("cancelled");
    clock.step(1000);
    expect(bucket.tryAccept()).toBe(true);
  });
});
