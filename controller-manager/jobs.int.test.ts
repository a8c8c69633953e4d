// Jobs and CronJobs end to end on simulated nodes: real etcd, apiserver, scheduler, controller-manager and hollow
// nodes (whose fake runtime ends containers as their command says), driven with the real kubectl. Run
// `npm run build` first.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound } from "../api/errors.js";
import { RESOURCES } from "../api/resources.js";
import type { Job } from "../api/types/batch.js";
import type { Node, Pod } from "../api/types/core.js";
import { RestClient } from "../client/rest.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../test/support/apiserver.js";
import { startComponent, startComponentOnFreePort, type ComponentProcess } from "../test/support/components.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;
const JOBS = RESOURCES.find((r) => r.group === "batch" && r.resource === "jobs")!;

function jobYaml(name: string, spec: Record<string, unknown>, command: string[], restartPolicy = "Never"): string {
  return JSON.stringify({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name },
    spec: { ...spec, template: { spec: { restartPolicy, containers: [{ name: "work", image: "busybox", command }] } } },
  });
}

describe("Jobs and CronJobs on hollow nodes (real processes, real kubectl)", () => {
  let cluster: TestCluster;
  let client: RestClient;
  const components: ComponentProcess[] = [];
  const k = (...args: string[]) => cluster.kubectl(args, { timeoutMs: 120_000 });
  const job = (name: string) => client.get<Job>(JOBS, "default", name);
  const podsOf = async (jobName: string) => (await client.listAll<Pod>(PODS, "default", { labelSelector: `batch.kubernetes.io/job-name=${jobName}` })).items;

  beforeAll(async () => {
    cluster = await startTestCluster();
    client = new RestClient(clientConfigFor(cluster.api));
    const master = ["--kubeconfig", cluster.kubeconfig];
    components.push(await startComponentOnFreePort("kube-controller-manager", [...master, "--leader-elect=false", "--allocate-node-cidrs", "--cluster-cidr=10.244.0.0/16"], "jobs-controller-manager"));
    components.push(await startComponentOnFreePort("kube-scheduler", [...master, "--leader-elect=false"], "jobs-scheduler"));
    components.push(startComponent("kubelab", ["hollow-nodes", ...master, "--count", "2", "--name-prefix", "jobs-hn", "--pod-cidr-wait", "1s"], "jobs-hollow"));
    await waitFor("2 Ready hollow nodes", async () => {
      const nodes = (await client.listAll<Node>(NODES, undefined, { labelSelector: "type=hollow" })).items;
      return nodes.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === 2 || undefined;
    }, 60_000, 200);
    // Started first: its first activation is at most a minute away, and the other tests run meanwhile.
    await k("create", "cronjob", "tick", "--image=busybox", "--schedule=*/1 * * * *", "--", "echo", "hi");
  }, 120_000);

  afterAll(async () => {
    for (const c of components) await c.kill();
    client.close();
    await cluster.destroy();
  });

  it("completes a Job of completions 5 / parallelism 2, never more than 2 pods active", async () => {
    await cluster.kubectl(["apply", "-f", "-"], { stdin: jobYaml("five", { completions: 5, parallelism: 2 }, ["sleep", "1"]) });
    let maxActive = 0;
    let done = false;
    const sampling = (async () => {
      while (!done) {
        const active = (await podsOf("five")).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed").length;
        maxActive = Math.max(maxActive, active, (await job("five")).status?.active ?? 0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const started = Date.now();
    try {
      await k("wait", "--for=condition=complete", "job/five", "--timeout=60s");
    } finally {
      done = true;
      await sampling;
    }
    console.log(`Job five (5 × sleep 1, parallelism 2) complete in ${Date.now() - started} ms`);
    const status = (await job("five")).status;
    expect(status).toMatchObject({ succeeded: 5, failed: 0, active: 0, uncountedTerminatedPods: {} });
    expect(status?.completionTime).toBeDefined();
    expect(maxActive).toBeGreaterThan(0);
    expect(maxActive).toBeLessThanOrEqual(2);
    const pods = await podsOf("five");
    expect(pods.every((p) => p.status?.phase === "Succeeded" && !(p.metadata.finalizers ?? []).includes("batch.kubernetes.io/job-tracking"))).toBe(true);
    const events = (await k("get", "events", "--field-selector", "involvedObject.name=five", "-o", "jsonpath={.items[*].reason}")).stdout;
    expect(events.split(" ").filter((r) => r === "SuccessfulCreate")).toHaveLength(5);
    expect(events).toContain("Completed");
  }, 90_000);

  it("stops a failing Job at backoffLimit with Failed/BackoffLimitExceeded", async () => {
    await cluster.kubectl(["apply", "-f", "-"], { stdin: jobYaml("fails", { backoffLimit: 1 }, ["sh", "-c", "exit 1"]) });
    await k("wait", "--for=condition=failed", "job/fails", "--timeout=60s");
    const status = (await job("fails")).status;
    expect(status?.failed).toBe(2);
    expect(status?.conditions?.find((c) => c.type === "Failed")).toMatchObject({ status: "True", reason: "BackoffLimitExceeded" });
    const pods = await podsOf("fails");
    expect(pods.map((p) => p.status?.phase)).toEqual(["Failed", "Failed"]);
    expect(pods.every((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode === 1)).toBe(true);
  }, 90_000);

  it("runs an Indexed Job: one pod per index, hostname <job>-<index>, completedIndexes 0-2", async () => {
    await cluster.kubectl(["apply", "-f", "-"], { stdin: jobYaml("indexed", { completions: 3, parallelism: 3, completionMode: "Indexed" }, ["sh", "-c", "exit 0"]) });
    await k("wait", "--for=condition=complete", "job/indexed", "--timeout=60s");
    expect((await job("indexed")).status).toMatchObject({ completedIndexes: "0-2", succeeded: 3 });
    const pods = (await podsOf("indexed")).sort((a, b) => (a.spec?.hostname ?? "").localeCompare(b.spec?.hostname ?? ""));
    expect(pods.map((p) => p.spec?.hostname)).toEqual(["indexed-0", "indexed-1", "indexed-2"]);
    expect(pods.map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"])).toEqual(["0", "1", "2"]);
    expect(pods.every((p) => p.metadata.name?.startsWith(`indexed-${p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"] ?? ""}-`))).toBe(true);
  }, 90_000);

  it("deletes a finished Job with ttlSecondsAfterFinished 0, and its pods", async () => {
    await cluster.kubectl(["apply", "-f", "-"], { stdin: jobYaml("shortlived", { ttlSecondsAfterFinished: 0 }, ["echo", "bye"]) });
    await waitFor("job shortlived deleted", async () => {
      try {
        await job("shortlived");
        return undefined;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    }, 30_000, 200);
    await waitFor("its pods deleted", async () => ((await podsOf("shortlived")).length === 0 ? true : undefined), 30_000, 200);
  }, 60_000);

  it("ends `kubectl run --restart=Never -- echo hi` Completed", async () => {
    await k("run", "once", "--restart=Never", "--image=busybox", "--", "echo", "hi");
    await waitFor("pod once Succeeded", async () => ((await client.get<Pod>(PODS, "default", "once")).status?.phase === "Succeeded" ? true : undefined), 30_000, 200);
    const table = (await k("get", "pod", "once", "--no-headers")).stdout;
    expect(table).toMatch(/^once\s+0\/1\s+Completed\s+0\s/);
  }, 60_000);

  it("creates a Job from the `*/1 * * * *` CronJob within a minute, and one by `kubectl create job --from=cronjob/tick`", async () => {
    await k("create", "job", "tick-manual", "--from=cronjob/tick");
    const manual = await job("tick-manual");
    expect(manual.metadata.annotations?.["cronjob.kubernetes.io/instantiate"]).toBe("manual");
    expect(manual.metadata.ownerReferences?.[0]).toMatchObject({ kind: "CronJob", name: "tick" });
    await k("wait", "--for=condition=complete", "job/tick-manual", "--timeout=30s");
    const scheduled = await waitFor("a scheduled Job of tick", async () => {
      const jobs = (await client.listAll<Job>(JOBS, "default")).items;
      return jobs.find((j) => /^tick-\d+$/.test(j.metadata.name ?? "") && j.metadata.annotations?.["cronjob.kubernetes.io/scheduled-timestamp"]);
    }, 70_000, 500);
    const minutes = Number(scheduled.metadata.name!.slice("tick-".length));
    expect(Date.parse(scheduled.metadata.annotations!["cronjob.kubernetes.io/scheduled-timestamp"]!)).toBe(minutes * 60_000);
    await k("wait", "--for=condition=complete", `job/${scheduled.metadata.name!}`, "--timeout=30s");
    const cj = JSON.parse((await k("get", "cronjob", "tick", "-o", "json")).stdout) as { status?: { lastScheduleTime?: string; lastSuccessfulTime?: string } };
    await waitFor("tick's lastSuccessfulTime", async () => {
      const fresh = JSON.parse((await k("get", "cronjob", "tick", "-o", "json")).stdout) as { status?: { lastSuccessfulTime?: string } };
      return fresh.status?.lastSuccessfulTime;
    }, 15_000, 300);
    expect(Date.parse(cj.status?.lastScheduleTime ?? "")).toBe(minutes * 60_000);
  }, 120_000);
});
