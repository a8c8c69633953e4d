import { describe, expect, it } from "vitest";
import type { KubeObject } from "../meta.js";
import { scheduleError } from "../cron.js";
import { edit, problems, updateProblems } from "./testing.js";

const podTemplate = (restartPolicy?: string): Record<string, unknown> => ({ spec: { containers: [{ name: "c", image: "busybox" }], ...(restartPolicy ? { restartPolicy } : {}) } });

function job(extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default" },
    spec: { selector: { matchLabels: { app: "pi" } }, template: { metadata: { labels: { app: "pi" } }, ...podTemplate("Never") }, ...extra },
  };
}

function cronJob(schedule: string, name = "hello"): KubeObject {
  return { apiVersion: "batch/v1", kind: "CronJob", metadata: { name, namespace: "default" }, spec: { schedule, jobTemplate: { spec: { template: podTemplate("OnFailure") } } } };
}

const obj = (apiVersion: string, kind: string, body: Record<string, unknown>, namespaced = true): KubeObject => ({ apiVersion, kind, metadata: { name: "x", ...(namespaced ? { namespace: "default" } : {}) }, ...body });

describe("batch validation", () => {
  it("accepts a valid Job and refuses pods that restart Always", () => {
    expect(problems(job())).toEqual([]);
    const always = job();
    (always.spec as { template: Record<string, unknown> }).template = { metadata: { labels: { app: "pi" } }, ...podTemplate() };
    expect(problems(always)).toEqual([`spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"`]);
  });

  it("requires the selector to match the template and counts to be non-negative", () => {
    expect(problems(job({ selector: { matchLabels: { app: "other" } }, parallelism: -1 }))).toEqual([
      "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"pi"}: `selector` does not match template `labels`',
    ]);
    expect(problems(job({ completionMode: "Indexed", completions: undefined, parallelism: 2 }))).toContain("spec.completions: Required value: when completion mode is Indexed");
  });

  it("keeps a Job's selector and template fixed unless it is suspended", () => {
    const prev = job();
    const next = edit(job(), (j) => ((j.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image = "busybox:2"));
    expect(updateProblems(next, prev)).toEqual(["spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable"]);
    const suspended = job({ suspend: true });
    expect(updateProblems(edit(job({ suspend: true }), (j) => ((j.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image = "busybox:2")), suspended)).toEqual([]);
  });

  it("accepts standard cron schedules and refuses bad ones with robfig/cron's messages", () => {
    for (const ok of ["*/5 * * * *", "0 0 * * MON-FRI", "15 3 1,15 JAN-JUN ?", "@hourly", "@every 1h30m"]) expect(scheduleError(ok), ok).toBeUndefined();
    expect(scheduleError("* * * *")).toBe("expected exactly 5 fields, found 4: [* * * *]");
    expect(scheduleError("61 * * * *")).toBe("end of range (61) above maximum (59): 61");
    expect(scheduleError("x * * * *")).toBe(`failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax`);
    expect(scheduleError("@fortnightly")).toBe("unrecognized descriptor: @fortnightly");
    expect(scheduleError("TZ=UTC 0 * * * *")).toBe("cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  });

  it("limits CronJob names to 52 characters and checks the schedule and time zone", () => {
    expect(problems(cronJob("0 * * * *"))).toEqual([]);
    const long = "a".repeat(53);
    expect(problems(cronJob("0 * * * *", long))).toEqual([`metadata.name: Invalid value: "${long}": must be no more than 52 characters`]);
    expect(problems(cronJob("bad"))).toEqual([`spec.schedule: Invalid value: "bad": expected exactly 5 fields, found 1: [bad]`]);
    const zoned = edit(cronJob("0 * * * *"), (c) => ((c.spec as Record<string, unknown>).timeZone = "Mars/Olympus"));
    expect(problems(zoned)).toEqual([`spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`]);
  });
});

describe("autoscaling, policy and networking validation", () => {
  it("checks an HPA's replica bounds and target", () => {
    const hpa = obj("autoscaling/v2", "HorizontalPodAutoscaler", { spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, minReplicas: 3, maxReplicas: 2 } });
    expect(problems(hpa)).toEqual(["spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"]);
    const noTarget = obj("autoscaling/v2", "HorizontalPodAutoscaler", { spec: { scaleTargetRef: { name: "web" }, maxReplicas: 0 } });
    expect(problems(noTarget)).toEqual([
      "spec.scaleTargetRef.kind: Required value",
      "spec.maxReplicas: Invalid value: 0: must be greater than 0",
      // minReplicas defaults to 1, so Kubernetes reports this too.
      "spec.maxReplicas: Invalid value: 0: must be greater than or equal to `minReplicas`",
    ]);
  });

  it("refuses a PDB that sets both bounds or a bad percentage", () => {
    expect(problems(obj("policy/v1", "PodDisruptionBudget", { spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } } }))).toEqual([]);
    expect(problems(obj("policy/v1", "PodDisruptionBudget", { spec: { minAvailable: 1, maxUnavailable: "10%" } }))).toEqual([
      'spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:1, MaxUnavailable:"10%"}: minAvailable and maxUnavailable cannot be both set',
    ]);
    expect(problems(obj("policy/v1", "PodDisruptionBudget", { spec: { maxUnavailable: "150%" } }))).toEqual([`spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%`]);
  });

  it("requires an Ingress path type, an absolute path and a backend port", () => {
    const ing = obj("networking.k8s.io/v1", "Ingress", { spec: { rules: [{ host: "a.com", http: { paths: [{ path: "x", pathType: "Prefix", backend: { service: { name: "svc" } } }, { path: "/", backend: { service: { name: "svc", port: { number: 80 } } } }] } }] } });
    expect(problems(ing)).toEqual([
      `spec.rules[0].http.paths[0].path: Invalid value: "x": must be an absolute path`,
      "spec.rules[0].http.paths[0].backend.service.port: Required value: port name or number is required",
      "spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified",
    ]);
    expect(problems(obj("networking.k8s.io/v1", "Ingress", { spec: {} }))).toEqual(["spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"]);
  });

  it("defaults a NetworkPolicy's policy types and port protocol", () => {
    const np = obj("networking.k8s.io/v1", "NetworkPolicy", { spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] } });
    expect(problems(np)).toEqual([]);
    expect(np.spec).toEqual({ podSelector: {}, egress: [{ ports: [{ port: 53, protocol: "TCP" }] }], policyTypes: ["Ingress", "Egress"] });
  });
});

describe("scheduling, node, storage and admissionregistration validation", () => {
  it("reserves the system- prefix and the highest priorities, and keeps a class's value fixed", () => {
    const pc = (name: string, value: number): KubeObject => ({ apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name }, value });
    expect(problems(pc("high", 1000))).toEqual([]);
    expect(problems(pc("system-mine", 1))).toEqual(["metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only"]);
    expect(problems(pc("huge", 1_000_000_001))).toEqual(["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]);
    expect(problems(pc("system-node-critical", 2000001000))).toEqual([]);
    expect(updateProblems(pc("high", 2000), pc("high", 1000))).toEqual(["value: Forbidden: may not be changed in an update."]);
  });

  it("requires a RuntimeClass handler and keeps it fixed", () => {
    const rc = (handler: string): KubeObject => ({ apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name: "gvisor" }, handler });
    expect(problems(rc("runsc"))).toEqual([]);
    expect(problems(rc("Bad_Handler"))[0]).toMatch(/^handler: Invalid value: "Bad_Handler": a lowercase RFC 1123 label/);
    expect(updateProblems(rc("runc"), rc("runsc"))).toEqual([`handler: Invalid value: "runc": field is immutable`]);
  });

  it("defaults a StorageClass and forbids changing its parameters", () => {
    const sc = (parameters: Record<string, string>): KubeObject => ({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "fast" }, provisioner: "example.com/ssd", parameters });
    const created = sc({ type: "ssd" });
    expect(problems(created)).toEqual([]);
    expect(created).toMatchObject({ reclaimPolicy: "Delete", volumeBindingMode: "Immediate" });
    expect(updateProblems(sc({ type: "hdd" }), sc({ type: "ssd" }))).toEqual(["parameters: Forbidden: updates to parameters are forbidden."]);
    expect(problems({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "none" } })).toEqual(["provisioner: Required value"]);
  });

  it("requires a VolumeAttachment's attacher, node and exactly one source", () => {
    const va = obj("storage.k8s.io/v1", "VolumeAttachment", { spec: {} }, false);
    expect(problems(va)).toEqual(["spec.attacher: Required value", "spec.nodeName: Required value", "spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName"]);
  });

  it("requires webhooks' side effects, review versions and one client config", () => {
    const hooks = obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", { webhooks: [{ name: "v.example.com", clientConfig: {} }] }, false);
    expect(problems(hooks)).toEqual([
      "webhooks[0].sideEffects: Required value: must specify one of None, NoneOnDryRun",
      "webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1",
      "webhooks[0].clientConfig: Required value: exactly one of url or service is required",
    ]);
  });

  it("keeps a ControllerRevision's data fixed", () => {
    const rev = (image: string): KubeObject => ({ apiVersion: "apps/v1", kind: "ControllerRevision", metadata: { name: "r", namespace: "default" }, data: { image }, revision: 1 });
    expect(problems(rev("a"))).toEqual([]);
    expect(updateProblems(rev("b"), rev("a"))).toEqual(["data: Invalid value: runtime.RawExtension{...}: field is immutable"]);
  });
});
