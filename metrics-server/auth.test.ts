import type { OutgoingHttpHeaders } from "node:http";
import { createServer, request as httpsRequest, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SubjectAccessReviewSpec } from "../api/types/index.js";
import { reviewAccess } from "../client/auth-reviews.js";
import { CachedAccessReviewer } from "../component-base/delegated-auth.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { silentLogger } from "../component-base/logging.js";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "../component-base/pki/certificates.js";
import { DelegatedAuth, requestAttributes } from "./auth.js";

describe("metrics-server's request attributes (Kubernetes' RequestInfo)", () => {
  it.each([
    ["GET", "/apis/metrics.k8s.io/v1beta1/nodes", { resourceAttributes: { namespace: "", verb: "list", group: "metrics.k8s.io", version: "v1beta1", resource: "nodes", subresource: "", name: "" } }],
    ["GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1", { resourceAttributes: { namespace: "", verb: "get", group: "metrics.k8s.io", version: "v1beta1", resource: "nodes", subresource: "", name: "n1" } }],
    ["GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?watch=true", { resourceAttributes: { namespace: "default", verb: "watch", group: "metrics.k8s.io", version: "v1beta1", resource: "pods", subresource: "", name: "" } }],
    ["GET", "/apis/metrics.k8s.io/v1beta1", { nonResourceAttributes: { path: "/apis/metrics.k8s.io/v1beta1", verb: "get" } }],
    ["HEAD", "/metrics", { nonResourceAttributes: { path: "/metrics", verb: "get" } }],
  ])("%s %s", (method, path, expected) => {
    expect(requestAttributes(method, new URL(path, "https://x"))).toEqual(expected);
  });
});

describe("metrics-server's authorizer: reviewAccess behind CachedAccessReviewer", () => {
  it("asks the apiserver once per spec within the cache's 10 s, then again", async () => {
    const asked: unknown[] = [];
    const clock = new FakeClock(0);
    const client = {
      create: <T,>(_info: unknown, _ns: unknown, obj: T): Promise<T> => {
        asked.push(obj);
        return Promise.resolve({ ...obj, status: { allowed: true } } as T);
      },
    };
    const authorizer = new CachedAccessReviewer((spec: SubjectAccessReviewSpec) => reviewAccess(client, spec), { keyOf: (spec) => JSON.stringify(spec), authorizedTtlMs: 10_000, unauthorizedTtlMs: 10_000, clock });
    const spec: SubjectAccessReviewSpec = { user: "alice", groups: ["devs"], nonResourceAttributes: { path: "/x", verb: "get" } };
    expect(await authorizer.authorize(spec)).toEqual({ allowed: true, reason: "" });
    await clock.advance(9_000);
    await authorizer.authorize(spec);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec });
    await clock.advance(1_001);
    await authorizer.authorize(spec);
    expect(asked).toHaveLength(2);
  });
});

describe("DelegatedAuth on metrics-server's HTTPS port", () => {
  let proxyCa: CertificateAndKey;
  let otherCa: CertificateAndKey;
  let proxyClient: CertificateAndKey;
  let otherClient: CertificateAndKey;
  let server: Server;
  let port: number;
  const reviews: SubjectAccessReviewSpec[] = [];

  beforeAll(async () => {
    [proxyCa, otherCa] = await Promise.all([createCertificateAuthority("front-proxy-ca"), createCertificateAuthority("kubernetes")]);
    const serving = await issueCertificate(otherCa, { commonName: "metrics-server", usage: "server", ipAddresses: ["127.0.0.1"] });
    [proxyClient, otherClient] = await Promise.all([issueCertificate(proxyCa, { commonName: "front-proxy-client", usage: "client" }), issueCertificate(otherCa, { commonName: "front-proxy-client", usage: "client" })]);
    const auth = new DelegatedAuth({
      requestHeader: { clientCaPem: proxyCa.certPem, allowedNames: ["front-proxy-client"], usernameHeaders: ["x-remote-user"], groupHeaders: ["x-remote-group"], extraHeadersPrefixes: ["x-remote-extra-"] },
      // RBAC stand-in: alice may list nodes' metrics, nobody else anything.
      authorizer: {
        authorize: (spec) => {
          reviews.push(spec);
          return Promise.resolve({ allowed: spec.user === "alice" && spec.resourceAttributes?.resource === "nodes", reason: "" });
        },
      },
      alwaysAllowPaths: ["/healthz", "/readyz", "/livez"],
      logger: silentLogger(),
    });
    server = createServer({ cert: serving.certPem, key: serving.keyPem, ca: proxyCa.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      void auth.admit(req, res).then((ok) => {
        if (ok) res.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.close();
  });

  function get(path: string, client: CertificateAndKey | undefined, headers: OutgoingHttpHeaders = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: "127.0.0.1", port, path, ca: otherCa.certPem, headers, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => { resolve({ status: res.statusCode ?? 0, body }); });
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("serves the front proxy's user when the SubjectAccessReview allows it", async () => {
    reviews.length = 0;
    expect(await get("/apis/metrics.k8s.io/v1beta1/nodes", proxyClient, { "X-Remote-User": "alice", "X-Remote-Group": "devs", "X-Remote-Extra-Scopes": "s" })).toEqual({ status: 200, body: "ok" });
    expect(reviews).toEqual([{ user: "alice", groups: ["devs", "system:authenticated"], extra: { scopes: ["s"] }, resourceAttributes: { namespace: "", verb: "list", group: "metrics.k8s.io", version: "v1beta1", resource: "nodes", subresource: "", name: "" } }]);
  });

  it("answers 403 with Kubernetes' message when the review denies", async () => {
    const reply = await get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web", proxyClient, { "X-Remote-User": "alice" });
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toMatchObject({ kind: "Status", reason: "Forbidden", code: 403, message: 'pods.metrics.k8s.io "web" is forbidden: User "alice" cannot get resource "pods" in API group "metrics.k8s.io" in the namespace "default"', details: { group: "metrics.k8s.io", kind: "pods", name: "web" } });
  });

  it("answers 401 to headers on a certificate of another CA, and reviews a request without one as system:anonymous", async () => {
    const forged = await get("/apis/metrics.k8s.io/v1beta1/nodes", otherClient, { "X-Remote-User": "alice" });
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.body)).toMatchObject({ reason: "Unauthorized", code: 401 });
    reviews.length = 0;
    expect((await get("/apis/metrics.k8s.io/v1beta1/nodes", undefined, { "X-Remote-User": "alice" })).status).toBe(403);
    expect(reviews[0]).toMatchObject({ user: "system:anonymous", groups: ["system:unauthenticated"] });
  });

  it("lets the health paths through without a review", async () => {
    reviews.length = 0;
    expect((await get("/readyz", undefined)).status).toBe(200);
    expect(reviews).toEqual([]);
  });
});
