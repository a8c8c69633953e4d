// The differential suite: every request of the corpus sent to a fresh kubelab apiserver (real etcd, real process)
// and its answer compared with the real kube-apiserver v1.26.1's. With KUBELAB_PEERS (a folder with bin/ and pki/,
// built as ../shared/peers/README.md says) the real apiserver runs here on its own fresh etcd and answers live;
// UPDATE_DIFFERENTIAL=1 then rewrites the fixture. Without it the recorded answers in fixtures/ are the reference.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startApiServerProcess, waitFor, withAdminToken, type ApiServerProcess } from "../support/apiserver.js";
import { freePort, startEtcd, type EtcdHandle } from "../support/etcd.js";
import { testProcesses } from "../support/processes.js";
import { PEER_ADMIN_TOKEN, realApiserverComponent } from "../../lab/components/real-kube-apiserver.js";
import { normalize, send, type Answer, type Target } from "./answers.js";
import { CORPUS } from "./corpus.js";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "kube-apiserver-v1.26.1.json");
const PEERS = process.env.KUBELAB_PEERS ?? "";
const UPDATE = process.env.UPDATE_DIFFERENTIAL === "1";
/** Both servers run without ServiceAccount admission: nothing here makes a namespace's `default` ServiceAccount. */
const ADMISSION = "--disable-admission-plugins=ServiceAccount";

/**
 * Requests whose answers kubelab knows to differ from Kubernetes', each with the reason. A request listed here that
 * starts answering like the real server fails the suite until it is removed, so this list only ever shrinks.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {
  // Kubernetes answers these with a 500; kubelab's answers are the better ones.
  "cm-watch-bad-rv": "resourceVersion=abc on a watch is 400 BadRequest; Kubernetes answers 500 here (kubelab's answer is the better one)",
  "pod-binding-missing-node-name": "a Binding without target.name is 422 Invalid; Kubernetes answers 500 here (kubelab's answer is the better one)",

  // Validation: kubelab follows Kubernetes 1.32 where it differs from the recorded 1.26.
  // Found with the quantity cases (their quantities match; these other parts of the answers do not).
  "qty-pod-create-limitrange-defaults": "status.qosClass is computed before LimitRanger's defaults (BestEffort); Kubernetes runs mutating admission first (Burstable)",
  "qty-rq-patch-malformed": "a patch whose result does not decode (a malformed quantity, a field of the wrong JSON type) is 400 BadRequest as for a create; Kubernetes answers 422 Invalid on the field `patch`",
  "qty-rq-delete": "a ResourceQuota's delete answers a Status; Kubernetes returns the deleted object (ReturnDeletedObject, also PVs, PVCs, ServiceAccounts ...)",
  "qty-pvc-create": "no StorageObjectInUseProtection admission (kubernetes.io/pvc-protection finalizer); managedFields has a \".\" under f:spec.f:resources that Kubernetes does not write",
  "qty-pvc-put-status": "the finalizer and managedFields of qty-pvc-create",
  "qty-pvc-get": "the finalizer and managedFields of qty-pvc-create",
  "pod-create-bad-env-name": "env var names follow 1.32's RelaxedEnvironmentVariableValidation (beta, on): any printable ASCII but '=' (1.26: 422)",
};

interface Fixture {
  server: string;
  answers: Record<string, Answer>;
}

/** Runs the whole corpus in order against one server. */
async function runCorpus(target: Target): Promise<Record<string, Answer>> {
  const answers: Record<string, Answer> = {};
  for (const req of CORPUS) answers[req.id] = normalize(await send(target, req), { exactStatus: req.exactStatus === true });
  return answers;
}

/** The real kube-apiserver on loopback with TLS, the static admin token and its own fresh etcd. */
async function runRealApiserver(): Promise<Record<string, Answer>> {
  const etcd = await startEtcd();
  let apiserver: ManagedProcess | undefined;
  try {
    const port = await freePort();
    apiserver = testProcesses.start(realApiserverComponent({ name: "real-kube-apiserver", peersDir: PEERS, etcdServers: etcd.endpoint, port, certDir: testProcesses.tempDir("diff-real-certs-", tmpdir()), authorizationMode: "AlwaysAllow", extraArgs: [ADMISSION] }));
    const target: Target = { url: `https://127.0.0.1:${port}`, token: PEER_ADMIN_TOKEN };
    await waitFor("the real kube-apiserver to be ready", async () => (await send(target, { id: "readyz", method: "GET", path: "/readyz" }, 2_000)).status === 200 || undefined, 90_000, 250);
    return await runCorpus(target);
  } finally {
    await apiserver?.stop("SIGKILL");
    await etcd.destroy();
  }
}

function loadReference(): Promise<Record<string, Answer>> | Record<string, Answer> {
  if (PEERS !== "") return runRealApiserver();
  const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;
  return fixture.answers;
}

const canRun = PEERS !== "" || existsSync(FIXTURE);
if (!canRun) console.log(`SKIP: differential suite: no fixture at ${FIXTURE} and KUBELAB_PEERS is not set`);

describe.skipIf(!canRun)("kubelab's apiserver answers as kube-apiserver v1.26.1 does", () => {
  let etcd: EtcdHandle | undefined;
  let apiserver: ApiServerProcess | undefined;
  let real: Record<string, Answer> = {};
  let ours: Record<string, Answer> = {};

  beforeAll(async () => {
    real = await loadReference();
    if (PEERS !== "" && UPDATE) {
      const fixture: Fixture = { server: "kube-apiserver v1.26.1 (../shared/peers), fresh etcd, AlwaysAllow, ServiceAccount admission off", answers: real };
      writeFileSync(FIXTURE, `${JSON.stringify(fixture, null, 2)}\n`);
    }
    etcd = await startEtcd();
    // The real server's issuer, so that TokenRequests default to the same audience.
    apiserver = await startApiServerProcess(etcd.endpoint, ["--service-account-issuer=https://kubernetes.default.svc"]);
    ours = await runCorpus(await withAdminToken(apiserver.api));
    // DIFFERENTIAL_DUMP=FILE writes kubelab's compared answers next to the real ones, for reading the differences.
    const dump = process.env.DIFFERENTIAL_DUMP;
    if (dump !== undefined && dump !== "") writeFileSync(dump, `${JSON.stringify(Object.fromEntries(CORPUS.map((r) => [r.id, { kubelab: ours[r.id], real: real[r.id] }])), null, 2)}\n`);
    const same = CORPUS.filter((r) => isDeepStrictEqual(ours[r.id], real[r.id])).length;
    const fiveHundreds = CORPUS.filter((r) => Number(ours[r.id]?.httpStatus) >= 500).map((r) => r.id);
    console.log(`differential: ${same} of ${CORPUS.length} answers match; kubelab 5xx: ${fiveHundreds.join(", ") || "none"}`);
  }, 300_000);

  afterAll(async () => {
    await apiserver?.stop("SIGKILL");
    await etcd?.destroy();
  });

  it("has a reference answer for every request and an allow-list naming only requests of the corpus", () => {
    expect(CORPUS.filter((r) => real[r.id] === undefined).map((r) => r.id)).toEqual([]);
    expect(new Set(CORPUS.map((r) => r.id)).size).toBe(CORPUS.length);
    const ids = new Set(CORPUS.map((r) => r.id));
    expect(Object.keys(KNOWN_DIFFERENCES).filter((id) => !ids.has(id))).toEqual([]);
  });

  it("never answers with a 5xx or not at all", () => {
    expect(CORPUS.filter((r) => Number(ours[r.id]?.httpStatus) >= 500 || ours[r.id]?.httpStatus === 0).map((r) => `${r.id}: ${JSON.stringify(ours[r.id])}`)).toEqual([]);
  });

  it.each(CORPUS.map((r) => [r.id, r] as const))("%s", (id, req) => {
    const known = KNOWN_DIFFERENCES[id];
    if (known === undefined) {
      expect(ours[id], `${req.method} ${req.path}`).toEqual(real[id]);
    } else if (isDeepStrictEqual(ours[id], real[id])) {
      throw new Error(`${id} now matches the real apiserver: remove it from KNOWN_DIFFERENCES (${known})`);
    }
  });
});
