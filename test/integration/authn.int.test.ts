// The apiserver's secure port against the real kubectl: client certificates made by component-base/pki, a static
// token file, anonymous requests, impersonation (`kubectl --as`), 401 and 403 in Kubernetes' words, and the
// self-signed serving pair made in --cert-dir.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { request as httpsRequest } from "node:https";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "../../component-base/pki/certificates.js";
import { runKubectl, startApiServerProcess, waitFor, type ApiServerProcess, type KubectlResult } from "../support/apiserver.js";
import { freePort, startEtcd, type EtcdHandle } from "../support/etcd.js";
import { testProcesses } from "../support/processes.js";

const TOKEN = "authn-static-token-1";
const b64 = (text: string): string => Buffer.from(text).toString("base64");

let etcd: EtcdHandle;
let work: string;
let ca: CertificateAndKey;
let open: { api: ApiServerProcess; url: string; caPem: string };
let deny: { api: ApiServerProcess; url: string; caPem: string };

/** A kubeconfig for `server` trusting `caPem`, as a client certificate or a token user (or nobody). */
function kubeconfig(name: string, server: string, caPem: string, user: { cert?: CertificateAndKey; token?: string }): string {
  const fields = [
    ...(user.cert ? [`client-certificate-data: ${b64(user.cert.certPem)}`, `client-key-data: ${b64(user.cert.keyPem)}`] : []),
    ...(user.token ? [`token: ${user.token}`] : []),
  ];
  const path = join(work, `${name}.kubeconfig`);
  writeFileSync(path, [
    "apiVersion: v1",
    "kind: Config",
    `clusters: [{name: c, cluster: {server: "${server}", certificate-authority-data: ${b64(caPem)}}}]`,
    `users: [{name: u, user: {${fields.join(", ")}}}]`,
    "contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]",
    "current-context: c",
    "",
  ].join("\n"), { mode: 0o600 });
  return path;
}

function kubectl(config: string, args: string[], allowFailure = false): Promise<KubectlResult> {
  return runKubectl(["--kubeconfig", config, "--cache-dir", join(work, `cache-${config.split("/").pop() ?? ""}`), ...args], { allowFailure });
}

/** A raw HTTPS request (no client certificate unless given; a POST when there is a body): status and body. */
function raw(url: string, caPem: string, path: string, headers: Record<string, string> = {}, cert?: CertificateAndKey, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const method = body === undefined ? "GET" : "POST";
    const sent = body === undefined ? {} : { "Content-Type": "application/json" };
    const req = httpsRequest(`${url}${path}`, { method, ca: caPem, headers: { ...sent, ...headers }, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => { resolve({ status: res.statusCode ?? 0, body }); });
    });
    // An upgrade the server refuses is answered as a plain response; an accepted one would be a bug here.
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: "" });
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function secureApiserver(args: string[]): Promise<{ api: ApiServerProcess; url: string }> {
  const port = await freePort();
  const api = await startApiServerProcess(etcd.endpoint, [`--secure-port=${port}`, "--bind-address=127.0.0.1", ...args]);
  return { api, url: `https://127.0.0.1:${port}` };
}

beforeAll(async () => {
  etcd = await startEtcd();
  work = testProcesses.tempDir("authn-test-", tmpdir());
  ca = await createCertificateAuthority("authn-test-ca");
  const serving = await issueCertificate(ca, { commonName: "kube-apiserver", usage: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  for (const [file, text] of [["ca.crt", ca.certPem], ["apiserver.crt", serving.certPem], ["apiserver.key", serving.keyPem], ["tokens.csv", `${TOKEN},token-user,1001,"ops,dev"\n`]] as const) {
    writeFileSync(join(work, file), text, { mode: 0o600 });
  }
  const common = [`--client-ca-file=${join(work, "ca.crt")}`, `--token-auth-file=${join(work, "tokens.csv")}`];
  const first = await secureApiserver([...common, `--tls-cert-file=${join(work, "apiserver.crt")}`, `--tls-private-key-file=${join(work, "apiserver.key")}`]);
  open = { ...first, caPem: ca.certPem };
  const certDir = join(work, "deny-certs");
  const second = await secureApiserver([...common, "--authorization-mode=AlwaysDeny", "--anonymous-auth=false", `--cert-dir=${certDir}`]);
  deny = { ...second, caPem: readFileSync(join(certDir, "apiserver.crt"), "utf8") };
}, 60_000);

afterAll(async () => {
  await open?.api.stop("SIGKILL");
  await deny?.api.stop("SIGKILL");
  await etcd?.destroy();
});

describe("authentication on the secure port", () => {
  it("reads the user and groups from a client certificate's CN and O (kubectl auth whoami)", async () => {
    const jane = await issueCertificate(ca, { commonName: "authn-jane", organizations: ["devs", "qa"], usage: "client" });
    const config = kubeconfig("jane", open.url, open.caPem, { cert: jane });
    const table = await kubectl(config, ["auth", "whoami"]);
    expect(table.stdout).toMatch(/Username\s+authn-jane\n/);
    expect(table.stdout).toMatch(/Groups\s+\[devs qa system:authenticated\]\n/);
    const json = JSON.parse((await kubectl(config, ["auth", "whoami", "-o", "json"])).stdout) as { status: { userInfo: { username: string; groups: string[]; extra: Record<string, string[]> } } };
    expect(json.status.userInfo.extra["authentication.kubernetes.io/credential-id"]?.[0]).toMatch(/^X509SHA256=[0-9a-f]{64}$/);
    // The user is recorded as the requester of a CertificateSigningRequest.
    const keyFile = join(work, "csr.key");
    writeFileSync(keyFile, generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const csrPem = execFileSync("openssl", ["req", "-new", "-key", keyFile, "-subj", "/CN=authn-jane"], { encoding: "utf8" });
    const request = `apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {name: authn-csr}\nspec: {request: ${b64(csrPem)}, signerName: example.com/x, usages: [client auth]}\n`;
    const file = join(work, "csr.yaml");
    writeFileSync(file, request);
    await kubectl(config, ["create", "-f", file]);
    const stored = JSON.parse((await kubectl(config, ["get", "csr", "authn-csr", "-o", "json"])).stdout) as { spec: { username: string; groups: string[] } };
    expect(stored.spec).toMatchObject({ username: "authn-jane", groups: ["devs", "qa", "system:authenticated"] });
  });

  it("reads a token from --token-auth-file", async () => {
    const config = kubeconfig("token", open.url, open.caPem, { token: TOKEN });
    const json = JSON.parse((await kubectl(config, ["auth", "whoami", "-o", "json"])).stdout) as { status: { userInfo: unknown } };
    expect(json.status.userInfo).toEqual({ username: "token-user", uid: "1001", groups: ["ops", "dev", "system:authenticated"] });
    expect((await kubectl(config, ["get", "namespaces", "default", "-o", "name"])).stdout).toBe("namespace/default\n");
  });

  it("treats a request without credentials as system:anonymous, and answers a failed credential with 401", async () => {
    const review = { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" };
    const whoami = await raw(open.url, open.caPem, "/apis/authentication.k8s.io/v1/selfsubjectreviews", {}, undefined, review);
    expect(whoami.status).toBe(201);
    expect((JSON.parse(whoami.body) as { status: { userInfo: unknown } }).status.userInfo).toEqual({ username: "system:anonymous", groups: ["system:unauthenticated"] });
    expect(await raw(open.url, open.caPem, "/readyz")).toEqual({ status: 200, body: "ok" });

    const wrong = await kubectl(kubeconfig("wrong-token", open.url, open.caPem, { token: "not-a-token" }), ["get", "pods"], true);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("error: You must be logged in to the server (the server has asked for the client to provide credentials)");
    const unauthorized = await raw(open.url, open.caPem, "/api/v1/namespaces/default/pods", { Authorization: "Bearer not-a-token" });
    expect(unauthorized.status).toBe(401);
    expect(JSON.parse(unauthorized.body)).toEqual({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 });

    const rogueCa = await createCertificateAuthority("authn-rogue-ca");
    const rogue = await issueCertificate(rogueCa, { commonName: "mallory", organizations: ["system:masters"], usage: "client" });
    expect((await raw(open.url, open.caPem, "/api/v1/namespaces", {}, rogue)).status).toBe(401);
    expect(open.api.logs()).toContain("Unable to authenticate the request");
  });

  it("impersonates with kubectl --as and --as-group", async () => {
    const admin = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client" });
    const config = kubeconfig("admin", open.url, open.caPem, { cert: admin });
    const as = JSON.parse((await kubectl(config, ["auth", "whoami", "-o", "json", "--as=authn-bob", "--as-group=viewers", "--as-uid=7"])).stdout) as { status: { userInfo: unknown } };
    expect(as.status.userInfo).toEqual({ username: "authn-bob", uid: "7", groups: ["viewers", "system:authenticated"] });
    const sa = JSON.parse((await kubectl(config, ["auth", "whoami", "-o", "json", "--as=system:serviceaccount:default:builder"])).stdout) as { status: { userInfo: unknown } };
    expect(sa.status.userInfo).toEqual({ username: "system:serviceaccount:default:builder", groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"] });
  });

  it("keeps the insecure port as it was: the unsecured superuser", async () => {
    const config = join(work, "insecure.kubeconfig");
    writeFileSync(config, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${open.api.url}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`);
    const json = JSON.parse((await kubectl(config, ["auth", "whoami", "-o", "json"])).stdout) as { status: { userInfo: unknown } };
    expect(json.status.userInfo).toEqual({ username: "system:unsecured", groups: ["system:masters", "system:authenticated"] });
  });
});

describe("authorization on the secure port (--authorization-mode=AlwaysDeny, --anonymous-auth=false)", () => {
  it("refuses a request without credentials with 401, API paths, health endpoints and upgrades alike", async () => {
    for (const path of ["/api/v1/namespaces/default/pods", "/readyz"]) expect((await raw(deny.url, deny.caPem, path)).status).toBe(401);
    const upgrade = await raw(deny.url, deny.caPem, "/api/v1/namespaces/default/pods?watch=true", { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" });
    expect(upgrade.status).toBe(401);
  });

  it("serves a self-signed pair made in --cert-dir for the apiserver's names", async () => {
    expect(deny.caPem).toMatch(/BEGIN CERTIFICATE/);
    // raw() verifies the server against that pair's CA (the chain's last certificate) and 127.0.0.1.
    expect((await raw(deny.url, deny.caPem, "/version", { Authorization: `Bearer ${TOKEN}` })).status).toBe(403);
  });

  it("answers 403 in Kubernetes' words and logs each denial", async () => {
    const config = kubeconfig("deny-token", deny.url, deny.caPem, { token: TOKEN });
    // Discovery is refused too, so kubectl asks by path.
    const pods = await kubectl(config, ["get", "--raw", "/api/v1/namespaces/default/pods"], true);
    expect(pods.stderr).toContain('Error from server (Forbidden): pods is forbidden: User "token-user" cannot list resource "pods" in API group "" in the namespace "default"');
    const node = await kubectl(config, ["get", "--raw", "/api/v1/nodes/n1"], true);
    expect(node.stderr).toContain('Error from server (Forbidden): nodes "n1" is forbidden: User "token-user" cannot get resource "nodes" in API group "" at the cluster scope');
    const deploy = await kubectl(config, ["get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web"], true);
    expect(deploy.stderr).toContain('deployments.apps "web" is forbidden: User "token-user" cannot get resource "deployments" in API group "apps" in the namespace "default"');
    const version = await raw(deny.url, deny.caPem, "/version", { Authorization: `Bearer ${TOKEN}` });
    expect(JSON.parse(version.body)).toMatchObject({ status: "Failure", reason: "Forbidden", code: 403, message: 'forbidden: User "token-user" cannot get path "/version"' });
    const exec = await raw(deny.url, deny.caPem, "/api/v1/namespaces/default/pods/web/exec?command=ls", { Authorization: `Bearer ${TOKEN}` });
    expect(JSON.parse(exec.body)).toMatchObject({ code: 403, message: 'pods "web" is forbidden: User "token-user" cannot get resource "pods/exec" in API group "" in the namespace "default"', details: { name: "web", kind: "pods" } });
    const impersonating = await kubectl(config, ["get", "--raw", "/api/v1/namespaces/default/pods", "--as=someone"], true);
    expect(impersonating.stderr).toContain('users "someone" is forbidden: User "token-user" cannot impersonate resource "users" in API group "" at the cluster scope');
    await waitFor("the denial log lines", () => deny.api.logs().includes('"verb":"list"') && deny.api.logs().includes('"path":"/version"'));
    expect(deny.api.logs()).toMatch(/"user":"token-user".*"verb":"list".*"resource":"pods".*"msg":"Forbidden"/);
    // Refused requests still count in apiserver_request_total (read on the insecure port, which authorizes nothing).
    const metrics = await (await fetch(`${deny.api.url}/metrics`)).text();
    const refused = metrics.split("\n").filter((l) => l.startsWith("apiserver_request_total{") && l.includes('code="403"') && l.includes('resource="pods"'));
    expect(refused.length).toBeGreaterThan(0);
  });
});
