// `kubectl create -f` of SubjectAccessReviews, and `kubectl auth can-i --list`, against kubelab's apiserver and the
// real kube-apiserver v1.26.1, both with --authorization-mode=Node,RBAC and the same objects (access-reviews.ts):
// the reviews' status (allowed, denied, reason) must be the same. With KUBELAB_PEERS (../shared/peers) the real
// apiserver answers live and UPDATE_DIFFERENTIAL=1 rewrites the fixture; without it the recorded answers are used.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { runKubectl, startApiServerProcess, waitFor, writeKubeconfig, type ApiServerProcess, type KubectlResult } from "../support/apiserver.js";
import { freePort, startEtcd, type EtcdHandle } from "../support/etcd.js";
import { testProcesses } from "../support/processes.js";
import { PEER_ADMIN_TOKEN, realApiserverComponent } from "../../lab/components/real-kube-apiserver.js";
import { READY_CASE, REVIEW_CASES, reviewOf, SETUP_OBJECTS, type ReviewCase } from "./access-reviews.js";
import { send } from "./answers.js";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "access-reviews-kube-apiserver-v1.26.1.json");
const PEERS = process.env.KUBELAB_PEERS ?? "";
const UPDATE = process.env.UPDATE_DIFFERENTIAL === "1";
const MODES = "--authorization-mode=Node,RBAC";

/**
 * Lines of `kubectl auth can-i --list` kubelab gives differently, with the reason (the bootstrap policy is
 * Kubernetes 1.32's, the reference 1.26's).
 */
const KNOWN_RULE_DIFFERENCES: Record<string, string> = {
  "selfsubjectreviews.authentication.k8s.io [] [] [create]": "system:basic-user allows SelfSubjectReview since Kubernetes 1.28",
};

interface Fixture {
  server: string;
  reviews: Record<string, unknown>;
  rules: string[];
}

type Kubectl = (args: string[], stdin?: string) => Promise<KubectlResult>;

interface Answers {
  reviews: Record<string, unknown>;
  rules: string[];
}

async function review(kubectl: Kubectl, c: ReviewCase): Promise<unknown> {
  const out = await kubectl(["create", "-f", "-", "-o", "json"], JSON.stringify(reviewOf(c)));
  return (JSON.parse(out.stdout) as { status?: unknown }).status;
}

/** Creates the objects, waits until the last one shows in the authorizer, then asks every case. */
async function answersOf(kubectl: Kubectl): Promise<Answers> {
  await kubectl(["create", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: SETUP_OBJECTS }));
  await waitFor("the RBAC objects in the authorizer", async () => ((await review(kubectl, READY_CASE)) as { allowed?: boolean }).allowed === true ? true : undefined, 30_000, 100);
  const reviews: Record<string, unknown> = {};
  for (const c of REVIEW_CASES) reviews[c.id] = await review(kubectl, c);
  // The table kubectl prints, one rule a line with its columns' spacing dropped, in a stable order.
  const listed = await kubectl(["auth", "can-i", "--list", "-n", "authz-a"]);
  const rules = listed.stdout.split("\n").slice(1).map((l) => l.trim().split(/\s+/).join(" ")).filter((l) => l !== "").sort();
  return { reviews, rules };
}

function kubectlFor(kubeconfig: string): Kubectl {
  return (args, stdin) => runKubectl(["--kubeconfig", kubeconfig, ...args], stdin === undefined ? {} : { stdin });
}

/** The real kube-apiserver on loopback with TLS and the static admin token (system:masters), on its own etcd. */
async function realAnswers(): Promise<Answers> {
  const etcd = await startEtcd();
  let apiserver: ManagedProcess | undefined;
  try {
    const port = await freePort();
    const dir = testProcesses.tempDir("authz-real-", tmpdir());
    apiserver = testProcesses.start(realApiserverComponent({ name: "authz-real-kube-apiserver", peersDir: PEERS, etcdServers: etcd.endpoint, port, certDir: dir, authorizationMode: MODES.slice("--authorization-mode=".length), extraArgs: ["--disable-admission-plugins=ServiceAccount"] }));
    const url = `https://127.0.0.1:${port}`;
    await waitFor("the real kube-apiserver to be ready", async () => (await send({ url, token: PEER_ADMIN_TOKEN }, { id: "readyz", method: "GET", path: "/readyz" }, 2_000)).status === 200 || undefined, 90_000, 250);
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: real, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]`,
        "users: [{name: admin, user: {token: peer-admin-token}}]",
        "contexts: [{name: real, context: {cluster: real, user: admin}}]",
        "current-context: real",
        "",
      ].join("\n"),
    );
    return await answersOf(kubectlFor(kubeconfig));
  } finally {
    await apiserver?.stop("SIGKILL");
    await etcd.destroy();
  }
}

const canRun = PEERS !== "" || existsSync(FIXTURE);
if (!canRun) console.log(`SKIP: access reviews against kube-apiserver: no fixture at ${FIXTURE} and KUBELAB_PEERS is not set`);

describe.skipIf(!canRun)("access reviews answer as kube-apiserver v1.26.1's Node,RBAC authorizers do", () => {
  let etcd: EtcdHandle | undefined;
  let apiserver: ApiServerProcess | undefined;
  let real: Answers = { reviews: {}, rules: [] };
  let ours: Answers = { reviews: {}, rules: [] };

  beforeAll(async () => {
    if (PEERS !== "") {
      real = await realAnswers();
      if (UPDATE) {
        const fixture: Fixture = { server: "kube-apiserver v1.26.1 (../shared/peers), fresh etcd, --authorization-mode=Node,RBAC, ServiceAccount admission off", ...real };
        writeFileSync(FIXTURE, `${JSON.stringify(fixture, null, 2)}\n`);
      }
    } else {
      const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;
      real = { reviews: fixture.reviews, rules: fixture.rules };
    }
    etcd = await startEtcd();
    apiserver = await startApiServerProcess(etcd.endpoint, [MODES]);
    const dir = testProcesses.tempDir("authz-kubelab-", tmpdir());
    const kubeconfig = join(dir, "kubeconfig");
    writeKubeconfig(kubeconfig, apiserver.api);
    ours = await answersOf(kubectlFor(kubeconfig));
  }, 240_000);

  afterAll(async () => {
    await apiserver?.stop("SIGKILL");
    await etcd?.destroy();
  });

  it("has a reference answer for every case", () => {
    expect(REVIEW_CASES.filter((c) => real.reviews[c.id] === undefined).map((c) => c.id)).toEqual([]);
  });

  it.each(REVIEW_CASES.map((c) => [c.id, c] as const))("%s", (id) => {
    expect(ours.reviews[id]).toEqual(real.reviews[id]);
  });

  it("lists the caller's rules as `kubectl auth can-i --list` shows them", () => {
    const known = (line: string): boolean => KNOWN_RULE_DIFFERENCES[line] !== undefined;
    expect(ours.rules.filter((l) => !known(l))).toEqual(real.rules.filter((l) => !known(l)));
    expect(ours.rules.length).toBeGreaterThan(3);
  });
});
