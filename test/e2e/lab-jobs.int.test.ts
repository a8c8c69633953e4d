// Jobs on a real node: ONE `kubelab up --nodes 1` (the runtime's OCI backend runs busybox under runc), driven with
// the real kubectl: a Job whose container really exits 0 completes, one that exits 3 fails at its backoffLimit, and
// `kubectl run --restart=Never` ends Completed. The lab is taken down in afterAll even when a test failed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";

const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`lab-jobs.int.test: skipped: ${prerequisites.reason}`);

const lab = new TestLab("e2ejobs");

interface JobStatus {
  succeeded?: number;
  failed?: number;
  conditions?: { type: string; status: string; reason?: string }[];
}

describe.skipIf(!prerequisites.ok)("Jobs on a 1-node kubelab (real containers)", () => {
  beforeAll(async () => {
    await lab.startOrTearDown(async () => {
      const out = await lab.up(1);
      expect(out).toContain("node-1: Ready");
    });
  }, 180_000);

  afterAll(() => lab.downCleanly(), 180_000);

  it("completes a Job whose busybox container runs `sh -c \"exit 0\"` under runc", async () => {
    await lab.kubectlOk("create", "job", "real-ok", "--image=busybox", "--", "sh", "-c", "echo working; exit 0");
    await lab.kubectlOk("wait", "--for=condition=complete", "job/real-ok", "--timeout=90s");
    const status = JSON.parse(await lab.kubectlOk("get", "job", "real-ok", "-o", "jsonpath={.status}")) as JobStatus;
    expect(status.succeeded).toBe(1);
    expect(await lab.kubectlOk("logs", "job/real-ok")).toContain("working");
  }, 120_000);

  it("fails a Job whose container exits 3 at backoffLimit 0, and ends `run --restart=Never -- echo hi` Completed", async () => {
    await lab.kubectlOk("create", "job", "real-fail", "--image=busybox", "--", "sh", "-c", "exit 3");
    // backoffLimit is mutable: 0 stops the Job at its first failure, whether or not it already happened.
    await lab.kubectlOk("patch", "job", "real-fail", "--type=merge", "-p", '{"spec":{"backoffLimit":0}}');
    await lab.kubectlOk("wait", "--for=condition=failed", "job/real-fail", "--timeout=120s");
    const status = JSON.parse(await lab.kubectlOk("get", "job", "real-fail", "-o", "jsonpath={.status}")) as JobStatus;
    expect(status.conditions?.find((c) => c.type === "Failed")?.reason).toBe("BackoffLimitExceeded");
    expect(status.failed).toBe(1);
    expect(await lab.kubectlOk("get", "pods", "-l", "job-name=real-fail", "-o", "jsonpath={.items[0].status.containerStatuses[0].state.terminated.exitCode}")).toBe("3");
    await lab.kubectlOk("run", "real-once", "--restart=Never", "--image=busybox", "--", "echo", "hi");
    await lab.kubectlOk("wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/real-once", "--timeout=60s");
    expect(await lab.kubectlOk("get", "pod", "real-once", "--no-headers")).toMatch(/^real-once\s+0\/1\s+Completed\s/);
  }, 240_000);
});
