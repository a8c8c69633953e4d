import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { newNode, newPod } from "../api/testing/builders.js";
import { FakeClient } from "../client/testing/fake-client.js";
import { silentLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { Actions } from "./actions.js";
import { ClusterState } from "./cluster-state.js";
import { NO_LAB } from "./lab-watch.js";
import { LiveViewServer } from "./server.js";
import { ACTION_HEADER, type ServerMessage } from "./web/protocol.js";

let dir: string;
let client: FakeClient;
let state: ClusterState;
let server: LiveViewServer;
let base: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "live-view-test-"));
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>kubelab</title>");
  client = new FakeClient({ objects: [newPod("web-1"), newNode("node-1")] });
  state = new ClusterState({ onPending: () => { server.scheduleFlush(); } });
  server = new LiveViewServer({
    address: "127.0.0.1",
    port: 0,
    state,
    samples: () => [],
    lab: () => NO_LAB,
    actions: new Actions(client, undefined),
    apiserver: { server: "http://127.0.0.1:1", namespace: "default" },
    webDir: dir,
    vendor: { "x.js": join(dir, "index.html") },
    readyzChecks: [],
    registry: createRegistry(),
    logger: silentLogger(),
    flushIntervalMs: 10,
  });
  base = `http://127.0.0.1:${await server.listen()}`;
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function post(path: string, body: unknown, headers: Record<string, string> = { [ACTION_HEADER]: "1" }): Promise<Response> {
  return fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** Opens /ws and collects its messages. */
async function connect(origin?: string): Promise<{ ws: WebSocket; messages: ServerMessage[] }> {
  const ws = new WebSocket(`${base.replace("http", "ws")}/ws`, origin === undefined ? {} : { origin });
  const messages: ServerMessage[] = [];
  ws.on("message", (data: Buffer) => messages.push(JSON.parse(data.toString("utf8")) as ServerMessage));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => { resolve(); });
    ws.once("error", reject);
  });
  return { ws, messages };
}

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("timed out");
}

describe("LiveViewServer", () => {
  it("sends a page the whole state, then each change in one message per flush", async () => {
    state.set("nodes", "node-1", { name: "node-1", ready: "True", unschedulable: false, ip: "", podCidr: "", kubeletVersion: "" });
    state.takeChanges();
    const { ws, messages } = await connect(base);
    const snapshot = await until(() => messages.find((m) => m.type === "snapshot"));
    expect(snapshot.type === "snapshot" && Object.keys(snapshot.rows.nodes)).toEqual(["node-1"]);
    state.set("nodes", "node-1", undefined);
    state.set("nodes", "node-2", { name: "node-2", ready: "False", unschedulable: false, ip: "", podCidr: "", kubeletVersion: "" });
    const changes = await until(() => messages.find((m) => m.type === "changes"));
    expect(changes.type === "changes" && changes.changes.map((c) => [c.key, c.row === undefined])).toEqual([["node-1", true], ["node-2", false]]);
    ws.close();
  });

  it("refuses a WebSocket from another origin", async () => {
    await expect(connect("http://evil.example")).rejects.toThrow();
  });

  it("answers only to its own Host (no DNS rebinding)", async () => {
    const port = new URL(base).port;
    const { request } = await import("node:http");
    const code = await new Promise<number>((resolve, reject) => {
      request({ host: "127.0.0.1", port, path: "/", headers: { host: `attacker.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on("error", reject).end();
    });
    expect(code).toBe(421);
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect((await fetch(`${base}/vendor/x.js`)).status).toBe(200);
  });

  it("takes actions only with its header and from its own origin", async () => {
    expect((await post("/api/pods/default/web-1/delete", {}, {})).status).toBe(403);
    expect((await post("/api/pods/default/web-1/delete", {}, { [ACTION_HEADER]: "1", origin: "http://evil.example" })).status).toBe(403);
    expect(client.writes()).toEqual([]);
  });

  it("deletes a pod, scales a deployment and cordons a node with the calls kubectl makes", async () => {
    expect(await (await post("/api/pods/default/web-1/delete", {})).json()).toEqual({ ok: true, message: 'pod "web-1" deleted' });
    await post("/api/nodes/node-1/cordon", { unschedulable: true });
    await post("/api/deployments/default/web/scale", { replicas: 4 });
    expect(client.actions.map((a) => [a.verb, a.resource, a.namespace, a.name, a.subresource, a.patchType, a.patch])).toEqual([
      ["delete", "pods", "default", "web-1", undefined, undefined, undefined],
      ["patch", "nodes", undefined, "node-1", undefined, "strategic", { spec: { unschedulable: true } }],
      ["patch", "deployments", "default", "web", "scale", "merge", { spec: { replicas: 4 } }],
    ]);
  });

  it("refuses bad arguments and reports the cluster's refusal with its code", async () => {
    const bad = await post("/api/deployments/default/web/scale", { replicas: -1 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/replicas/);
    expect((await post("/api/pods/default/NOT_A_NAME/delete", {})).status).toBe(400);
    expect((await post("/api/pods/default/missing/delete", {})).status).toBe(404);
    expect((await post("/api/components/kill", { component: "kube-scheduler" })).status).toBe(400);
  });
});
