// The aggregation layer's front-proxy authentication on a real apiserver process started with kubeadm's flags (the
// test launcher's apiserverSecureOptionsFromPki: --requestheader-* and --proxy-client-* from the run's PKI) and an
// APIService whose backend is an HTTPS server in this test. The backend trusts the apiserver as an extension
// apiserver does: it reads kube-system/extension-apiserver-authentication and authenticates each request with
// component-base's requestheader authenticator, so what it records is what the aggregator asserted with its
// front-proxy-client certificate. The apiserver itself accepts the same certificate and headers (requestheader
// first in its chain) and ignores the headers on any other certificate.
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueCertificate } from "../../component-base/pki/certificates.js";
import { readCertificateAuthority } from "../../component-base/pki/files.js";
import { RequestHeaderAuthenticator, type ProxiedUser, type RequestHeaderResult } from "../../component-base/requestheader.js";
import { startApiServerProcess, type ApiServerProcess } from "../../test/support/apiserver.js";
import { startEtcd, type EtcdHandle } from "../../test/support/etcd.js";
import { call, type ApiTarget } from "../../test/support/http.js";
import { testPki, type TestPki } from "../../test/support/pki.js";
import { testProcesses } from "../../test/support/processes.js";
import { waitFor } from "../../test/support/wait.js";

let etcd: EtcdHandle | undefined;
let api: ApiServerProcess | undefined;
let pki: TestPki;
let admin: ApiTarget;
let backend: Server | undefined;
/** What the backend made of each request it got, by path. */
const seen: { path: string; user: RequestHeaderResult | null; remoteHeaders: string[] }[] = [];

const GROUP = "frontproxy.kubelab.dev";

/** An address of this host the apiserver may dial as an Endpoints address (not loopback). */
function hostAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error("no non-loopback IPv4 address");
}

beforeAll(async () => {
  etcd = await startEtcd();
  pki = await testPki();
  api = await startApiServerProcess(etcd.endpoint);
  admin = api.api;
}, 60_000);

afterAll(async () => {
  backend?.close();
  await api?.stop("SIGKILL");
  await etcd?.destroy();
});

describe("front-proxy authentication (requestheader)", () => {
  it("publishes kube-system/extension-apiserver-authentication as Kubernetes writes it, and the Role to read it", async () => {
    const reply = await call<{ data: Record<string, string> }>(admin, "GET", "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication");
    expect(reply.status).toBe(200);
    const data = reply.body.data;
    expect(Object.keys(data).sort()).toEqual(["client-ca-file", "requestheader-allowed-names", "requestheader-client-ca-file", "requestheader-extra-headers-prefix", "requestheader-group-headers", "requestheader-username-headers"]);
    expect(data["requestheader-allowed-names"]).toBe('["front-proxy-client"]');
    expect(data["requestheader-username-headers"]).toBe('["X-Remote-User"]');
    expect(data["requestheader-group-headers"]).toBe('["X-Remote-Group"]');
    expect(data["requestheader-extra-headers-prefix"]).toBe('["X-Remote-Extra-"]');
    expect(data["client-ca-file"]?.trim()).toBe(readFileSync(pki.paths.caCert, "utf8").trim());
    expect(data["requestheader-client-ca-file"]?.trim()).toBe(readFileSync(pki.paths.frontProxyCaCert, "utf8").trim());
    const role = await call<{ rules: unknown[] }>(admin, "GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles/extension-apiserver-authentication-reader");
    expect(role.body.rules).toEqual([{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["extension-apiserver-authentication"], verbs: ["get", "list", "watch"] }]);
    const binding = await call(admin, "GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings/system::extension-apiserver-authentication-reader");
    expect(binding.status).toBe(200);
  });

  it("sends an APIService backend the request's user in X-Remote-* headers, with its front-proxy client certificate", async () => {
    // The backend's configuration comes from the published ConfigMap, as delegated authentication reads it.
    const { body } = await call<{ data: Record<string, string> }>(admin, "GET", "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication");
    const list = (key: string): string[] => JSON.parse(body.data[key] ?? "[]") as string[];
    const authenticator = new RequestHeaderAuthenticator({
      clientCaPem: body.data["requestheader-client-ca-file"] ?? "",
      allowedNames: list("requestheader-allowed-names"),
      usernameHeaders: list("requestheader-username-headers"),
      groupHeaders: list("requestheader-group-headers"),
      extraHeadersPrefixes: list("requestheader-extra-headers-prefix"),
    });
    const address = hostAddress();
    const serving = await issueCertificate(readCertificateAuthority(pki.paths.caCert, pki.paths.caKey), { commonName: "frontproxy-backend", usage: "server", ipAddresses: [address] });
    const server = createServer({ cert: serving.certPem, key: serving.keyPem, ca: body.data["requestheader-client-ca-file"], requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const path = new URL(req.url ?? "/", "https://backend").pathname;
      const result = authenticator.authenticate(req);
      seen.push({ path, user: result ?? null, remoteHeaders: Object.keys(req.headers).filter((h) => h.startsWith("x-remote-")) });
      res.setHeader("Content-Type", "application/json");
      if (path === `/apis/${GROUP}/v1`) {
        res.end(JSON.stringify({ kind: "APIResourceList", apiVersion: "v1", groupVersion: `${GROUP}/v1`, resources: [{ name: "whoamis", singularName: "whoami", namespaced: false, kind: "WhoAmI", verbs: ["get"] }] }));
        return;
      }
      res.end(JSON.stringify({ kind: "WhoAmI", apiVersion: `${GROUP}/v1`, metadata: { name: "me" }, result: result ?? null }));
    });
    backend = server;
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    const port = (server.address() as AddressInfo).port;
    const caBundle = readFileSync(pki.paths.caCert).toString("base64");
    expect((await call(admin, "POST", "/api/v1/namespaces/default/services", { apiVersion: "v1", kind: "Service", metadata: { name: "frontproxy" }, spec: { ports: [{ name: "https", port: 443, targetPort: port }] } })).status).toBe(201);
    expect((await call(admin, "POST", "/api/v1/namespaces/default/endpoints", { apiVersion: "v1", kind: "Endpoints", metadata: { name: "frontproxy" }, subsets: [{ addresses: [{ ip: address }], ports: [{ name: "https", port }] }] })).status).toBe(201);
    expect((await call(admin, "POST", "/apis/apiregistration.k8s.io/v1/apiservices", { apiVersion: "apiregistration.k8s.io/v1", kind: "APIService", metadata: { name: `v1.${GROUP}` }, spec: { group: GROUP, version: "v1", service: { name: "frontproxy", namespace: "default", port: 443 }, caBundle, groupPriorityMinimum: 100, versionPriority: 100 } })).status).toBe(201);
    await waitFor("the APIService to be Available", async () => {
      const reply = await call<{ status?: { conditions?: { type: string; status: string }[] } }>(admin, "GET", `/apis/apiregistration.k8s.io/v1/apiservices/v1.${GROUP}`);
      return reply.body.status?.conditions?.some((c) => c.type === "Available" && c.status === "True") === true ? true : undefined;
    }, 20_000);
    // The availability check speaks as the aggregator itself.
    expect(seen.find((s) => s.path === `/apis/${GROUP}/v1`)?.user).toEqual({ user: { username: "system:kube-aggregator", groups: ["system:masters"], extra: {} } });

    // The admin (client certificate, O=system:masters), trying to assert another user itself: its headers are dropped.
    const reply = await call<{ result: { user: ProxiedUser } }>(admin, "GET", `/apis/${GROUP}/v1/whoamis/me`, undefined, { headers: { "X-Remote-User": "mallory", "X-Remote-Group": "evil", "X-Remote-Extra-Scopes": "all" } });
    expect(reply.status).toBe(200);
    const user = reply.body.result.user;
    expect(user.username).toBe("kubernetes-admin");
    expect(user.groups).toEqual(["system:masters", "system:authenticated"]);
    expect(Object.keys(user.extra)).toEqual(["authentication.kubernetes.io/credential-id"]);
    expect(user.extra["authentication.kubernetes.io/credential-id"]?.[0]).toMatch(/^X509SHA256=[0-9a-f]{64}$/);
    expect(seen.at(-1)?.remoteHeaders).toEqual([]); // the backend's authenticator cleared what it read

    // Impersonation (and then authorization, of bob) is settled before the proxy: the backend sees the impersonated user.
    const as = await call<{ result: { user: ProxiedUser } }>(admin, "GET", `/apis/${GROUP}/v1/whoamis/me`, undefined, { headers: { "Impersonate-User": "bob", "Impersonate-Group": "system:masters" } });
    expect(as.body.result.user).toEqual({ username: "bob", groups: ["system:masters", "system:authenticated"], extra: {} });
    expect((await call(admin, "GET", `/apis/${GROUP}/v1/whoamis/me`, undefined, { headers: { "Impersonate-User": "carol" } })).status).toBe(403);
  });

  it("lets the front-proxy certificate assert a user to the apiserver itself, and no other certificate", async () => {
    const whoami = async (target: ApiTarget, headers: Record<string, string>): Promise<{ status: number; user?: unknown }> => {
      const reply = await call<{ status?: { userInfo?: unknown } }>(target, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }, { headers });
      return { status: reply.status, ...(reply.body.status?.userInfo !== undefined ? { user: reply.body.status.userInfo } : {}) };
    };
    const proxy: ApiTarget = { url: admin.url, caFile: pki.paths.caCert, certFile: pki.paths.frontProxyClientCert, keyFile: pki.paths.frontProxyClientKey };
    expect(await whoami(proxy, { "X-Remote-User": "alice", "X-Remote-Group": "devs", "X-Remote-Extra-Scopes": "a" })).toEqual({ status: 201, user: { username: "alice", groups: ["devs", "system:authenticated"], extra: { scopes: ["a"] } } });
    // Without a username header the front-proxy certificate is nobody: its CA is not --client-ca-file's.
    expect((await whoami(proxy, {})).status).toBe(401);
    // A certificate of the cluster CA named front-proxy-client is that user; its headers assert nothing.
    const impostor = await issueCertificate(readCertificateAuthority(pki.paths.caCert, pki.paths.caKey), { commonName: "front-proxy-client", usage: "client" });
    const dir = testProcesses.tempDir("frontproxy-impostor-", tmpdir());
    writeFileSync(join(dir, "c.crt"), impostor.certPem);
    writeFileSync(join(dir, "c.key"), impostor.keyPem);
    const other = await whoami({ url: admin.url, caFile: pki.paths.caCert, certFile: join(dir, "c.crt"), keyFile: join(dir, "c.key") }, { "X-Remote-User": "alice", "X-Remote-Group": "system:masters" });
    expect(other.status).toBe(201);
    expect(other.user).toMatchObject({ username: "front-proxy-client", groups: ["system:authenticated"] });
  });
});
