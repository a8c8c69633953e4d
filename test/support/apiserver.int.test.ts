// The test harness's apiserver is kubeadm's: HTTPS only, with the run's CA; the admin gets in by client certificate,
// by the static token and through the kubeconfig; an anonymous request is forbidden the API and a bad token refused;
// `{ insecure: true }` is the 0.18 plain-HTTP one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchAs, startApiServerProcess, startTestCluster, withAdminToken, type TestCluster } from "./apiserver.js";
import { call } from "./http.js";

describe("startTestCluster", () => {
  let cluster: TestCluster | undefined;
  const c = (): TestCluster => {
    if (!cluster) throw new Error("no cluster");
    return cluster;
  };

  beforeAll(async () => {
    cluster = await startTestCluster();
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it("serves HTTPS only, verified with the run's CA, and no insecure port", () => {
    expect(c().apiserver.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(c().api.caFile).toBeDefined();
    const args = c().apiserver.process.spawnargs;
    expect(args).toContain("--insecure-port=0");
    expect(args).toContain("--authorization-mode=Node,RBAC");
    expect(args).toContain(`--secure-port=${c().apiserver.port}`);
  });

  it("forbids system:anonymous the API and knows the admin's certificate, token and kubeconfig as system:masters", async () => {
    // --anonymous-auth stays on as in kubeadm's apiserver: no credential is system:anonymous, whom RBAC denies.
    const server = { url: c().api.url, ...(c().api.caFile !== undefined ? { caFile: c().api.caFile } : {}) };
    const anonymous = await call<{ reason: string; message: string }>(server, "GET", "/api/v1/namespaces");
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.message).toContain('"system:anonymous"');
    expect((await call({ ...server, token: "not-a-token" }, "GET", "/api/v1/namespaces")).status).toBe(401);
    const review = { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" };
    const byCert = await call<{ status: { userInfo: { username: string; groups: string[] } } }>(c().api, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review);
    expect(byCert.body.status.userInfo).toMatchObject({ username: "kubernetes-admin", groups: expect.arrayContaining(["system:masters"]) as string[] });
    const byToken = await call<{ status: { userInfo: { groups: string[] } } }>(await withAdminToken(c().api), "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review);
    expect(byToken.body.status.userInfo.groups).toContain("system:masters");
    expect((await fetchAs(c().api, "/api/v1/namespaces/default")).status).toBe(200);
    expect((await c().kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])).stdout).toBe("kubernetes-admin");
  });

  it("gives the 0.18 plain-HTTP apiserver on request", async () => {
    const plain = await startApiServerProcess(c().etcd.endpoint, [], { insecure: true });
    try {
      expect(plain.url).toMatch(/^http:\/\//);
      expect((await call(plain.api, "GET", "/api/v1/namespaces/default")).status).toBe(200);
    } finally {
      await plain.stop("SIGKILL");
    }
  });
});
