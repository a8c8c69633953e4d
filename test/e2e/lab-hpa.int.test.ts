// A HorizontalPodAutoscaler on a real `kubelab up --nodes 1`: runc containers, the kubelet's cgroup metrics,
// metrics-server behind the aggregator, and the controller-manager's horizontalpodautoscaling controller reading
// metrics.k8s.io through the apiserver. A Deployment whose pods burn cpu (50m requested, 100m limit) under
// `kubectl autoscale --cpu-percent=50 --min=1 --max=3` grows to 3; once the pods stop burning it shrinks back to 1
// after the (shortened) downscale stabilization window. The lab passes the controller-manager a short sync period
// and window (`up --controller-manager-arg`); everything is driven with the real kubectl.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/apiserver.js";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";

const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`lab-hpa.int.test: skipped: ${prerequisites.reason}`);

const lab = new TestLab("e2ehpa");
const SYNC_PERIOD = "3s";
const DOWNSCALE_WINDOW = "15s";

/** Burns cpu until /tmp/stop exists, then idles: the load is switched off with `kubectl exec` in each pod. */
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: burn
spec:
  replicas: 1
  selector:
    matchLabels: {app: burn}
  template:
    metadata:
      labels: {app: burn}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: busybox
        command: ["sh", "-c", "while [ ! -f /tmp/stop ]; do :; done; exec sleep 3600"]
        resources:
          requests: {cpu: 50m}
          limits: {cpu: 100m}
`;

interface Hpa {
  status?: { currentReplicas?: number; desiredReplicas?: number; currentMetrics?: { resource?: { current?: { averageUtilization?: number } } }[]; conditions?: { type: string; status: string; reason?: string }[] };
}

async function hpaStatus(): Promise<Hpa["status"]> {
  return (JSON.parse(await lab.kubectlOk("get", "hpa.v2.autoscaling", "burn", "-o", "json")) as Hpa).status;
}

async function deploymentReplicas(): Promise<number> {
  return Number(await lab.kubectlOk("get", "deployment", "burn", "-o", "jsonpath={.spec.replicas}"));
}

async function runningPods(): Promise<string[]> {
  const out = await lab.kubectlOk("get", "pods", "-l", "app=burn", "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}");
  return out.split(/\s+/).filter((n) => n !== "");
}

describe.skipIf(!prerequisites.ok)("HorizontalPodAutoscaler on a 1-node kubelab", () => {
  beforeAll(async () => {
    await lab.startOrTearDown(async () => {
      const out = await lab.up(1, [
        `--controller-manager-arg=--horizontal-pod-autoscaler-sync-period=${SYNC_PERIOD}`,
        `--controller-manager-arg=--horizontal-pod-autoscaler-downscale-stabilization=${DOWNSCALE_WINDOW}`,
      ]);
      expect(out).toContain("metrics API: v1beta1.metrics.k8s.io available");
      expect(out).toContain(`--horizontal-pod-autoscaler-sync-period=${SYNC_PERIOD}`);
    });
  }, 200_000);

  afterAll(() => lab.downCleanly(), 180_000);

  it("scales a cpu-burning Deployment up to max under load and back down to min when the load stops", async () => {
    const started = performance.now();
    const manifest = join(lab.home, "burn.yaml");
    writeFileSync(manifest, DEPLOYMENT);
    await lab.kubectlOk("apply", "-f", manifest);
    expect(await lab.kubectlOk("autoscale", "deployment", "burn", "--cpu-percent=50", "--min=1", "--max=3")).toContain("horizontalpodautoscaler.autoscaling/burn autoscaled");
    // Before metrics-server has a rate for the pod: <unknown>, and the controller says why.
    const early = await lab.kubectlOk("get", "hpa", "burn");
    expect(early).toMatch(/NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE/);
    expect(early).toMatch(/burn\s+Deployment\/burn\s+cpu: (<unknown>|\d+%)\/50%\s+1\s+3\s+/);

    await waitFor("the HPA scales burn to 3", async () => ((await deploymentReplicas()) === 3 ? true : undefined), 120_000, 1_000);
    const up = await hpaStatus();
    expect(up?.desiredReplicas).toBe(3);
    expect(up?.currentMetrics?.[0]?.resource?.current?.averageUtilization).toBeGreaterThan(55);
    expect(up?.conditions?.find((c) => c.type === "ScalingActive")).toMatchObject({ status: "True", reason: "ValidMetricFound" });
    expect(await lab.kubectlOk("get", "hpa", "burn")).toMatch(/burn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+3\s+\d\s+/);
    const describeUp = await lab.kubectlOk("describe", "hpa", "burn");
    expect(describeUp).toMatch(/Reference:\s+Deployment\/burn/);
    expect(describeUp).toMatch(/resource cpu on pods\s+\(as a percentage of request\):\s+\d+% \(\d+m\) \/ 50%/);
    expect(describeUp).toMatch(/Normal\s+SuccessfulRescale\s+.*horizontal-pod-autoscaler\s+New size: 3; reason: cpu resource utilization \(percentage of request\) above target/);
    const scaledUpAt = performance.now();

    // Switch the load off in every pod once all three run; the HPA waits out its window and goes back to 1.
    const pods = await waitFor("3 burn pods Running", async () => {
      const names = await runningPods();
      return names.length === 3 ? names : undefined;
    }, 60_000, 500);
    for (const pod of pods) await lab.kubectlOk("exec", pod, "--", "touch", "/tmp/stop");
    await waitFor("the HPA scales burn back to 1", async () => ((await deploymentReplicas()) === 1 ? true : undefined), 120_000, 1_000);
    const down = await hpaStatus();
    expect(down?.desiredReplicas).toBe(1);
    expect(down?.currentMetrics?.[0]?.resource?.current?.averageUtilization).toBeLessThan(50);
    const describeDown = await lab.kubectlOk("describe", "hpa", "burn");
    expect(describeDown).toMatch(/New size: 1; reason: All metrics below target/);
    expect(describeDown).toMatch(/ScalingLimited\s+True\s+TooFewReplicas/);
    console.log(`kubectl get hpa burn:\n${await lab.kubectlOk("get", "hpa", "burn")}\nkubectl describe hpa burn:\n${describeDown}`);
    console.log(`HPA e2e: scaled up ${((scaledUpAt - started) / 1000).toFixed(1)} s after the Deployment was created, down ${((performance.now() - scaledUpAt) / 1000).toFixed(1)} s after that (sync period ${SYNC_PERIOD}, downscale window ${DOWNSCALE_WINDOW}, metric resolution 15s)`);
  }, 260_000);
});
