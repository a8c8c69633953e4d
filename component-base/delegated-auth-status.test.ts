import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { DelegatedAuth, type AccessDecision, type RequestUser } from "./delegated-auth.js";
import { refusalStatus, StatusDelegatedAuth, type ReviewAttributes } from "./delegated-auth-status.js";
import { FakeClock } from "./testing/fake-clock.js";

function request(path: string, headers: Record<string, string> = {}, method = "GET"): IncomingMessage {
  const message = new IncomingMessage(new Socket());
  message.url = path;
  message.method = method;
  message.headers = headers;
  return message;
}

const pathAttributes = (_user: RequestUser, req: IncomingMessage, path: string): ReviewAttributes => ({ nonResourceAttributes: { path, verb: (req.method ?? "").toLowerCase() } });

describe("DelegatedAuth", () => {
  it("refuses a request without credentials with 401 when anonymous access is off, and calls it system:anonymous when on", async () => {
    const base = { clientCertificates: false, tokenCacheTtlMs: 0, attributesOf: pathAttributes, authorizedTtlMs: 0, unauthorizedTtlMs: 0 };
    expect(await new DelegatedAuth({ ...base, anonymous: false }).check(request("/x"))).toMatchObject({ ok: false, code: 401 });
    expect(await new DelegatedAuth({ ...base, anonymous: true }).check(request("/x"))).toEqual({ ok: true, user: { username: "system:anonymous", groups: ["system:unauthenticated"] } });
  });

  it("asks about the request's attributes, skips always-allowed paths and groups, and caches allowed and denied apart", async () => {
    const clock = new FakeClock(0);
    const asked: [string | undefined, ReviewAttributes][] = [];
    const auth = new DelegatedAuth<ReviewAttributes>({
      anonymous: true,
      clientCertificates: false,
      tokenReviewer: (token) => Promise.resolve(token === "admin" ? { user: { username: "root", groups: ["system:masters"] } } : { user: { username: token } }),
      tokenCacheTtlMs: 60_000,
      attributesOf: pathAttributes,
      accessReviewer: (user, attributes): Promise<AccessDecision> => {
        asked.push([user.username, attributes]);
        return Promise.resolve({ allowed: user.username === "alice", reason: user.username === "alice" ? "" : "no RBAC rule" });
      },
      authorizedTtlMs: 10_000,
      unauthorizedTtlMs: 1_000,
      alwaysAllowPaths: ["/healthz"],
      alwaysAllowGroups: ["system:masters"],
      clock,
    });
    const as = (token: string, path = "/metrics"): Promise<unknown> => auth.check(request(path, { authorization: `Bearer ${token}` }));
    expect(await as("alice")).toEqual({ ok: true, user: { username: "alice", groups: ["system:authenticated"] } });
    expect(await as("bob")).toMatchObject({ ok: false, code: 403, reason: "no RBAC rule", attributes: { nonResourceAttributes: { path: "/metrics", verb: "get" } } });
    expect(await as("bob", "/healthz")).toMatchObject({ ok: true });
    expect(await as("admin")).toMatchObject({ ok: true });
    expect(asked.map(([user]) => user)).toEqual(["alice", "bob"]);
    await clock.advance(2_000);
    await as("alice");
    await as("bob");
    // alice's answer is kept for 10 s, bob's denial only 1 s.
    expect(asked.map(([user]) => user)).toEqual(["alice", "bob", "bob"]);
  });

  it("allows everything without a reviewer (AlwaysAllow), and answers 500 when the reviewer cannot tell", async () => {
    const base = { anonymous: true, clientCertificates: false, tokenCacheTtlMs: 0, attributesOf: pathAttributes, authorizedTtlMs: 0, unauthorizedTtlMs: 0 };
    expect(await new DelegatedAuth(base).check(request("/anything"))).toMatchObject({ ok: true });
    const failing = new DelegatedAuth({ ...base, accessReviewer: () => Promise.reject(new Error("apiserver down")) });
    expect(await failing.check(request("/metrics"))).toMatchObject({ ok: false, code: 500, reason: "apiserver down", user: { username: "system:anonymous" } });
  });
});

describe("StatusDelegatedAuth and refusalStatus", () => {
  const user = { username: "alice" };

  it("answers a denied resource request with Kubernetes' Forbidden message and details without the empty fields", () => {
    const attributes: ReviewAttributes = { resourceAttributes: { namespace: "default", verb: "get", group: "metrics.k8s.io", version: "v1beta1", resource: "pods", subresource: "", name: "web" } };
    expect(refusalStatus({ ok: false, code: 403, user, attributes, reason: "" }, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web")).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'pods.metrics.k8s.io "web" is forbidden: User "alice" cannot get resource "pods" in API group "metrics.k8s.io" in the namespace "default"',
      reason: "Forbidden",
      details: { group: "metrics.k8s.io", kind: "pods", name: "web" },
      code: 403,
    });
    const core: ReviewAttributes = { resourceAttributes: { verb: "list", group: "", resource: "nodes", subresource: "stats" } };
    expect(refusalStatus({ ok: false, code: 403, user, attributes: core, reason: "RBAC says no" }, "/api/v1/nodes")).toMatchObject({
      message: 'nodes is forbidden: User "alice" cannot list resource "nodes/stats" in API group "" at the cluster scope: RBAC says no',
      details: { kind: "nodes" },
    });
  });

  it("answers a denied path with empty details, a failed review with InternalError naming the request URI", () => {
    const attributes: ReviewAttributes = { nonResourceAttributes: { path: "/metrics", verb: "get" } };
    expect(refusalStatus({ ok: false, code: 403, user, attributes, reason: "" }, "/metrics")).toMatchObject({ message: 'forbidden: User "alice" cannot get path "/metrics"', details: {} });
    expect(refusalStatus({ ok: false, code: 500, user, attributes, reason: "timeout" }, "/metrics?x=1")).toMatchObject({ code: 500, reason: "InternalError", message: 'Internal Server Error: "/metrics?x=1": timeout' });
    expect(refusalStatus({ ok: false, code: 401, reason: "bad token" }, "/metrics")).toMatchObject({ code: 401, reason: "Unauthorized", message: "Unauthorized" });
  });

  it("turns the verdict into a Status for check()", async () => {
    const auth = new StatusDelegatedAuth({ anonymous: false, clientCertificates: false, tokenCacheTtlMs: 0, attributesOf: pathAttributes, authorizedTtlMs: 0, unauthorizedTtlMs: 0 });
    expect(await auth.check(request("/metrics"))).toMatchObject({ ok: false, code: 401, status: { reason: "Unauthorized" }, reason: "no credentials and anonymous access is off" });
  });
});
