// Job success and per-index failure policies, and the job controller's metrics, end to end on simulated nodes:
// real etcd, apiserver, scheduler, controller-manager and hollow nodes, driven with the real kubectl (processes
// get the test cluster's kubeconfig, so the test holds whatever transport it uses). Run `npm run build` first.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../api/types/batch.js";
import type { Pod } from "../api/types/core.js";
import type { TestCluster } from "../test/support/apiserver.js";
import { startHollowCluster, type HollowCluster } from "../test/support/hollow-cluster.js";
import { metricSum } from "../test/support/http.js";

function indexedJob(name: string, spec: Record<string, unknown>, command: string[]): string {
  return JSON.stringify({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name },
    spec: { completionMode: "Indexed", ...spec, template: { spec: { restartPolicy: "Never", containers: [{ name: "work", image: "busybox", command }] } } },
  });
}

describe("Job successPolicy and backoffLimitPerIndex on hollow nodes (real processes, real kubectl)", () => {
  let cluster: TestCluster;
  let hollow: HollowCluster | undefined;
  const k = (...args: string[]) => cluster.kubectl(args, { timeoutMs: 120_000 });
  const apply = (doc: string) => cluster.kubectl(["apply", "-f", "-"], { stdin: doc, allowFailure: true });
  const getJob = async (name: string): Promise<Job> => JSON.parse((await k("get", "job", name, "-o", "json")).stdout) as Job;
  const podsOf = async (name: string): Promise<Pod[]> => (JSON.parse((await k("get", "pods", "-l", `batch.kubernetes.io/job-name=${name}`, "-o", "json")).stdout) as { items: Pod[] }).items;
  const conditions = (job: Job): string[] => (job.status?.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason ?? ""}`);

  beforeAll(async () => {
    hollow = await startHollowCluster("workloads-jp");
    cluster = hollow.cluster;
  }, 120_000);

  afterAll(async () => {
    await hollow?.destroy();
  });

  it("refuses the per-index and success-policy fields outside Indexed mode with Kubernetes' messages", async () => {
    const doc = JSON.stringify({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "workloads-bad" },
      spec: { backoffLimitPerIndex: 1, successPolicy: { rules: [{ succeededCount: 1 }] }, template: { spec: { restartPolicy: "Never", containers: [{ name: "w", image: "busybox" }] } } },
    });
    const res = await apply(doc);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode");
    expect(res.stderr).toContain("spec.successPolicy: Invalid value: ");
    const indexed = await apply(indexedJob("workloads-bad", { completions: 2, podFailurePolicy: { rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [3] } }] } }, ["true"]));
    expect(indexed.stderr).toContain('spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set');
  }, 30_000);

  it("completes an Indexed Job once its successPolicy rule is met (SuccessCriteriaMet, then Complete/SuccessPolicy)", async () => {
    expect((await apply(indexedJob("workloads-leader", { completions: 4, parallelism: 1, successPolicy: { rules: [{ succeededIndexes: "0" }] } }, ["sleep", "1"]))).code).toBe(0);
    await k("wait", "--for=condition=complete", "job/workloads-leader", "--timeout=60s");
    const job = await getJob("workloads-leader");
    expect(conditions(job)).toEqual(["SuccessCriteriaMet=True/SuccessPolicy", "Complete=True/SuccessPolicy"]);
    expect(job.status?.conditions?.[1]?.message).toBe("Matched rules at index 0");
    expect(job.status).toMatchObject({ completedIndexes: "0", succeeded: 1, active: 0 });
    // Indexes 1-3 were never needed.
    expect((await podsOf("workloads-leader")).map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"])).toEqual(["0"]);
  }, 90_000);

  it("fails indexes on a FailIndex rule without retrying them, and the Job with FailedIndexes", async () => {
    const spec = { completions: 2, parallelism: 2, backoffLimitPerIndex: 3, podFailurePolicy: { rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [42] } }] } };
    expect((await apply(indexedJob("workloads-failindex", spec, ["sh", "-c", "exit 42"]))).code).toBe(0);
    await k("wait", "--for=condition=failed", "job/workloads-failindex", "--timeout=60s");
    const job = await getJob("workloads-failindex");
    expect(conditions(job)).toEqual(["FailureTarget=True/FailedIndexes", "Failed=True/FailedIndexes"]);
    expect(job.status).toMatchObject({ failedIndexes: "0,1", failed: 2, succeeded: 0 });
    expect(job.spec?.backoffLimit).toBe(2_147_483_647);
    const pods = await podsOf("workloads-failindex");
    expect(pods).toHaveLength(2);
    expect(pods.every((p) => p.metadata.annotations?.["batch.kubernetes.io/job-index-failure-count"] === "0")).toBe(true);
  }, 90_000);

  it("fails the Job with MaxFailedIndexesExceeded once more indexes failed than maxFailedIndexes", async () => {
    const spec = { completions: 3, parallelism: 1, backoffLimitPerIndex: 0, maxFailedIndexes: 0 };
    expect((await apply(indexedJob("workloads-maxfailed", spec, ["sh", "-c", "exit 1"]))).code).toBe(0);
    await k("wait", "--for=condition=failed", "job/workloads-maxfailed", "--timeout=60s");
    const job = await getJob("workloads-maxfailed");
    expect(conditions(job)).toEqual(["FailureTarget=True/MaxFailedIndexesExceeded", "Failed=True/MaxFailedIndexesExceeded"]);
    expect(job.status?.conditions?.[1]?.message).toBe("Job has exceeded the specified maximal number of failed indexes");
    expect(job.status).toMatchObject({ failedIndexes: "0", failed: 1 });
  }, 90_000);

  it("reports the jobs on the controller-manager's /metrics with Kubernetes' names and labels", async () => {
    const url = hollow!.controllerManager.url;
    expect(await metricSum(url, "job_controller_jobs_finished_total", { completion_mode: "Indexed", result: "succeeded", reason: "SuccessPolicy" })).toBe(1);
    expect(await metricSum(url, "job_controller_jobs_finished_total", { completion_mode: "Indexed", result: "failed", reason: "FailedIndexes" })).toBe(1);
    expect(await metricSum(url, "job_controller_jobs_finished_total", { result: "failed", reason: "MaxFailedIndexesExceeded" })).toBe(1);
    expect(await metricSum(url, "job_controller_pod_failures_handled_by_failure_policy_total", { action: "FailIndex" })).toBe(2);
    expect(await metricSum(url, "job_controller_job_finished_indexes_total", { status: "failed", backoffLimit: "perIndex" })).toBe(3);
    expect(await metricSum(url, "job_controller_job_pods_finished_total", { completion_mode: "Indexed", result: "failed" })).toBe(3);
    expect(await metricSum(url, "job_controller_job_syncs_total", { completion_mode: "Indexed", result: "success", action: "pods_created" })).toBeGreaterThanOrEqual(3);
    expect(await metricSum(url, "job_controller_job_sync_duration_seconds_count", { completion_mode: "Indexed" })).toBeGreaterThan(0);
    expect(await metricSum(url, "job_controller_terminated_pods_tracking_finalizer_total", { event: "delete" })).toBeGreaterThanOrEqual(4);
  }, 30_000);
});
