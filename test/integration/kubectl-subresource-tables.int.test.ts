// `kubectl get --subresource=status|scale` with the real kubectl 1.32 against a real apiserver process on a real etcd:
// kubectl asks the subresource for a Table and prints its columns, so the scale subresource must answer printScale's
// Table (NAME DESIRED AVAILABLE AGE) and status the resource's own, as kube-apiserver does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "../support/apiserver.js";
import { call } from "../support/http.js";

let cluster: TestCluster | undefined;

function c(): TestCluster {
  if (!cluster) throw new Error("the test cluster did not start");
  return cluster;
}

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "sub-web", namespace: "default" },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: "sub-web" } },
    template: { metadata: { labels: { app: "sub-web" } }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } },
  },
};

beforeAll(async () => {
  cluster = await startTestCluster();
  const created = await call(c().api, "POST", "/apis/apps/v1/namespaces/default/deployments", deployment);
  if (created.status !== 201) throw new Error(`creating the deployment: ${created.status} ${created.text}`);
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
});

/** kubectl's output as rows of whitespace-separated cells, AGE dropped (it changes with time). */
function cellsOf(stdout: string): string[][] {
  return stdout.trim().split("\n").map((line) => line.trim().split(/\s+/).filter((cell, i, all) => i !== all.length - 1 || !/^(AGE|\d+s)$/.test(cell)));
}

describe("kubectl get --subresource", () => {
  it("prints the scale subresource with printScale's columns", async () => {
    const out = await c().kubectl(["get", "deployment", "sub-web", "--subresource=scale"]);
    expect(cellsOf(out.stdout)).toEqual([["NAME", "DESIRED", "AVAILABLE"], ["sub-web", "3", "0"]]);
  });

  it("prints the status subresource with the resource's own columns", async () => {
    const out = await c().kubectl(["get", "deployment", "sub-web", "--subresource=status", "-o", "wide"]);
    expect(cellsOf(out.stdout)[0]).toEqual(["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]);
    expect(cellsOf(out.stdout)[1]?.slice(0, 4)).toEqual(["sub-web", "0/3", "0", "0"]);
  });
});
