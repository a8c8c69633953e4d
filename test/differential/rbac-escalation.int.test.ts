// RBAC's privilege-escalation prevention against the real kube-apiserver v1.26.1: the same RBAC objects
// (rbac-escalation.ts), then writes of Roles, ClusterRoles and bindings by users the admin impersonates, on
// kubelab's apiserver and the real one, both over TLS with --authorization-mode=Node,RBAC. The status code, reason
// and message of each answer must be the same. With KUBELAB_PEERS the real apiserver answers live
// (UPDATE_DIFFERENTIAL=1 rewrites the fixture); without it the recorded answers are used.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "../../component-base/pki/certificates.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { realApiserverComponent } from "../../lab/components/real-kube-apiserver.js";
import { startApiServerProcess, waitFor, type ApiServerProcess } from "../support/apiserver.js";
import { freePort, startEtcd, type EtcdHandle } from "../support/etcd.js";
import { testProcesses } from "../support/processes.js";
import { ESCALATION_CASES, READY_REVIEWS, SETUP_OBJECTS, type EscalationCase, type Who } from "./rbac-escalation.js";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "rbac-escalation-kube-apiserver-v1.26.1.json");
const PEERS = process.env.KUBELAB_PEERS ?? "";
const UPDATE = process.env.UPDATE_DIFFERENTIAL === "1";
const ADMIN_TOKEN = "esc-admin-token";

/** What is compared of an answer: status, and for a Status its reason and message. */
interface Outcome {
  status: number;
  reason?: string;
  message?: string;
}

interface Server {
  url: string;
  caPem: string;
}

function call(server: Server, method: string, path: string, body: unknown, contentType: string, as?: Who): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = body === undefined ? undefined : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  const headers: Record<string, string | string[]> = { Authorization: `Bearer ${ADMIN_TOKEN}`, Accept: "application/json", "User-Agent": "esc-diff/v1.0.0" };
  if (payload !== undefined) headers["Content-Type"] = contentType;
  if (as !== undefined) {
    headers["Impersonate-User"] = as.user;
    if (as.groups.length > 0) headers["Impersonate-Group"] = as.groups;
  }
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.url), { method, headers, ca: server.caPem, agent: false, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = { text };
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(payload);
  });
}

function outcomeOf(answer: { status: number; json: Record<string, unknown> }): Outcome {
  if (answer.json.kind !== "Status") return { status: answer.status };
  const outcome: Outcome = { status: answer.status, message: String(answer.json.message) };
  if (typeof answer.json.reason === "string") outcome.reason = answer.json.reason;
  return outcome;
}

function collectionOf(object: Record<string, unknown>): string {
  const kind = String(object.kind);
  const meta = object.metadata as { namespace?: string };
  if (kind === "Namespace") return "/api/v1/namespaces";
  const plural = `${kind.toLowerCase()}s`;
  return meta.namespace ? `/apis/rbac.authorization.k8s.io/v1/namespaces/${meta.namespace}/${plural}` : `/apis/rbac.authorization.k8s.io/v1/${plural}`;
}

/** Creates the objects as the admin, waits for the authorizer to see the bindings, then makes every write. */
async function outcomesOf(server: Server): Promise<Record<string, Outcome>> {
  for (const object of SETUP_OBJECTS) {
    const created = await call(server, "POST", collectionOf(object), object, "application/json");
    if (created.status !== 201) throw new Error(`creating ${JSON.stringify(object.metadata)}: ${created.status} ${JSON.stringify(created.json)}`);
  }
  for (const review of READY_REVIEWS) {
    await waitFor("the setup bindings in the authorizer", async () => {
      const answer = await call(server, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review, "application/json");
      return (answer.json.status as { allowed?: boolean } | undefined)?.allowed === true ? true : undefined;
    }, 30_000, 100);
  }
  const outcomes: Record<string, Outcome> = {};
  for (const c of ESCALATION_CASES) outcomes[c.id] = outcomeOf(await send(server, c));
  return outcomes;
}

async function send(server: Server, c: EscalationCase): Promise<{ status: number; json: Record<string, unknown> }> {
  let body = c.body;
  if (body === "current") body = (await call(server, "GET", c.path, undefined, "")).json;
  return call(server, c.method, c.path, body, c.contentType ?? "application/json", c.as);
}

interface Fixture {
  server: string;
  outcomes: Record<string, Outcome>;
}

describe.skipIf(PEERS === "" && !existsSync(FIXTURE))("privilege escalation answers as kube-apiserver v1.26.1's RBAC registry does", () => {
  const etcds: EtcdHandle[] = [];
  let real: ManagedProcess | undefined;
  let ours: ApiServerProcess | undefined;
  let expected: Record<string, Outcome> = {};
  let actual: Record<string, Outcome> = {};

  beforeAll(async () => {
    const dir = testProcesses.tempDir("authn-rbac-esc-", tmpdir());
    const ca: CertificateAndKey = await createCertificateAuthority("authn-rbac-esc-ca");
    const serving = await issueCertificate(ca, { commonName: "kube-apiserver", usage: "server", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const files = { cert: join(dir, "apiserver.crt"), key: join(dir, "apiserver.key"), tokens: join(dir, "tokens.csv") };
    writeFileSync(files.cert, serving.certPem);
    writeFileSync(files.key, serving.keyPem, { mode: 0o600 });
    writeFileSync(files.tokens, `${ADMIN_TOKEN},esc-admin,esc-admin,"system:masters"\n`, { mode: 0o600 });
    const tlsArgs = [`--tls-cert-file=${files.cert}`, `--tls-private-key-file=${files.key}`, `--token-auth-file=${files.tokens}`];
    if (PEERS !== "") {
      const etcd = await startEtcd();
      etcds.push(etcd);
      const port = await freePort();
      real = testProcesses.start(realApiserverComponent({ name: "authn-rbac-esc-real", peersDir: PEERS, etcdServers: etcd.endpoint, port, certDir: dir, authorizationMode: "Node,RBAC", extraArgs: [...tlsArgs, "--disable-admission-plugins=ServiceAccount"] }));
      const server = { url: `https://127.0.0.1:${port}`, caPem: ca.certPem };
      const started = real;
      await waitFor("the real kube-apiserver to be ready", async () => ((await call(server, "GET", "/readyz", undefined, "").catch(() => ({ status: 0 }))).status === 200 ? true : undefined), 90_000, 250).catch((err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n${started.logs().slice(-3000)}`);
      });
      expected = await outcomesOf(server);
      await real.stop("SIGKILL");
      real = undefined;
      if (UPDATE) {
        const fixture: Fixture = { server: "kube-apiserver v1.26.1 (KUBELAB_PEERS), fresh etcd, TLS, --authorization-mode=Node,RBAC, ServiceAccount admission off", outcomes: expected };
        writeFileSync(FIXTURE, `${JSON.stringify(fixture, null, 2)}\n`);
      }
    } else {
      expected = (JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture).outcomes;
    }
    const etcd = await startEtcd();
    etcds.push(etcd);
    const port = await freePort();
    ours = await startApiServerProcess(etcd.endpoint, [`--secure-port=${port}`, "--bind-address=127.0.0.1", "--authorization-mode=Node,RBAC", ...tlsArgs]);
    actual = await outcomesOf({ url: `https://127.0.0.1:${port}`, caPem: ca.certPem });
  }, 240_000);

  afterAll(async () => {
    await real?.stop("SIGKILL");
    await ours?.stop("SIGKILL");
    for (const etcd of etcds) await etcd.destroy();
  });

  it("has a reference answer for every case", () => {
    expect(ESCALATION_CASES.filter((c) => expected[c.id] === undefined).map((c) => c.id)).toEqual([]);
  });

  it.each(ESCALATION_CASES.map((c) => [c.id] as const))("%s", (id) => {
    expect(actual[id]).toEqual(expected[id]);
  });
});
