import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import type { LimitRange, PersistentVolumeClaim, Pod, ResourceQuota, StorageClass } from "../../api/types/index.js";
import { memoryRegistry } from "../registry/testing/memory-storage.js";
import { rejection } from "../registry/testing/rejection.js";
import type { ResourceStore } from "../registry/store.js";
import { AdmissionChain, selectPlugins, UnknownAdmissionPluginError, type AdmissionPlugin } from "./admission.js";
import { defaultClass, defaultStorageClassPlugin } from "./defaultstorageclass.js";
import { limitRangerPlugin } from "./limitranger.js";
import { allPlugins } from "./plugins.js";
import { resourceQuotaPlugin } from "./resourcequota.js";
import { serviceAccountPlugin } from "./serviceaccount.js";

function pod(name: string, spec: Partial<NonNullable<Pod["spec"]>> = {}, annotations?: Record<string, string>): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { containers: [{ name: "app", image: "nginx" }], ...spec } };
}

async function setup(plugins: AdmissionPlugin[]) {
  const { registry } = await memoryRegistry({ namespaces: ["default", "ns"], admission: new AdmissionChain(plugins) });
  const store = (resource: string): ResourceStore => registry.core(resource);
  return { registry, store, pods: store("pods") };
}

const fastServiceAccounts = () => serviceAccountPlugin({ defaultAttempts: 2, retryIntervalMs: () => 1, suffix: () => "abcde" });

describe("selectPlugins", () => {
  it("runs the default plugins, plus enabled, minus disabled, in the chain's order", () => {
    expect(selectPlugins(allPlugins(), "", "").names).toEqual(["LimitRanger", "ServiceAccount", "DefaultStorageClass", "ResourceQuota"]);
    expect(selectPlugins(allPlugins(), "ServiceAccount", "ResourceQuota,LimitRanger").names).toEqual(["ServiceAccount", "DefaultStorageClass"]);
  });

  it("refuses unknown names and a plugin both enabled and disabled", () => {
    expect(() => selectPlugins(allPlugins(), "NamespaceLifecycle", "")).toThrow(UnknownAdmissionPluginError);
    expect(() => selectPlugins(allPlugins(), "", "Bogus")).toThrow('--disable-admission-plugins: admission-control plugin "Bogus" is unknown');
    expect(() => selectPlugins(allPlugins(), "ServiceAccount", "ServiceAccount")).toThrow("ServiceAccount plugin is both enabled and disabled");
  });
});

describe("ServiceAccount admission", () => {
  it("defaults the service account and mounts the API-access volume in every container and init container", async () => {
    const { store, pods } = await setup([fastServiceAccounts()]);
    await store("serviceaccounts").create("ns", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } });
    const created = (await pods.create("ns", pod("web", { initContainers: [{ name: "init", image: "busybox" }] }))) as Pod;
    expect(created.spec?.serviceAccountName).toBe("default");
    expect(created.spec?.serviceAccount).toBe("default");
    expect(created.spec?.volumes?.map((v) => v.name)).toEqual(["kube-api-access-abcde"]);
    expect(created.spec?.volumes?.[0]?.projected?.sources?.[0]).toEqual({ serviceAccountToken: { expirationSeconds: 3607, path: "token" } });
    const mount = { name: "kube-api-access-abcde", readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" };
    expect(created.spec?.containers[0]?.volumeMounts).toEqual([mount]);
    expect(created.spec?.initContainers?.[0]?.volumeMounts).toEqual([mount]);
  });

  it("refuses a pod whose service account is missing, with Kubernetes' message", async () => {
    const { pods } = await setup([fastServiceAccounts()]);
    const missing = await rejection(pods.create("ns", pod("web", { serviceAccountName: "robot" })));
    expect([missing.code, missing.message]).toEqual([403, 'pods "web" is forbidden: error looking up service account ns/robot: serviceaccount "robot" not found']);
    const noDefault = await rejection(pods.create("ns", pod("web")));
    expect(noDefault.message).toBe('pods "web" is forbidden: error looking up service account ns/default: serviceaccount "default" not found');
  });

  it("waits a moment for the default service account the controller-manager is about to create", async () => {
    const { store, pods } = await setup([serviceAccountPlugin({ defaultAttempts: 10, retryIntervalMs: () => 20 })]);
    setTimeout(() => void store("serviceaccounts").create("ns", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } }), 50);
    const created = (await pods.create("ns", pod("early"))) as Pod;
    expect(created.spec?.serviceAccountName).toBe("default");
  });

  it("mounts nothing when the pod or the account opts out, the pod's choice winning, or a container mounts the path itself", async () => {
    const { store, pods } = await setup([fastServiceAccounts()]);
    await store("serviceaccounts").create("ns", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot" }, automountServiceAccountToken: false });
    await store("serviceaccounts").create("ns", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } });
    expect(((await pods.create("ns", pod("a", { serviceAccountName: "robot" }))) as Pod).spec?.volumes).toBeUndefined();
    expect(((await pods.create("ns", pod("b", { serviceAccountName: "robot", automountServiceAccountToken: true }))) as Pod).spec?.volumes).toHaveLength(1);
    expect(((await pods.create("ns", pod("c", { automountServiceAccountToken: false }))) as Pod).spec?.volumes).toBeUndefined();
    const own = pod("d", { volumes: [{ name: "mine", emptyDir: {} }], containers: [{ name: "app", image: "nginx", volumeMounts: [{ name: "mine", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" }] }] });
    expect(((await pods.create("ns", own)) as Pod).spec?.volumes?.map((v) => v.name)).toEqual(["mine"]);
  });

  it("leaves mirror pods alone", async () => {
    const { pods } = await setup([fastServiceAccounts()]);
    const mirror = (await pods.create("ns", pod("static", {}, { "kubernetes.io/config.mirror": "x" }))) as Pod;
    // (no service account to look up, no volume; the name itself is API defaulting's)
    expect(mirror.spec?.volumes).toBeUndefined();
  });
});

const RANGE: LimitRange = {
  apiVersion: "v1",
  kind: "LimitRange",
  metadata: { name: "limits" },
  spec: {
    limits: [
      { type: "Container", default: { cpu: "500m", memory: "256Mi" }, defaultRequest: { cpu: "250m" }, min: { cpu: "100m" }, max: { cpu: "1" }, maxLimitRequestRatio: { cpu: "4" } },
      { type: "PersistentVolumeClaim", min: { storage: "1Gi" }, max: { storage: "10Gi" } },
    ],
  },
};

function claim(name: string, storage: string, storageClassName?: string): PersistentVolumeClaim {
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } }, ...(storageClassName !== undefined ? { storageClassName } : {}) } };
}

describe("LimitRanger admission", () => {
  it("sets the range's defaults on containers that lack them and says so in an annotation", async () => {
    const { store, pods } = await setup([limitRangerPlugin()]);
    await store("limitranges").create("ns", structuredClone(RANGE));
    const created = (await pods.create("ns", pod("web", { containers: [{ name: "app", image: "nginx", resources: { limits: { memory: "128Mi" } } }] }))) as Pod;
    // memory's request comes from its own limit (API defaulting), cpu's from the range.
    expect(created.spec?.containers[0]?.resources).toEqual({ limits: { memory: "128Mi", cpu: "500m" }, requests: { memory: "128Mi", cpu: "250m" } });
    expect(created.metadata.annotations?.["kubernetes.io/limit-ranger"]).toBe("LimitRanger plugin set: cpu request for container app; cpu limit for container app");
  });

  it("refuses containers outside min, max and the limit/request ratio with Kubernetes' messages", async () => {
    const { store, pods } = await setup([limitRangerPlugin()]);
    await store("limitranges").create("ns", structuredClone(RANGE));
    const withResources = (name: string, resources: NonNullable<NonNullable<Pod["spec"]>["containers"][number]["resources"]>) => pod(name, { containers: [{ name: "app", image: "nginx", resources }] });
    // The range's default limit (500m) also puts the ratio over 4: every breach is reported, in Kubernetes' order.
    expect((await rejection(pods.create("ns", withResources("small", { requests: { cpu: "50m" } })))).message).toBe(
      'pods "small" is forbidden: [minimum cpu usage per Container is 100m, but request is 50m, cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000]',
    );
    expect((await rejection(pods.create("ns", withResources("small2", { requests: { cpu: "50m" }, limits: { cpu: "100m" } })))).message).toBe('pods "small2" is forbidden: minimum cpu usage per Container is 100m, but request is 50m');
    expect((await rejection(pods.create("ns", withResources("big", { limits: { cpu: "2" } })))).message).toBe('pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
    expect((await rejection(pods.create("ns", withResources("ratio", { requests: { cpu: "100m" }, limits: { cpu: "1" } })))).message).toBe(
      'pods "ratio" is forbidden: cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000',
    );
  });

  it("aggregates several breaches, and checks the Pod type against the sum of the containers", async () => {
    const { store, pods } = await setup([limitRangerPlugin()]);
    await store("limitranges").create("ns", { apiVersion: "v1", kind: "LimitRange", metadata: { name: "pod" }, spec: { limits: [{ type: "Pod", max: { cpu: "1", memory: "1Gi" } }] } });
    const two = pod("two", {
      containers: [
        { name: "a", image: "nginx", resources: { limits: { cpu: "600m", memory: "1Gi" } } },
        { name: "b", image: "nginx", resources: { limits: { cpu: "600m", memory: "1Gi" } } },
      ],
    });
    expect((await rejection(pods.create("ns", two))).message).toBe('pods "two" is forbidden: [maximum cpu usage per Pod is 1, but limit is 1200m, maximum memory usage per Pod is 1Gi, but limit is 2Gi]');
  });

  it("holds claims to the PersistentVolumeClaim min and max", async () => {
    const { store } = await setup([limitRangerPlugin()]);
    await store("limitranges").create("ns", structuredClone(RANGE));
    const claims = store("persistentvolumeclaims");
    expect((await rejection(claims.create("ns", claim("tiny", "500Mi")))).message).toBe('persistentvolumeclaims "tiny" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi');
    expect((await rejection(claims.create("ns", claim("huge", "20Gi")))).message).toBe('persistentvolumeclaims "huge" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi');
    await claims.create("ns", claim("fine", "5Gi"));
  });
});

function quota(name: string, hard: Record<string, string>, used?: Record<string, string>, scopes?: string[]): ResourceQuota {
  return { apiVersion: "v1", kind: "ResourceQuota", metadata: { name }, spec: { hard, ...(scopes ? { scopes } : {}) }, ...(used ? { status: { hard, used } } : {}) };
}

async function quotaSetup(...quotas: ResourceQuota[]) {
  const env = await setup([resourceQuotaPlugin()]);
  const quotaStore = env.store("resourcequotas");
  for (const q of quotas) {
    const created = await quotaStore.create("ns", { ...q, status: undefined });
    // The controller's first status, as its update would write it.
    if (q.status) await quotaStore.update("ns", q.metadata.name ?? "", { ...created, status: q.status }, { subresource: "status" });
  }
  const used = async (name: string) => ((await quotaStore.get("ns", name)) as ResourceQuota).status?.used;
  return { ...env, used };
}

describe("ResourceQuota admission", () => {
  it("charges what a create uses to status.used and refuses what would exceed hard with Kubernetes' message", async () => {
    const { pods, used } = await quotaSetup(quota("q", { pods: "2", "requests.cpu": "1" }, { pods: "0", "requests.cpu": "0" }));
    await pods.create("ns", pod("one", { containers: [{ name: "app", image: "nginx", resources: { requests: { cpu: "400m" } } }] }));
    await pods.create("ns", pod("two", { containers: [{ name: "app", image: "nginx", resources: { requests: { cpu: "400m" } } }] }));
    expect(await used("q")).toEqual({ pods: "2", "requests.cpu": "800m" });
    const third = await rejection(pods.create("ns", pod("three", { containers: [{ name: "app", image: "nginx", resources: { requests: { cpu: "400m" } } }] })));
    expect([third.code, third.message]).toEqual([403, 'pods "three" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=400m, used: pods=2,requests.cpu=800m, limited: pods=2,requests.cpu=1']);
    expect(await used("q")).toEqual({ pods: "2", "requests.cpu": "800m" });
  });

  it("wants a computed status first, and every container to ask for a quota-limited cpu or memory", async () => {
    const unknown = await quotaSetup(quota("fresh", { pods: "5" }));
    expect((await rejection(unknown.pods.create("ns", pod("p")))).message).toBe('pods "p" is forbidden: status unknown for quota: fresh, resources: pods');
    const { pods } = await quotaSetup(quota("cpu", { "limits.cpu": "2", "requests.memory": "1Gi" }, { "limits.cpu": "0", "requests.memory": "0" }));
    expect((await rejection(pods.create("ns", pod("p")))).message).toBe('pods "p" is forbidden: failed quota: cpu: must specify limits.cpu for: app; requests.memory for: app');
  });

  it("counts objects by count/<resource>.<group>, gives a charge back when the write fails, and charges nothing on a dry run", async () => {
    const { store, used } = await quotaSetup(quota("objects", { "count/configmaps": "2", configmaps: "5" }, { "count/configmaps": "0", configmaps: "0" }));
    const configMaps = store("configmaps");
    const cm = (name: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } });
    await configMaps.create("ns", cm("a"));
    await configMaps.create("ns", cm("b"), { dryRun: true });
    expect(await used("objects")).toEqual({ "count/configmaps": "1", configmaps: "1" });
    expect((await rejection(configMaps.create("ns", cm("a")))).reason).toBe("AlreadyExists");
    expect(await used("objects")).toEqual({ "count/configmaps": "1", configmaps: "1" });
    await configMaps.create("ns", cm("b"));
    expect((await rejection(configMaps.create("ns", cm("c")))).message).toBe('configmaps "c" is forbidden: exceeded quota: objects, requested: count/configmaps=1, used: count/configmaps=2, limited: count/configmaps=2');
  });

  it("counts a pod only in the quotas whose scopes match it", async () => {
    const { pods, used } = await quotaSetup(quota("besteffort", { pods: "1" }, { pods: "0" }, ["BestEffort"]), quota("burstable", { pods: "5" }, { pods: "0" }, ["NotBestEffort"]));
    await pods.create("ns", pod("plain"));
    await pods.create("ns", pod("sized", { containers: [{ name: "app", image: "nginx", resources: { requests: { cpu: "100m" } } }] }));
    expect([await used("besteffort"), await used("burstable")]).toEqual([{ pods: "1" }, { pods: "1" }]);
    expect((await rejection(pods.create("ns", pod("plain2")))).message).toContain("exceeded quota: besteffort");
  });
});

describe("DefaultStorageClass admission", () => {
  const sc = (name: string, isDefault: boolean, created?: string): StorageClass => ({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name, ...(created !== undefined ? { creationTimestamp: created } : {}), ...(isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}) },
    provisioner: "kubelab.dev/local-path",
  });

  it("picks the newest class marked default", () => {
    expect(defaultClass([sc("old", true, "2024-01-01T00:00:00Z"), sc("new", true, "2025-01-01T00:00:00Z"), sc("plain", false, "2026-01-01T00:00:00Z")])).toBe("new");
    expect(defaultClass([sc("plain", false, "2026-01-01T00:00:00Z")])).toBeUndefined();
  });

  it("fills in a claim's missing class and leaves an explicit one, even empty, alone", async () => {
    const { registry, store } = await setup([defaultStorageClassPlugin()]);
    const claims = store("persistentvolumeclaims");
    expect(((await claims.create("ns", claim("before", "1Gi"))) as PersistentVolumeClaim).spec?.storageClassName).toBeUndefined();
    await registry.storeOf("storage.k8s.io", "storageclasses")?.create(undefined, sc("standard", true));
    expect(((await claims.create("ns", claim("data", "1Gi"))) as PersistentVolumeClaim).spec?.storageClassName).toBe("standard");
    expect(((await claims.create("ns", claim("none", "1Gi", ""))) as PersistentVolumeClaim).spec?.storageClassName).toBe("");
    expect(((await claims.create("ns", claim("fast", "1Gi", "fast"))) as PersistentVolumeClaim).spec?.storageClassName).toBe("fast");
  });
});
