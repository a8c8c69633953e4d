// `kubelab up --insecure`: the 0.18 lab still works now that the lab is secure by default. No PKI, the apiserver's
// plain-HTTP port on the bridge address with no authentication (every request is system:unsecured in
// system:masters), every component with --master, a kubeconfig with no credential. Driven as a user would: curl
// with no flags, kubectl, kubelab status. Taken down in afterAll even when a test failed.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../lab/up/host.js";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";
import { waitFor } from "../support/apiserver.js";
import { call } from "../support/http.js";

const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`lab-insecure.int.test: skipped: ${prerequisites.reason}`);

const lab = new TestLab("e2eins");

describe.skipIf(!prerequisites.ok)("kubelab up --insecure (the 0.18 plain-HTTP lab)", () => {
  beforeAll(async () => {
    await lab.startOrTearDown(async () => {
      await lab.up(1, ["--insecure"]);
    });
  }, 200_000);

  afterAll(() => lab.downCleanly(), 180_000);

  it("records the choice, makes no PKI and writes a kubeconfig with the plain-HTTP URL and no credential", () => {
    const state = JSON.parse(readFileSync(join(lab.home, "lab.json"), "utf8")) as { config: { secure?: boolean } };
    expect(state.config.secure).toBe(false);
    expect(existsSync(join(lab.home, "pki"))).toBe(false);
    const kubeconfig = readFileSync(lab.kubeconfig, "utf8");
    expect(kubeconfig).toContain(`server: http://${lab.bridgeIp}:${lab.apiserverPort}`);
    expect(kubeconfig).not.toContain("client-certificate");
    expect(lab.api).toEqual({ url: `http://${lab.bridgeIp}:${lab.apiserverPort}` });
  });

  it("answers anyone on the insecure port, as the 0.18 apiserver did", async () => {
    const nodes = await call<{ items: { metadata: { name: string } }[] }>(lab.api, "GET", "/api/v1/nodes");
    expect(nodes.status).toBe(200);
    expect(nodes.body.items.map((n) => n.metadata.name)).toEqual(["node-1"]);
    expect(await run(["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", `http://${lab.bridgeIp}:${lab.apiserverPort}/api/v1/pods`])).toBe("200");
    expect((await lab.kubectlOk("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")).trim()).toBe("system:unsecured");
  });

  it("runs a pod and keeps every component healthy, the components given --master", async () => {
    await lab.kubectlOk("run", "plain", "--image=busybox", "--", "sleep", "3600");
    await waitFor("pod plain Running", async () => ((await lab.kubectl(["get", "pod", "plain", "-o", "jsonpath={.status.phase}"])).stdout === "Running" ? true : undefined), 90_000, 500);
    const status = await waitFor("every component healthy", async () => {
      const now = JSON.parse(await lab.ok(["status", "-o", "json"])) as { components: { component: string; health: string; command: string }[] };
      return now.components.every((c) => c.health === "ok") ? now : undefined;
    }, 30_000, 500);
    const scheduler = status.components.find((c) => c.component === "kube-scheduler");
    expect(scheduler?.command).toContain(`--master=http://${lab.bridgeIp}:${lab.apiserverPort}`);
    expect(status.components.find((c) => c.component === "kube-apiserver")?.command).toContain(`--insecure-port=${lab.apiserverPort}`);
  }, 120_000);
});
