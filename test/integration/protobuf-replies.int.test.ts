// Protobuf replies from a real kubelab apiserver (real etcd, real process), asked for as client-go asks
// (`application/vnd.kubernetes.protobuf,application/json`) and decoded with protobufjs over the project's schema:
// get, list, create, watch frames, Status errors, PartialObjectMetadata, and JSON-only custom resources. With
// KUBELAB_PEERS (../shared/peers) the same requests go to the real kube-apiserver v1.26.1 too, and both servers'
// replies are decoded and compared (the bytes may differ in map order and in the zero fields gogo writes).
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRecord } from "../../api/meta.js";
import { PROTOBUF_MAGIC, decodeProtobufBody, protobufSchema } from "../../apiserver/http/protobuf.js";
import { PEER_ADMIN_TOKEN, realApiserverComponent } from "../../lab/components/real-kube-apiserver.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startApiServerProcess, waitFor, type ApiServerProcess } from "../support/apiserver.js";
import { requestAs, type ApiTarget } from "../support/http.js";
import { freePort, startEtcd, type EtcdHandle } from "../support/etcd.js";
import { testProcesses } from "../support/processes.js";

const PROTOBUF = "application/vnd.kubernetes.protobuf";
const CLIENT_GO_ACCEPT = `${PROTOBUF},application/json`;
const PEERS = process.env.KUBELAB_PEERS ?? "";

/** Ours: an ApiTarget (the test run's CA and admin). The real apiserver: its URL and token, its self-signed certificate unchecked. */
type Server = ApiTarget & { unverified?: boolean };

function open(server: Server, url: URL, options: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest {
  if (!server.unverified) return requestAs(server, url, options, onResponse);
  const headers = { ...(options.headers as Record<string, string> | undefined), ...(server.token !== undefined ? { Authorization: `Bearer ${server.token}` } : {}) };
  return (url.protocol === "https:" ? httpsRequest : httpRequest)(url, { ...options, headers, rejectUnauthorized: false }, onResponse);
}

interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request as `server`'s identity; the reply's bytes as they came. */
function send(server: Server, method: string, path: string, options: { accept?: string; body?: unknown } = {}): Promise<RawReply> {
  const url = new URL(path, server.url);
  const headers: Record<string, string> = {};
  if (options.accept !== undefined) headers.Accept = options.accept;
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  return new Promise((resolve, reject) => {
    const req = open(server, url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** A protobuf reply decoded: its envelope's typeMeta, and the object in its JSON form. */
function decoded(reply: RawReply): Record<string, unknown> {
  expect(reply.headers["content-type"]).toBe(PROTOBUF);
  expect(reply.body.subarray(0, 4).equals(PROTOBUF_MAGIC)).toBe(true);
  return decodeProtobufBody(reply.body);
}

interface Frame {
  type: string;
  object: Record<string, unknown>;
}

/** Opens a protobuf watch and collects its frames (4-byte length, WatchEvent{type, object.raw: a whole body}). */
function protobufWatch(server: Server, path: string): Promise<{ contentType: string; frames: Frame[]; close(): void }> {
  const url = new URL(path, server.url);
  const headers: Record<string, string> = { Accept: `${PROTOBUF};stream=watch,${CLIENT_GO_ACCEPT}` };
  const watchEvent = protobufSchema().lookupType("kubelab.k8s.WatchEvent");
  return new Promise((resolve, reject) => {
    const req = open(server, url, { method: "GET", headers }, (res) => {
      const frames: Frame[] = [];
      let pending = Buffer.alloc(0);
      res.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
          const size = pending.readUInt32BE(0);
          const event = watchEvent.decode(pending.subarray(4, 4 + size)) as unknown as { type: string; object: { raw: Uint8Array } };
          frames.push({ type: event.type, object: decodeProtobufBody(Buffer.from(event.object.raw)) });
          pending = pending.subarray(4 + size);
        }
      });
      res.on("error", () => undefined);
      resolve({ contentType: String(res.headers["content-type"]), frames, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.end();
  });
}

const CONFIGMAP = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "pb-config", labels: { app: "pb" } }, data: { a: "1", b: "" }, binaryData: { bin: Buffer.from([0, 1, 2]).toString("base64") } };
const DEPLOYMENT = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "pb-web" },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: "pb-web" } },
    template: {
      metadata: { labels: { app: "pb-web" } },
      spec: { containers: [{ name: "web", image: "nginx", ports: [{ containerPort: 80 }], resources: { limits: { cpu: "250m", memory: "64Mi" } }, readinessProbe: { httpGet: { path: "/", port: "http" } } }] },
    },
  },
};
const SERVICE = { apiVersion: "v1", kind: "Service", metadata: { name: "pb-svc" }, spec: { selector: { app: "pb-web" }, ports: [{ port: 80, targetPort: 8080 }] } };

describe("protobuf replies from kubelab's apiserver", () => {
  let etcd: EtcdHandle | undefined;
  let apiserver: ApiServerProcess | undefined;
  let ours: Server = { url: "" };

  beforeAll(async () => {
    etcd = await startEtcd();
    apiserver = await startApiServerProcess(etcd.endpoint);
    ours = apiserver.api;
  }, 120_000);

  afterAll(async () => {
    await apiserver?.stop("SIGKILL");
    await etcd?.destroy();
  });

  it("answers a create in protobuf with the object the JSON GET shows", async () => {
    const created = await send(ours, "POST", "/api/v1/namespaces/default/configmaps", { accept: CLIENT_GO_ACCEPT, body: CONFIGMAP });
    expect(created.status).toBe(201);
    const object = decoded(created);
    const json = await send(ours, "GET", "/api/v1/namespaces/default/configmaps/pb-config", { accept: "application/json" });
    expect(json.headers["content-type"]).toBe("application/json");
    // The JSON's empty value "b" is kept by protobuf as well (map values are never dropped).
    expect(object).toEqual(JSON.parse(json.body.toString("utf8")));
  });

  it("answers get and list of a Deployment in protobuf, keeping replicas: 0 and the IntOrString port", async () => {
    expect((await send(ours, "POST", "/apis/apps/v1/namespaces/default/deployments", { body: DEPLOYMENT })).status).toBe(201);
    const got = decoded(await send(ours, "GET", "/apis/apps/v1/namespaces/default/deployments/pb-web", { accept: CLIENT_GO_ACCEPT }));
    expect(got).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment", spec: { replicas: 0, template: { spec: { containers: [{ readinessProbe: { httpGet: { port: "http" } }, resources: { limits: { cpu: "250m" } } }] } } } });
    const list = decoded(await send(ours, "GET", "/apis/apps/v1/namespaces/default/deployments", { accept: PROTOBUF }));
    expect(list).toMatchObject({ apiVersion: "apps/v1", kind: "DeploymentList", metadata: { resourceVersion: expect.any(String) as unknown } });
    expect((list.items as { metadata: { name: string } }[]).map((d) => d.metadata.name)).toEqual(["pb-web"]);
  });

  it("answers errors with a protobuf Status", async () => {
    const missing = decoded(await send(ours, "GET", "/api/v1/namespaces/default/pods/none", { accept: CLIENT_GO_ACCEPT }));
    expect(missing).toEqual({ apiVersion: "v1", kind: "Status", metadata: {}, status: "Failure", message: 'pods "none" not found', reason: "NotFound", details: { name: "none", kind: "pods" }, code: 404 });
  });

  it("streams a watch as length-prefixed protobuf frames", async () => {
    const watch = await protobufWatch(ours, "/api/v1/namespaces/default/configmaps?watch=true&labelSelector=app%3Dpb-watch");
    try {
      expect(watch.contentType).toBe(`${PROTOBUF};stream=watch`);
      await send(ours, "POST", "/api/v1/namespaces/default/configmaps", { body: { ...CONFIGMAP, metadata: { name: "pb-watched", labels: { app: "pb-watch" } } } });
      await send(ours, "DELETE", "/api/v1/namespaces/default/configmaps/pb-watched");
      await waitFor("ADDED and DELETED frames", () => (watch.frames.length >= 2 ? true : undefined), 10_000);
      expect(watch.frames.map((f) => [f.type, f.object.kind, (f.object.metadata as { name: string }).name])).toEqual([
        ["ADDED", "ConfigMap", "pb-watched"],
        ["DELETED", "ConfigMap", "pb-watched"],
      ]);
    } finally {
      watch.close();
    }
  });

  it("answers the metadata-only list the garbage collector asks for in protobuf", async () => {
    const accept = `${PROTOBUF};as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json`;
    const list = decoded(await send(ours, "GET", "/api/v1/namespaces/default/configmaps", { accept }));
    expect(list.kind).toBe("PartialObjectMetadataList");
    expect(list.apiVersion).toBe("meta.k8s.io/v1");
    const item = (list.items as Record<string, unknown>[]).find((i) => isRecord(i.metadata) && i.metadata.name === "pb-config");
    expect(item).toMatchObject({ metadata: { labels: { app: "pb" } } });
    expect(item).not.toHaveProperty("data");
  });

  it("keeps custom resources in JSON: 406 for a protobuf-only Accept, JSON when JSON is offered too", async () => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "pbthings.protobuf.example.com" },
      spec: { group: "protobuf.example.com", scope: "Namespaced", names: { plural: "pbthings", singular: "pbthing", kind: "PbThing" }, versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }] },
    };
    expect((await send(ours, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", { body: crd })).status).toBe(201);
    const path = "/apis/protobuf.example.com/v1/namespaces/default/pbthings";
    const refused = await waitFor("the CRD served", async () => {
      const reply = await send(ours, "GET", path, { accept: PROTOBUF });
      return reply.status === 404 ? undefined : reply;
    });
    expect(refused.status).toBe(406);
    expect(refused.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(refused.body.toString("utf8"))).toMatchObject({ reason: "NotAcceptable", message: "only the following media types are accepted: application/json, application/yaml" });
    const json = await send(ours, "GET", path, { accept: CLIENT_GO_ACCEPT });
    expect(json.status).toBe(200);
    expect(json.headers["content-type"]).toBe("application/json");
  });

  it.each([
    ["/api", "APIVersions", ""],
    ["/apis", "APIGroupList", "v1"],
    ["/apis/apps", "APIGroup", "v1"],
    ["/api/v1", "APIResourceList", ""],
    ["/apis/apps/v1", "APIResourceList", "v1"],
  ])("answers the discovery document %s in protobuf as the JSON one says", async (path, kind, apiVersion) => {
    const reply = await send(ours, "GET", path, { accept: CLIENT_GO_ACCEPT });
    const object = decoded(reply);
    expect([object.kind, object.apiVersion]).toEqual([kind, apiVersion]);
    const json = JSON.parse((await send(ours, "GET", path, { accept: "application/json" })).body.toString("utf8")) as Record<string, unknown>;
    expect(discoveryContent(object)).toEqual(discoveryContent(json));
  });

  it("answers discovery in YAML when asked, and refuses an Accept it cannot answer", async () => {
    const yaml = await send(ours, "GET", "/apis/apps", { accept: "application/yaml" });
    expect(yaml.headers["content-type"]).toBe("application/yaml");
    expect(yaml.body.toString("utf8")).toContain("kind: APIGroup");
    const refused = await send(ours, "GET", "/api", { accept: "text/html" });
    expect(refused.status).toBe(406);
  });

  it("answers APIServices and CustomResourceDefinitions in protobuf", async () => {
    const apiService = decoded(await send(ours, "GET", "/apis/apiregistration.k8s.io/v1/apiservices/v1.apps", { accept: CLIENT_GO_ACCEPT }));
    expect(apiService).toMatchObject({ kind: "APIService", spec: { group: "apps", version: "v1" } });
    const crd = decoded(await send(ours, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/pbthings.protobuf.example.com", { accept: CLIENT_GO_ACCEPT }));
    expect(crd).toMatchObject({ kind: "CustomResourceDefinition", spec: { versions: [{ name: "v1", schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }] } });
  });

  it("refuses an Accept it cannot answer with Kubernetes' 406", async () => {
    const reply = await send(ours, "GET", "/api/v1/namespaces/default/configmaps", { accept: "text/html" });
    expect(reply.status).toBe(406);
    expect(JSON.parse(reply.body.toString("utf8"))).toMatchObject({ message: "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf" });
  });
});

/**
 * What a discovery document says, whatever its encoding: protobuf drops false and empty fields that JSON writes, and
 * verbs come in no particular order.
 */
function discoveryContent(document: Record<string, unknown>): unknown {
  const resources = Array.isArray(document.resources) ? (document.resources as Record<string, unknown>[]) : undefined;
  const groups = Array.isArray(document.groups) ? (document.groups as Record<string, unknown>[]) : undefined;
  return {
    versions: document.versions,
    preferredVersion: document.preferredVersion,
    groupVersion: document.groupVersion,
    groups: groups?.map((g) => [g.name, g.versions, g.preferredVersion]),
    resources: resources
      ?.map((r) => [r.name, r.kind, r.namespaced === true, [...((r.verbs as string[] | undefined) ?? [])].sort(), r.shortNames ?? [], r.group ?? "", r.version ?? ""])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  };
}

/** What two servers set differently for the same request: identities, times, versions, allocated addresses. */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (["uid", "resourceVersion", "creationTimestamp", "managedFields", "clusterIP", "clusterIPs", "selfLink", "continue", "lastTransitionTime"].includes(key)) continue;
    out[key] = comparable(v);
  }
  return out;
}

describe.skipIf(PEERS === "")("protobuf replies compared with the real kube-apiserver v1.26.1's", () => {
  let realEtcd: EtcdHandle | undefined;
  let ourEtcd: EtcdHandle | undefined;
  let real: ManagedProcess | undefined;
  let apiserver: ApiServerProcess | undefined;
  const servers: { real: Server; ours: Server } = { real: { url: "" }, ours: { url: "" } };

  beforeAll(async () => {
    realEtcd = await startEtcd();
    ourEtcd = await startEtcd();
    const port = await freePort();
    real = testProcesses.start(realApiserverComponent({ name: "protobuf-real-kube-apiserver", peersDir: PEERS, etcdServers: realEtcd.endpoint, port, certDir: testProcesses.tempDir("protobuf-real-certs-", tmpdir()), extraArgs: ["--disable-admission-plugins=ServiceAccount"] }));
    servers.real = { url: `https://127.0.0.1:${port}`, token: PEER_ADMIN_TOKEN, unverified: true };
    apiserver = await startApiServerProcess(ourEtcd.endpoint);
    servers.ours = apiserver.api;
    await waitFor("the real kube-apiserver ready", async () => ((await send(servers.real, "GET", "/readyz")).status === 200 ? true : undefined), 90_000, 250);
    for (const server of [servers.real, servers.ours]) {
      for (const [path, body] of [["/api/v1/namespaces/default/configmaps", CONFIGMAP], ["/apis/apps/v1/namespaces/default/deployments", DEPLOYMENT], ["/api/v1/namespaces/default/services", SERVICE]] as const) {
        const reply = await send(server, "POST", path, { body });
        if (reply.status !== 201) throw new Error(`create at ${path} on ${server.url}: ${reply.status} ${reply.body.toString("utf8")}`);
      }
    }
  }, 180_000);

  afterAll(async () => {
    await real?.stop("SIGKILL");
    await apiserver?.stop("SIGKILL");
    await realEtcd?.destroy();
    await ourEtcd?.destroy();
  });

  it.each([
    ["a ConfigMap", "/api/v1/namespaces/default/configmaps/pb-config"],
    ["a Deployment", "/apis/apps/v1/namespaces/default/deployments/pb-web"],
    ["a Service", "/api/v1/namespaces/default/services/pb-svc"],
    ["a ConfigMap list", "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dpb"],
    ["a NotFound Status", "/api/v1/namespaces/default/pods/none"],
    ["an APIService", "/apis/apiregistration.k8s.io/v1/apiservices/v1.apps"],
  ])("decodes %s the same from both", async (_what, path) => {
    const [theirs, mine] = await Promise.all([send(servers.real, "GET", path, { accept: CLIENT_GO_ACCEPT }), send(servers.ours, "GET", path, { accept: CLIENT_GO_ACCEPT })]);
    expect(mine.status).toBe(theirs.status);
    const myObject = decoded(mine);
    // kubelab's registry counts an APIService's generation, Kubernetes' does not: a storage difference, not protobuf's.
    if (myObject.kind === "APIService" && isRecord(myObject.metadata)) delete myObject.metadata.generation;
    expect(comparable(myObject)).toEqual(comparable(decoded(theirs)));
  });

  it.each([["/api"], ["/apis/apps"], ["/api/v1"], ["/apis/apps/v1"], ["/apis/batch/v1"], ["/apis/rbac.authorization.k8s.io/v1"]])("answers discovery %s in protobuf as the real one does", async (path) => {
    const [theirs, mine] = await Promise.all([send(servers.real, "GET", path, { accept: CLIENT_GO_ACCEPT }), send(servers.ours, "GET", path, { accept: CLIENT_GO_ACCEPT })]);
    const [theirObject, myObject] = [decoded(theirs), decoded(mine)];
    expect([myObject.apiVersion, myObject.kind]).toEqual([theirObject.apiVersion, theirObject.kind]);
    // The addresses and resource sets differ by server and release; the shape of each entry may not.
    if (path === "/apis/apps" || path.endsWith("/v1") && path !== "/api/v1") {
      const mineContent = discoveryContent(myObject) as { resources?: unknown[] };
      const theirContent = discoveryContent(theirObject) as { resources?: unknown[] };
      expect(mineContent).toEqual(theirContent);
    }
  });

  it("frames a watch the same way", async () => {
    const path = "/api/v1/namespaces/default/configmaps?watch=true&labelSelector=app%3Dpb";
    const [theirs, mine] = await Promise.all([protobufWatch(servers.real, path), protobufWatch(servers.ours, path)]);
    try {
      await waitFor("the initial ADDED frames", () => (theirs.frames.length >= 1 && mine.frames.length >= 1 ? true : undefined), 10_000);
      expect(mine.contentType).toBe(theirs.contentType);
      expect(comparable(mine.frames[0])).toEqual(comparable(theirs.frames[0]));
    } finally {
      theirs.close();
      mine.close();
    }
  });
});
