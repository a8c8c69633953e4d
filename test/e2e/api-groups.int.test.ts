// The real kubectl (v1.32) against a real apiserver process on a real etcd, for the batch, autoscaling, policy,
// networking, scheduling, node, storage and admissionregistration kinds and ControllerRevisions: discovery, create,
// get with kubectl's columns, describe, apply, watch, delete, the generators (`create job|cronjob|pdb|ingress`,
// `autoscale`), Priority and RuntimeClass admission, and `kubectl drain` blocked by a PodDisruptionBudget. No
// scheduler or kubelets: statuses are written here as their controllers would write them, except the last test's,
// where the controller-manager's disruption controller keeps a budget's status.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, waitFor, type KubectlResult, type TestCluster } from "../support/apiserver.js";
import { startComponentOnFreePort } from "../support/components.js";

const CLASSES = `
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: lab-nginx}
spec: {controller: example.com/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-web}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {role: frontend}}}], ports: [{port: 80}]}]
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: gvisor}
handler: runsc
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: hostpath.csi.k8s.io}
spec: {podInfoOnMount: true}
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata: {name: lab-node-1}
spec:
  drivers: [{name: hostpath.csi.k8s.io, nodeID: lab-node-1}]
---
apiVersion: storage.k8s.io/v1
kind: CSIStorageCapacity
metadata: {name: cap-1}
storageClassName: standard
capacity: 10Gi
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata: {name: va-1}
spec:
  attacher: hostpath.csi.k8s.io
  nodeName: lab-node-1
  source: {persistentVolumeName: pv-1}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: lab-validator}
webhooks:
- name: validate.lab.example.com
  clientConfig: {service: {namespace: default, name: validator}}
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}]
  sideEffects: None
  admissionReviewVersions: [v1]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: lab-mutator}
webhooks:
- name: mutate.lab.example.com
  clientConfig: {url: "https://mutator.example.com/mutate"}
  sideEffects: NoneOnDryRun
  admissionReviewVersions: [v1]
---
apiVersion: apps/v1
kind: ControllerRevision
metadata: {name: web-7d9c5}
data: {spec: {template: {spec: {containers: [{name: web, image: nginx}]}}}}
revision: 3
`;

const NODE = `
apiVersion: v1
kind: Node
metadata: {name: lab-node-1, labels: {kubernetes.io/hostname: lab-node-1}}
`;

function webPod(name: string): string {
  return `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: web}}
spec:
  nodeName: lab-node-1
  containers: [{name: web, image: nginx}]
`;
}

describe("kubectl against the batch, autoscaling, policy, networking, scheduling, node, storage and admission APIs", () => {
  let cluster: TestCluster;
  const k = (...args: string[]): Promise<KubectlResult> => cluster.kubectl(args);
  const kFail = (...args: string[]): Promise<KubectlResult> => cluster.kubectl(args, { allowFailure: true });
  const apply = (manifest: string, ...args: string[]): Promise<KubectlResult> => cluster.kubectl(["apply", "-f", "-", ...args], { stdin: manifest, allowFailure: true });
  /** The header and the rows of a `kubectl get`, cells split on runs of two or more spaces. */
  const table = async (...args: string[]): Promise<string[][]> => (await k("get", ...args)).stdout.trim().split("\n").map((line) => line.trim().split(/\s{2,}/));

  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  afterAll(async () => {
    await cluster.destroy();
  });

  it("discovers every kind with its short names", async () => {
    const out = (await k("api-resources", "--no-headers")).stdout;
    const rows = out.split("\n").map((line) => line.trim().split(/\s+/));
    const find = (name: string): string[] | undefined => rows.find((r) => r[0] === name);
    expect(find("jobs")).toEqual(["jobs", "batch/v1", "true", "Job"]);
    expect(find("cronjobs")).toEqual(["cronjobs", "cj", "batch/v1", "true", "CronJob"]);
    expect(find("horizontalpodautoscalers")).toEqual(["horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"]);
    expect(find("poddisruptionbudgets")).toEqual(["poddisruptionbudgets", "pdb", "policy/v1", "true", "PodDisruptionBudget"]);
    expect(find("ingresses")).toEqual(["ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"]);
    expect(find("networkpolicies")).toEqual(["networkpolicies", "netpol", "networking.k8s.io/v1", "true", "NetworkPolicy"]);
    expect(find("priorityclasses")).toEqual(["priorityclasses", "pc", "scheduling.k8s.io/v1", "false", "PriorityClass"]);
    expect(find("storageclasses")).toEqual(["storageclasses", "sc", "storage.k8s.io/v1", "false", "StorageClass"]);
    for (const name of ["ingressclasses", "runtimeclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments", "validatingwebhookconfigurations", "mutatingwebhookconfigurations", "controllerrevisions"]) {
      expect(find(name), name).toBeDefined();
    }
    const versions = (await k("api-versions")).stdout;
    expect(versions).toContain("autoscaling/v1\n");
    expect(versions).toContain("autoscaling/v2\n");
  });

  it("lists the system PriorityClasses the apiserver creates at start", async () => {
    const rows = await table("priorityclasses");
    expect(rows[0]).toEqual(["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]);
    expect(rows.find((r) => r[0] === "system-cluster-critical")?.slice(1, 3)).toEqual(["2000000000", "false"]);
    expect(rows.find((r) => r[0] === "system-node-critical")?.slice(1, 3)).toEqual(["2000001000", "false"]);
    expect(rows.find((r) => r[0] === "system-node-critical")?.[4]).toBe("PreemptLowerPriority");
  });

  it("creates a Job with kubectl create job and shows it with kubectl's columns", async () => {
    expect((await k("create", "job", "pi", "--image=busybox", "--", "echo", "hi")).stdout.trim()).toBe("job.batch/pi created");
    const rows = await table("jobs");
    expect(rows[0]).toEqual(["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]);
    expect(rows[1]?.slice(0, 3)).toEqual(["pi", "Running", "0/1"]);
    const job = JSON.parse((await k("get", "job", "pi", "-o", "json")).stdout) as { metadata: { uid: string }; spec: { selector: unknown; backoffLimit: number; completions: number; template: { metadata: { labels: Record<string, string> } } } };
    expect(job.spec.selector).toEqual({ matchLabels: { "batch.kubernetes.io/controller-uid": job.metadata.uid } });
    expect(job.spec.template.metadata.labels).toMatchObject({ "batch.kubernetes.io/job-name": "pi", "job-name": "pi", "controller-uid": job.metadata.uid });
    expect(job.spec.backoffLimit).toBe(6);
    expect(job.spec.completions).toBe(1);
    // The Job controller's status, written as it would write it: the row follows.
    await k("patch", "job", "pi", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { succeeded: 1, startTime: "2026-01-01T00:00:00Z", completionTime: "2026-01-01T00:00:07Z", conditions: [{ type: "Complete", status: "True" }] } }));
    expect((await table("job", "pi"))[1]?.slice(0, 4)).toEqual(["pi", "Complete", "1/1", "7s"]);
    expect((await k("describe", "job", "pi")).stdout).toMatch(/Name:\s+pi/);
  });

  it("refuses a Job whose pods would restart Always, with Kubernetes' message", async () => {
    const res = await apply(`
apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  template:
    spec:
      containers: [{name: c, image: busybox}]
`);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(`The Job "bad" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"`);
  });

  it("creates a CronJob with kubectl create cronjob and refuses a bad schedule", async () => {
    expect((await k("create", "cronjob", "hello", "--image=busybox", "--schedule=*/5 * * * *", "--", "date")).stdout.trim()).toBe("cronjob.batch/hello created");
    const rows = await table("cj");
    expect(rows[0]).toEqual(["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]);
    expect(rows[1]?.slice(0, 6)).toEqual(["hello", "*/5 * * * *", "<none>", "False", "0", "<none>"]);
    const bad = await kFail("create", "cronjob", "broken", "--image=busybox", "--schedule=61 * * * *");
    expect(bad.stderr).toContain(`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`);
    const cj = JSON.parse((await k("get", "cj", "hello", "-o", "json")).stdout) as { spec: Record<string, unknown> };
    expect(cj.spec).toMatchObject({ concurrencyPolicy: "Allow", suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
  });

  it("autoscales a Deployment, storing v2 and serving v1 by conversion", async () => {
    await k("create", "deployment", "web", "--image=nginx");
    expect((await k("autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=50")).stdout.trim()).toBe("horizontalpodautoscaler.autoscaling/web autoscaled");
    const rows = await table("hpa");
    expect(rows[0]).toEqual(["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]);
    expect(rows[1]?.slice(0, 6)).toEqual(["web", "Deployment/web", "cpu: <unknown>/50%", "2", "5", "0"]);
    const v2 = JSON.parse((await k("get", "horizontalpodautoscalers.v2.autoscaling", "web", "-o", "json")).stdout) as { apiVersion: string; spec: { metrics: unknown[] } };
    expect(v2.apiVersion).toBe("autoscaling/v2");
    expect(v2.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }]);
    const v1 = JSON.parse((await k("get", "horizontalpodautoscalers.v1.autoscaling", "web", "-o", "json")).stdout) as { apiVersion: string; spec: Record<string, unknown> };
    expect(v1.apiVersion).toBe("autoscaling/v1");
    expect(v1.spec).toMatchObject({ minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 50 });
    // A v1 patch lands on the v2 object.
    await k("patch", "horizontalpodautoscalers.v1.autoscaling", "web", "--type=merge", "-p", '{"spec":{"targetCPUUtilizationPercentage":70}}');
    expect((await table("hpa", "web"))[1]?.[2]).toBe("cpu: <unknown>/70%");
    expect((await k("describe", "hpa", "web")).stdout).toMatch(/Reference:\s+Deployment\/web/);
  });

  it("admits pods by PriorityClass and RuntimeClass, refusing unknown ones as Kubernetes does", async () => {
    const critical = await apply(`
apiVersion: v1
kind: Pod
metadata: {name: critical}
spec:
  priorityClassName: system-cluster-critical
  containers: [{name: c, image: busybox}]
`);
    expect(critical.code).toBe(0);
    expect((await k("get", "pod", "critical", "-o", "jsonpath={.spec.priority} {.spec.preemptionPolicy}")).stdout).toBe("2000000000 PreemptLowerPriority");
    const plain = JSON.parse((await k("run", "plain", "--image=busybox", "-o", "json")).stdout) as { spec: { priority: number } };
    expect(plain.spec.priority).toBe(0);
    const unknown = await apply(`
apiVersion: v1
kind: Pod
metadata: {name: nope}
spec:
  priorityClassName: nope
  containers: [{name: c, image: busybox}]
`);
    expect(unknown.stderr).toContain(`pods "nope" is forbidden: no PriorityClass with name nope was found`);
    const runtime = await apply(`
apiVersion: v1
kind: Pod
metadata: {name: sandboxed}
spec:
  runtimeClassName: kata
  containers: [{name: c, image: busybox}]
`);
    expect(runtime.stderr).toContain(`pods "sandboxed" is forbidden: pod rejected: RuntimeClass "kata" not found`);
    const reserved = await apply(`
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: system-mine}
value: 10
`);
    expect(reserved.stderr).toContain(`metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only`);
    expect((await k("create", "priorityclass", "high", "--value=1000", "--global-default=true", "--description=high")).stdout.trim()).toBe("priorityclass.scheduling.k8s.io/high created");
    const second = await kFail("create", "priorityclass", "higher", "--value=2000", "--global-default=true");
    expect(second.stderr).toContain("PriorityClass high is already marked as default. Only one default can exist");
    await k("delete", "priorityclass", "high");
  });

  it("creates an Ingress with kubectl create ingress and refuses a path without pathType", async () => {
    expect((await k("create", "ingress", "web", "--rule=foo.com/bar*=svc1:8080", "--rule=bar.com/=svc2:http,tls=my-cert")).stdout.trim()).toBe("ingress.networking.k8s.io/web created");
    const rows = await table("ing");
    expect(rows[0]).toEqual(["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]);
    expect(rows[1]?.slice(0, 4)).toEqual(["web", "<none>", "foo.com,bar.com", "80, 443"]);
    const bad = await apply(`
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bad}
spec:
  rules: [{host: a.com, http: {paths: [{path: /, backend: {service: {name: svc, port: {number: 80}}}}]}}]
`);
    expect(bad.stderr).toContain("spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified");
  });

  it("applies, gets, describes and deletes the class, storage, admission and revision kinds", async () => {
    const applied = await apply(CLASSES);
    expect(applied.stderr).toBe("");
    expect((await table("ingressclass"))[1]?.slice(0, 3)).toEqual(["lab-nginx", "example.com/ingress-nginx", "<none>"]);
    const netpol = await table("netpol");
    expect(netpol[0]).toEqual(["NAME", "POD-SELECTOR", "AGE"]);
    expect(netpol[1]?.slice(0, 2)).toEqual(["deny-web", "app=web"]);
    expect((await table("runtimeclass"))[1]?.slice(0, 2)).toEqual(["gvisor", "runsc"]);
    const sc = await table("sc");
    expect(sc[0]).toEqual(["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]);
    expect(sc[1]?.slice(0, 5)).toEqual(["standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", "false"]);
    const drivers = await table("csidrivers");
    expect(drivers[0]).toEqual(["NAME", "ATTACHREQUIRED", "PODINFOONMOUNT", "STORAGECAPACITY", "TOKENREQUESTS", "REQUIRESREPUBLISH", "MODES", "AGE"]);
    expect(drivers[1]?.slice(0, 7)).toEqual(["hostpath.csi.k8s.io", "true", "true", "false", "<unset>", "false", "Persistent"]);
    expect((await table("csinodes"))[1]?.slice(0, 2)).toEqual(["lab-node-1", "1"]);
    expect((await table("csistoragecapacities"))[1]).toEqual(["cap-1", "standard", "10Gi"]);
    expect((await table("volumeattachments"))[1]?.slice(0, 5)).toEqual(["va-1", "hostpath.csi.k8s.io", "pv-1", "lab-node-1", "false"]);
    expect((await table("validatingwebhookconfigurations"))[1]?.slice(0, 2)).toEqual(["lab-validator", "1"]);
    expect((await table("mutatingwebhookconfigurations"))[1]?.slice(0, 2)).toEqual(["lab-mutator", "1"]);
    expect((await table("controllerrevisions"))[1]?.slice(0, 3)).toEqual(["web-7d9c5", "<none>", "3"]);
    const hook = JSON.parse((await k("get", "validatingwebhookconfigurations", "lab-validator", "-o", "json")).stdout) as { webhooks: Record<string, unknown>[] };
    expect(hook.webhooks[0]).toMatchObject({ failurePolicy: "Fail", matchPolicy: "Equivalent", timeoutSeconds: 10, namespaceSelector: {}, objectSelector: {} });
    for (const kind of ["ingressclass/lab-nginx", "netpol/deny-web", "runtimeclass/gvisor", "sc/standard", "csidriver/hostpath.csi.k8s.io", "csinode/lab-node-1", "volumeattachment/va-1", "validatingwebhookconfiguration/lab-validator", "controllerrevision/web-7d9c5"]) {
      const described = await kFail("describe", kind);
      expect(described.code, `${kind}: ${described.stderr}`).toBe(0);
      expect(described.stdout).toMatch(/Name:/);
    }
    // Apply again: a no-op, then a change.
    expect((await apply(CLASSES)).stdout).toContain("storageclass.storage.k8s.io/standard unchanged");
    const immutable = await apply(CLASSES.replace("handler: runsc", "handler: runc"));
    expect(immutable.stderr).toContain(`handler: Invalid value: "runc": field is immutable`);
    const deleted = await cluster.kubectl(["delete", "-f", "-", "--wait=false"], { stdin: CLASSES });
    expect(deleted.stdout).toContain(`storageclass.storage.k8s.io "standard" deleted`);
    expect((await kFail("get", "sc", "standard")).stderr).toContain(`storageclasses.storage.k8s.io "standard" not found`);
  });

  it("watches Jobs: get --watch sees another client's create", async () => {
    const child = spawn("kubectl", ["--kubeconfig", cluster.kubeconfig, "--cache-dir", join(cluster.workDir, "watch-cache"), "get", "jobs", "-w", "--output-watch-events"], { stdio: ["ignore", "pipe", "pipe"] });
    let seen = "";
    child.stdout.on("data", (c: Buffer) => {
      seen += c.toString();
    });
    try {
      await waitFor("the initial listing", () => seen.includes("pi") || undefined);
      await k("create", "job", "watched", "--image=busybox");
      await waitFor("the ADDED event", () => /ADDED\s+watched/.test(seen) || undefined);
      await k("delete", "job", "watched");
      await waitFor("the DELETED event", () => /DELETED\s+watched/.test(seen) || undefined);
    } finally {
      child.kill();
    }
  });

  it("blocks kubectl drain with a PodDisruptionBudget, with the message users see, and lets it through when allowed", async () => {
    await apply(NODE);
    await apply(webPod("web-1"));
    await k("patch", "pod", "web-1", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } }));
    expect((await k("create", "pdb", "web-pdb", "--selector=app=web", "--min-available=1")).stdout.trim()).toBe("poddisruptionbudget.policy/web-pdb created");
    const rows = await table("pdb");
    expect(rows[0]).toEqual(["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]);
    expect(rows[1]?.slice(0, 4)).toEqual(["web-pdb", "1", "N/A", "0"]);
    // The disruption controller's view: one healthy pod, one needed.
    const budget = (allowed: number): string => JSON.stringify({ status: { observedGeneration: 1, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1, disruptionsAllowed: allowed } });
    await k("patch", "pdb", "web-pdb", "--subresource=status", "--type=merge", "-p", budget(0));
    const blocked = await cluster.kubectl(["drain", "lab-node-1", "--force", "--timeout=3s", "--grace-period=0"], { allowFailure: true });
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toContain(`error when evicting pods/"web-1" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`);
    expect((await k("get", "pod", "web-1", "-o", "name")).stdout.trim()).toBe("pod/web-1");
    await k("patch", "pdb", "web-pdb", "--subresource=status", "--type=merge", "-p", budget(1));
    const drained = await cluster.kubectl(["drain", "lab-node-1", "--force", "--timeout=20s", "--grace-period=0"], { allowFailure: true });
    expect(drained.stdout + drained.stderr).toContain("evicting pod default/web-1");
    expect(drained.stdout).toContain("node/lab-node-1 drained");
    const after = JSON.parse((await k("get", "pdb", "web-pdb", "-o", "json")).stdout) as { status: { disruptionsAllowed: number; disruptedPods: Record<string, string> } };
    expect(after.status.disruptionsAllowed).toBe(0);
    expect(Object.keys(after.status.disruptedPods)).toEqual(["web-1"]);
  });

  it("keeps a budget's status with the controller-manager's disruption controller", async () => {
    for (const name of ["db-1", "db-2"]) {
      await apply(webPod(name).replace("app: web", "app: db"));
      await k("patch", "pod", name, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } }));
    }
    await k("create", "pdb", "db-pdb", "--selector=app=db", "--min-available=1");
    const cm = await startComponentOnFreePort("kube-controller-manager", [`--kubeconfig=${cluster.kubeconfig}`, "--controllers=disruption", "--leader-elect=false"]);
    try {
      await waitFor("the disruption controller's status", async () => {
        const rows = await table("pdb", "db-pdb");
        return rows[1]?.[3] === "1" || undefined;
      }, 20_000, 200);
      const pdb = JSON.parse((await k("get", "pdb", "db-pdb", "-o", "json")).stdout) as { status: Record<string, unknown> };
      expect(pdb.status).toMatchObject({ observedGeneration: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, disruptionsAllowed: 1 });
      await k("patch", "pod", "db-2", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { conditions: [{ type: "Ready", status: "False" }] } }));
      await waitFor("the budget to see the unready pod", async () => ((await table("pdb", "db-pdb"))[1]?.[3] === "0" ? true : undefined), 20_000, 200);
    } finally {
      await cm.kill();
    }
  });
});
