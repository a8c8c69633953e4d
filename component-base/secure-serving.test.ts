import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessDecision, RequestUser, TokenReviewer } from "./delegated-auth.js";
import { createLogger } from "./logging.js";
import { createRegistry } from "./metrics.js";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "./pki/certificates.js";
import { alwaysAllowPathMatcher, DEFAULT_ALWAYS_ALLOW_PATHS, DelegatingAuth, servingPair, startSecureServer, type PathAccessReviewer } from "./secure-serving.js";
import { healthRequestListener, type HealthServer } from "./server.js";
import { FakeClock } from "./testing/fake-clock.js";

const logger = createLogger("test", { level: "silent" });

interface Reply {
  code: number;
  body: string;
}

/** A GET over HTTPS that trusts `ca`, with an optional bearer token or client certificate. */
function get(port: number, path: string, ca: string, opts: { token?: string; client?: CertificateAndKey } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        ca,
        servername: "localhost",
        headers: opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {},
        ...(opts.client ? { cert: opts.client.certPem, key: opts.client.keyPem } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ code: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Tokens: "viewer" is allowed /metrics (the apiserver's answer), "nobody" is not, anything else is invalid. */
const tokens: TokenReviewer = (token) =>
  Promise.resolve(
    token === "viewer" ? { user: { username: "prometheus", groups: ["monitoring"] } } : token === "nobody" ? { user: { username: "nobody" } } : { error: "token not recognized" },
  );
const reviews: { user: RequestUser; verb: string; path: string }[] = [];
const apiserver: PathAccessReviewer = (user, verb, path) => {
  reviews.push({ user, verb, path });
  const allowed = (user.groups ?? []).includes("monitoring") && path === "/metrics" && verb === "get";
  return Promise.resolve<AccessDecision>({ allowed, reason: allowed ? "allowed by ClusterRoleBinding" : "" });
};

describe("the secure port's delegated authentication and authorization", () => {
  let server: HealthServer;
  let pair: { certPem: string; keyPem: string };
  let clientCa: CertificateAndKey;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "secure-serving-"));
    pair = await servingPair({ certDir: "", tlsCertFile: "", tlsPrivateKeyFile: "" }, "kube-scheduler");
    clientCa = await createCertificateAuthority("test-client-ca");
    const auth = new DelegatingAuth({ clientCertificates: true, tokenReviewer: tokens, accessReviewer: apiserver, alwaysAllowPaths: DEFAULT_ALWAYS_ALLOW_PATHS, tokenCacheTtlMs: 10_000, authorizedTtlMs: 10_000, unauthorizedTtlMs: 10_000 });
    const registry = createRegistry();
    server = await startSecureServer({ port: 0, bindAddress: "127.0.0.1", pair, clientCaPem: clientCa.certPem, auth, handler: healthRequestListener({ registry, logger }), logger });
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves /healthz, /readyz and /livez to anyone, without asking the apiserver", async () => {
    reviews.length = 0;
    for (const path of ["/healthz", "/readyz", "/livez"]) expect(await get(server.port, path, pair.certPem)).toEqual({ code: 200, body: "ok" });
    expect(reviews).toEqual([]);
  });

  it("forbids /metrics to system:anonymous with Kubernetes' Status", async () => {
    const reply = await get(server.port, "/metrics", pair.certPem);
    expect(reply.code).toBe(403);
    expect(JSON.parse(reply.body)).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: 'forbidden: User "system:anonymous" cannot get path "/metrics"', reason: "Forbidden", details: {}, code: 403 });
    // A path below an always-allowed one is not always allowed (Kubernetes matches exactly).
    expect((await get(server.port, "/healthz/ping", pair.certPem)).code).toBe(403);
  });

  it("answers 401 for a bearer token the apiserver does not recognize", async () => {
    const reply = await get(server.port, "/metrics", pair.certPem, { token: "stolen" });
    expect(reply.code).toBe(401);
    expect(JSON.parse(reply.body)).toMatchObject({ kind: "Status", status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });
  });

  it("forbids /metrics to an authenticated identity the apiserver does not allow, and serves it to one it allows", async () => {
    const denied = await get(server.port, "/metrics", pair.certPem, { token: "nobody" });
    expect(denied.code).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ message: 'forbidden: User "nobody" cannot get path "/metrics"' });
    const allowed = await get(server.port, "/metrics", pair.certPem, { token: "viewer" });
    expect(allowed.code).toBe(200);
    expect(allowed.body).toContain("# HELP");
    expect(reviews.at(-1)).toEqual({ user: { username: "prometheus", groups: ["monitoring", "system:authenticated"] }, verb: "get", path: "/metrics" });
  });

  it("authenticates a client certificate from the client CA, and refuses one from another CA with 401", async () => {
    const client = await issueCertificate(clientCa, { commonName: "scraper", organizations: ["monitoring"], usage: "client" });
    const allowed = await get(server.port, "/metrics", pair.certPem, { client });
    expect(allowed.code).toBe(200);
    const otherCa = await createCertificateAuthority("other-ca");
    const stranger = await issueCertificate(otherCa, { commonName: "scraper", organizations: ["monitoring"], usage: "client" });
    expect((await get(server.port, "/metrics", pair.certPem, { client: stranger })).code).toBe(401);
  });

  it("lets system:masters in without a SubjectAccessReview", async () => {
    const admin = await issueCertificate(clientCa, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client" });
    reviews.length = 0;
    expect((await get(server.port, "/metrics", pair.certPem, { client: admin })).code).toBe(200);
    expect(reviews).toEqual([]);
  });

  it("keeps a self-signed pair in --cert-dir and reuses it", async () => {
    const first = await servingPair({ certDir: dir, tlsCertFile: "", tlsPrivateKeyFile: "" }, "kube-controller-manager");
    expect(first.source).toBe(join(dir, "kube-controller-manager.crt"));
    expect(readFileSync(join(dir, "kube-controller-manager.crt"), "utf8")).toBe(first.certPem);
    const second = await servingPair({ certDir: dir, tlsCertFile: "", tlsPrivateKeyFile: "" }, "kube-controller-manager");
    expect(second.certPem).toBe(first.certPem);
    await expect(servingPair({ certDir: "", tlsCertFile: join(dir, "kube-controller-manager.crt"), tlsPrivateKeyFile: "" }, "x")).rejects.toThrow("--tls-cert-file and --tls-private-key-file must be given together");
  });
});

describe("the secure port's caches and path matching", () => {
  const req = (path: string, token?: string): IncomingMessage => {
    const message = new IncomingMessage(new Socket());
    message.url = path;
    message.method = "GET";
    message.headers = token !== undefined ? { authorization: `Bearer ${token}` } : {};
    return message;
  };

  it("caches token reviews and decisions for their TTLs, and never caches an apiserver that could not answer", async () => {
    const clock = new FakeClock();
    let tokenCalls = 0;
    let accessCalls = 0;
    let reachable = false;
    const auth = new DelegatingAuth({
      clientCertificates: false,
      tokenReviewer: (token) => {
        tokenCalls++;
        return tokens(token);
      },
      accessReviewer: (user, verb, path) => {
        accessCalls++;
        return reachable ? apiserver(user, verb, path) : Promise.reject(new Error("connection refused"));
      },
      alwaysAllowPaths: [],
      tokenCacheTtlMs: 10_000,
      authorizedTtlMs: 10_000,
      unauthorizedTtlMs: 5_000,
      clock,
    });
    expect(await auth.check(req("/metrics", "viewer"))).toMatchObject({ ok: false, code: 500, status: { reason: "InternalError" } });
    reachable = true;
    expect(await auth.check(req("/metrics", "viewer"))).toMatchObject({ ok: true });
    expect(await auth.check(req("/metrics", "viewer"))).toMatchObject({ ok: true });
    expect([tokenCalls, accessCalls]).toEqual([1, 2]);
    await clock.advance(10_001);
    expect(await auth.check(req("/metrics", "viewer"))).toMatchObject({ ok: true });
    expect([tokenCalls, accessCalls]).toEqual([2, 3]);
  });

  it("matches always-allowed paths exactly, or by a trailing * prefix, comma-separated like pflag's string slices", () => {
    const allowed = alwaysAllowPathMatcher(["/healthz,/metrics/*", "/readyz"]);
    expect(["/healthz", "/readyz", "/metrics/slis", "/metrics/"].map(allowed)).toEqual([true, true, true, true]);
    expect(["/healthz/ping", "/metrics", "/livez", "/"].map(allowed)).toEqual([false, false, false, false]);
    expect(() => alwaysAllowPathMatcher(["/a*/b"])).toThrow("only trailing * allowed");
  });
});
