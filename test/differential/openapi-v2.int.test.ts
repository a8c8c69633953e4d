// /openapi/v2's operations held to the real kube-apiserver v1.26.1's: per group version, every path and method with
// its x-kubernetes-action and operationId, from the JSON and from the protobuf form kubectl <= 1.26 asks for. With
// KUBELAB_PEERS the real apiserver answers live (UPDATE_DIFFERENTIAL=1 rewrites the fixture); otherwise the recorded
// summary in fixtures/ is the reference. kubectl 1.32's `explain --output=plaintext-openapiv2` reads the document.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { PEER_ADMIN_TOKEN, realApiserverComponent } from "../../lab/components/real-kube-apiserver.js";
import { startTestCluster, waitFor, withAdminToken, type TestCluster } from "../support/apiserver.js";
import { freePort, startEtcd, type EtcdHandle } from "../support/etcd.js";
import { testProcesses } from "../support/processes.js";
import type { Target } from "./answers.js";
import { fetchBytes, summarizeJson, summarizeProtobuf, type PathSummary } from "./openapi-v2-paths.js";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "openapi-v2-paths-kube-apiserver-v1.26.1.json");
const PEERS = process.env.KUBELAB_PEERS ?? "";
const UPDATE = process.env.UPDATE_DIFFERENTIAL === "1";
const PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/**
 * Operations that differ on purpose, each with the reason; one differing in any other way fails the test. Lines are
 * `<method> <path under the group version> <action> <operationId>`.
 */
const KNOWN_DIFFERENCES: readonly { reason: string; realOnly?: RegExp; oursOnly?: RegExp }[] = [
  { reason: "kubelab lists resource operations only, not the discovery document of each group version", realOnly: /^get \/ - get\w+APIResources$/ },
  { reason: "the proxy subresources' HEAD, OPTIONS and /{path} forms are not served", realOnly: /\/proxy/ },
  { reason: "the legacy core `bindings` collection is not served (pods/binding is)", realOnly: /^post \/namespaces\/\{namespace\}\/bindings / },
  { reason: "pods/ephemeralcontainers is not served", realOnly: /\/pods\/\{name\}\/ephemeralcontainers / },
  { reason: "networkpolicies/status was removed in Kubernetes 1.28; kubelab serves 1.32", realOnly: /\/networkpolicies\/\{name\}\/status / },
  { reason: "SelfSubjectReview is authentication.k8s.io/v1 since 1.28; kubelab serves 1.32", oursOnly: /^post \/selfsubjectreviews / },
];

/** Group versions 1.26.1 serves and 1.32 no longer does. */
const REMOVED_GROUP_VERSIONS = ["apis/flowcontrol.apiserver.k8s.io/v1beta2", "apis/flowcontrol.apiserver.k8s.io/v1beta3", "apis/storage.k8s.io/v1beta1"];

interface Fixture {
  server: string;
  paths: PathSummary;
}

/** The real apiserver's summary, from the JSON and the protobuf form (which must agree), on its own fresh etcd. */
async function realSummary(): Promise<PathSummary> {
  let etcd: EtcdHandle | undefined;
  let apiserver: ManagedProcess | undefined;
  try {
    etcd = await startEtcd();
    const port = await freePort();
    apiserver = testProcesses.start(realApiserverComponent({ name: "openapi-real-kube-apiserver", peersDir: PEERS, etcdServers: etcd.endpoint, port, certDir: testProcesses.tempDir("openapi-real-certs-", tmpdir()) }));
    const target: Target = { url: `https://127.0.0.1:${port}`, token: PEER_ADMIN_TOKEN };
    await waitFor("the real kube-apiserver ready", async () => ((await fetchBytes(target, "/readyz", "*/*").catch(() => undefined))?.status === 200 ? true : undefined), 90_000, 250);
    const json = summarizeJson(JSON.parse((await fetchBytes(target, "/openapi/v2", "application/json")).body.toString("utf8")));
    expect(summarizeProtobuf((await fetchBytes(target, "/openapi/v2", PROTOBUF_ACCEPT)).body)).toEqual(json);
    return json;
  } finally {
    await apiserver?.stop("SIGKILL");
    await etcd?.destroy();
  }
}

const canRun = PEERS !== "" || existsSync(FIXTURE);
if (!canRun) console.log(`SKIP: openapi v2 differential: no fixture at ${FIXTURE} and KUBELAB_PEERS is not set`);

describe.skipIf(!canRun)("/openapi/v2 operations, compared with kube-apiserver v1.26.1's", () => {
  let cluster: TestCluster | undefined;
  let real: PathSummary = {};
  let ours: PathSummary = {};
  let oursProtobuf: PathSummary = {};

  beforeAll(async () => {
    if (PEERS !== "") {
      real = await realSummary();
      if (UPDATE) writeFileSync(FIXTURE, `${JSON.stringify({ server: "kube-apiserver v1.26.1 (../shared/peers), /openapi/v2 operations", paths: real } satisfies Fixture, null, 1)}\n`);
    } else {
      real = (JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture).paths;
    }
    cluster = await startTestCluster();
    const api = await withAdminToken(cluster.api);
    const json = await fetchBytes(api, "/openapi/v2", "application/json");
    expect(json.contentType).toBe("application/json");
    ours = summarizeJson(JSON.parse(json.body.toString("utf8")));
    const protobuf = await fetchBytes(api, "/openapi/v2", PROTOBUF_ACCEPT);
    expect(protobuf.contentType).toBe("application/octet-stream");
    oursProtobuf = summarizeProtobuf(protobuf.body);
  }, 240_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it("has the same operations in its JSON and protobuf forms", () => {
    expect(Object.keys(ours).length).toBeGreaterThan(15);
    expect(oursProtobuf).toEqual(ours);
  });

  it("serves every group version the real apiserver does, but those removed since 1.26", () => {
    expect(Object.keys(real).filter((gv) => ours[gv] === undefined)).toEqual(REMOVED_GROUP_VERSIONS);
    expect(Object.keys(ours).filter((gv) => real[gv] === undefined)).toEqual([]);
  });

  it("has the real apiserver's operations, names and actions in every shared group version", () => {
    const unexplained: string[] = [];
    for (const gv of Object.keys(ours)) {
      const theirs = new Set(real[gv] ?? []);
      const mine = new Set(ours[gv]);
      for (const line of theirs) {
        if (!mine.has(line) && !KNOWN_DIFFERENCES.some((k) => k.realOnly?.test(line))) unexplained.push(`${gv}: missing ${line}`);
      }
      for (const line of mine) {
        if (!theirs.has(line) && !KNOWN_DIFFERENCES.some((k) => k.oursOnly?.test(line))) unexplained.push(`${gv}: extra ${line}`);
      }
    }
    expect(unexplained).toEqual([]);
  });

  it("lets kubectl explain a field from the protobuf v2 document", async () => {
    const explained = await cluster!.kubectl(["explain", "deployment.spec.strategy", "--output=plaintext-openapiv2"]);
    expect(explained.stdout).toMatch(/KIND:\s+Deployment/);
    expect(explained.stdout).toMatch(/rollingUpdate\s+<Object>/);
  });
});
