import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { userFromCertificate, type TokenReviewer } from "../../component-base/delegated-auth.js";
import { forbiddenMessage, KubeletAuth, requestAttributes, type AccessReviewer, type KubeletRequestAttributes } from "./auth.js";

function request(method: string, headers: Record<string, string> = {}): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.headers = headers;
  return req;
}

describe("the kubelet's request attributes", () => {
  const user = { username: "u" };
  const sub = (path: string): string => requestAttributes(user, "n1", "GET", path).subresource;

  it("maps paths to node subresources as Kubernetes' kubelet does", () => {
    expect(sub("/stats/summary")).toBe("stats");
    expect(sub("/stats")).toBe("stats");
    expect(sub("/metrics")).toBe("metrics");
    expect(sub("/metrics/cadvisor")).toBe("metrics");
    expect(sub("/metrics/resource")).toBe("metrics");
    expect(sub("/logs/syslog")).toBe("log");
    expect(sub("/spec/")).toBe("spec");
    expect(sub("/checkpoint/default/web/app")).toBe("checkpoint");
    for (const path of ["/pods", "/healthz", "/containerLogs/default/web/app", "/exec/default/web/app", "/attach/default/web/app", "/portForward/default/web", "/run/default/web/app", "/statsx", "/logsfoo"]) {
      expect(sub(path)).toBe("proxy");
    }
  });

  it("takes the verb from the method, and names the node", () => {
    const verb = (method: string): string => requestAttributes(user, "n1", method, "/pods").verb;
    expect([verb("GET"), verb("HEAD"), verb("POST"), verb("PUT"), verb("PATCH"), verb("DELETE")]).toEqual(["get", "get", "create", "update", "patch", "delete"]);
    expect(requestAttributes(user, "node-7", "GET", "/pods")).toMatchObject({ resource: "nodes", name: "node-7", subresource: "proxy" });
  });

  it("reads a certificate's CN as the user and its O entries as groups", () => {
    expect(userFromCertificate({ CN: "system:node:n1", O: "system:nodes" })).toEqual({ username: "system:node:n1", groups: ["system:nodes"] });
    expect(userFromCertificate({ CN: "kube-apiserver-kubelet-client", O: ["system:masters", "b"] })).toEqual({ username: "kube-apiserver-kubelet-client", groups: ["system:masters", "b"] });
    expect(userFromCertificate({ O: "x" })).toBeUndefined();
  });

  it("words a denial as the kubelet does", () => {
    const a: KubeletRequestAttributes = requestAttributes({ username: "system:serviceaccount:default:viewer" }, "n1", "POST", "/exec/default/web/app");
    expect(forbiddenMessage(a)).toBe("Forbidden (user=system:serviceaccount:default:viewer, verb=create, resource=nodes, subresource=proxy)");
  });
});

describe("the kubelet's auth filter", () => {
  const tokens: TokenReviewer = (token) => Promise.resolve(token === "good" ? { user: { username: "alice", groups: ["devs"] } } : { error: "token expired" });

  it("refuses a request without credentials when anonymous access is off, and lets it in as system:anonymous when on", async () => {
    const closed = new KubeletAuth({ nodeName: "n1", anonymous: false, clientCertificates: true });
    expect(await closed.check(request("GET"), "/pods")).toMatchObject({ ok: false, code: 401, message: "Unauthorized" });
    const open = new KubeletAuth({ nodeName: "n1", anonymous: true, clientCertificates: true });
    expect(await open.check(request("GET"), "/pods")).toEqual({ ok: true, user: { username: "system:anonymous", groups: ["system:unauthenticated"] } });
  });

  it("authenticates bearer tokens with the TokenReview webhook, and refuses a bad one even with anonymous on", async () => {
    const auth = new KubeletAuth({ nodeName: "n1", anonymous: true, clientCertificates: false, tokenReviewer: tokens });
    expect(await auth.check(request("GET", { authorization: "Bearer good" }), "/pods")).toEqual({ ok: true, user: { username: "alice", groups: ["devs", "system:authenticated"] } });
    expect(await auth.check(request("GET", { authorization: "Bearer bad" }), "/pods")).toMatchObject({ ok: false, code: 401, message: "Unauthorized", reason: "token expired" });
    // Without the webhook a token means nothing: the request is anonymous.
    const noWebhook = new KubeletAuth({ nodeName: "n1", anonymous: true, clientCertificates: false });
    expect(await noWebhook.check(request("GET", { authorization: "Bearer good" }), "/pods")).toMatchObject({ ok: true, user: { username: "system:anonymous" } });
  });

  it("caches token reviews for the TTL, and does not cache a webhook that could not answer", async () => {
    const clock = new FakeClock();
    let calls = 0;
    let failing = true;
    const reviewer: TokenReviewer = (token) => {
      calls++;
      if (failing) return Promise.reject(new Error("connection refused"));
      return tokens(token);
    };
    const auth = new KubeletAuth({ nodeName: "n1", anonymous: false, clientCertificates: false, tokenReviewer: reviewer, clock, tokenCacheTtlMs: 120_000 });
    const get = (): Promise<unknown> => auth.check(request("GET", { authorization: "Bearer good" }), "/pods");
    expect(await get()).toMatchObject({ ok: false, code: 401 });
    failing = false;
    expect(await get()).toMatchObject({ ok: true });
    expect(await get()).toMatchObject({ ok: true });
    expect(calls).toBe(2);
    await clock.advance(119_999);
    await get();
    expect(calls).toBe(2);
    await clock.advance(1);
    await get();
    expect(calls).toBe(3);
  });

  it("authorizes with SubjectAccessReviews, 403 with the kubelet's message, caching allowed 5m and denied 30s", async () => {
    const clock = new FakeClock();
    const asked: KubeletRequestAttributes[] = [];
    const reviewer: AccessReviewer = (a) => {
      asked.push(a);
      return Promise.resolve({ allowed: a.user.username === "alice" && a.subresource !== "proxy", reason: "" });
    };
    const auth = new KubeletAuth({ nodeName: "n1", anonymous: false, clientCertificates: false, tokenReviewer: tokens, accessReviewer: reviewer, clock });
    const as = (method: string, path: string): Promise<unknown> => auth.check(request(method, { authorization: "Bearer good" }), path);
    expect(await as("GET", "/stats/summary")).toMatchObject({ ok: true });
    expect(await as("POST", "/exec/default/web/app")).toEqual({ ok: false, code: 403, message: "Forbidden (user=alice, verb=create, resource=nodes, subresource=proxy)", reason: "" });
    expect(asked.map((a) => [a.user.username, a.user.groups, a.verb, a.resource, a.subresource, a.name])).toEqual([
      ["alice", ["devs", "system:authenticated"], "get", "nodes", "stats", "n1"],
      ["alice", ["devs", "system:authenticated"], "create", "nodes", "proxy", "n1"],
    ]);
    await clock.advance(29_000);
    await as("GET", "/stats/summary");
    await as("POST", "/exec/default/web/app");
    expect(asked).toHaveLength(2);
    await clock.advance(1_000);
    await as("POST", "/exec/default/web/app");
    expect(asked).toHaveLength(3);
    await as("GET", "/stats/summary");
    expect(asked).toHaveLength(3);
    await clock.advance(270_000);
    await as("GET", "/stats/summary");
    expect(asked).toHaveLength(4);
  });

  it("answers 500 when the authorizer cannot be asked", async () => {
    const auth = new KubeletAuth({ nodeName: "n1", anonymous: true, clientCertificates: false, accessReviewer: () => Promise.reject(new Error("apiserver down")) });
    expect(await auth.check(request("GET"), "/metrics/cadvisor")).toMatchObject({ ok: false, code: 500, message: "Authorization error (user=system:anonymous, verb=get, resource=nodes, subresource=metrics)", reason: "apiserver down" });
  });
});
