// The official JavaScript client, @kubernetes/client-node 1.x, against a real apiserver process on a real etcd: typed
// CRUD through CoreV1Api and AppsV1Api, the patch content types chosen with setHeaderOptions, the scale subresource,
// an informer (list + watch) and a raw Watch, and errors as the client's ApiException carrying a Status body.
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Deployment,
  type V1Pod,
  type V1Service,
} from "@kubernetes/client-node";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newConfigMap, newDeployment, newNamespace, newPod, newService } from "../../api/testing/builders.js";
import { startApiServerProcess, waitFor, writeKubeconfig, type ApiServerProcess } from "../support/apiserver.js";
import { testProcesses } from "../support/processes.js";
import { startEtcd, type EtcdHandle } from "../support/etcd.js";

const NS = "client-node";

interface StatusBody {
  kind?: unknown;
  apiVersion?: unknown;
  status?: unknown;
  reason?: unknown;
  code?: unknown;
  message?: unknown;
  details?: { causes?: { field?: string; message?: string }[] };
}

/** Runs `call`, expects it to fail with an ApiException, and returns its code with the parsed Status body. */
async function apiError(call: () => Promise<unknown>): Promise<{ code: number; status: StatusBody }> {
  try {
    await call();
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const raw: unknown = err.body;
    const parsed: unknown = typeof raw === "string" ? JSON.parse(raw) : raw;
    return { code: err.code, status: parsed as StatusBody };
  }
  throw new Error("expected the call to fail with an ApiException");
}

/** The builders' plain objects are structurally what the client's model classes describe. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the model type
function asModel<T>(object: object): T {
  return object as T;
}

function mergePatch(): ReturnType<typeof setHeaderOptions> {
  return setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
}

function strategicMergePatch(): ReturnType<typeof setHeaderOptions> {
  return setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
}

describe("the official JavaScript client against a real apiserver", () => {
  let etcd: EtcdHandle;
  let apiserver: ApiServerProcess;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  beforeAll(async () => {
    etcd = await startEtcd();
    apiserver = await startApiServerProcess(etcd.endpoint);
    // The admin's kubeconfig as kubeadm writes it: the CA and the client certificate embedded.
    const kubeconfig = join(testProcesses.tempDir("client-node-", tmpdir()), "kubeconfig");
    writeKubeconfig(kubeconfig, apiserver.api, NS);
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: asModel(newNamespace(NS)) });
  });

  afterAll(async () => {
    await apiserver?.stop("SIGKILL");
    await etcd?.destroy();
  });

  // client-node 1.x refuses a plain-http server unless the cluster says insecure-skip-tls-verify (config.ts
  // createAgent), so kubeconfigs meant for it must carry the flag even though no TLS is involved.
  it("loads a kubeconfig from a string, which for plain http needs insecure-skip-tls-verify", async () => {
    // About the plain-HTTP (insecure port) apiserver: one of those next to the secure one, on the same etcd.
    const plain = await startApiServerProcess(etcd.endpoint, [], { insecure: true });
    try {
      await plainHttpKubeconfig(plain.url);
    } finally {
      await plain.stop("SIGKILL");
    }
  });

  async function plainHttpKubeconfig(url: string): Promise<void> {
    const kubeconfig = (insecure: boolean): string =>
      [
        "apiVersion: v1",
        "kind: Config",
        `clusters: [{name: kubelab, cluster: {server: "${url}"${insecure ? ", insecure-skip-tls-verify: true" : ""}}}]`,
        "users: [{name: kubelab, user: {}}]",
        "contexts: [{name: kubelab, context: {cluster: kubelab, user: kubelab}}]",
        "current-context: kubelab",
      ].join("\n");
    const strict = new KubeConfig();
    strict.loadFromString(kubeconfig(false));
    await expect(strict.makeApiClient(CoreV1Api).listNamespace()).rejects.toThrow("HTTP protocol is not allowed when skipTLSVerify is not set or false");

    const fromString = new KubeConfig();
    fromString.loadFromString(kubeconfig(true));
    const list = await fromString.makeApiClient(CoreV1Api).listNamespace();
    expect(list.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(["default", NS]));
  }

  it("creates, reads, lists, patches and deletes a namespace", async () => {
    const created = await core.createNamespace({ body: asModel(newNamespace("cn-scratch", { labels: { team: "a" } })) });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.status?.phase).toBe("Active");

    const read = await core.readNamespace({ name: "cn-scratch" });
    expect(read.metadata?.labels).toMatchObject({ team: "a", "kubernetes.io/metadata.name": "cn-scratch" });

    const listed = await core.listNamespace({ labelSelector: "team=a" });
    expect(listed.items.map((n) => n.metadata?.name)).toEqual(["cn-scratch"]);

    const patched = await core.patchNamespace({ name: "cn-scratch", body: { metadata: { labels: { team: "b" } } } }, mergePatch());
    expect(patched.metadata?.labels?.team).toBe("b");

    await core.deleteNamespace({ name: "cn-scratch" });
    // Without a namespace controller the namespace stays, Terminating, until its finalizers are done.
    const terminating = await core.readNamespace({ name: "cn-scratch" });
    expect(terminating.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect(terminating.status?.phase).toBe("Terminating");
  });

  it("creates, reads, lists, replaces, patches and deletes a config map", async () => {
    const created = await core.createNamespacedConfigMap({ namespace: NS, body: asModel<V1ConfigMap>(newConfigMap("settings", { namespace: NS, labels: { app: "cm" }, data: { a: "1" } })) });
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(created.data).toEqual({ a: "1" });

    const read = await core.readNamespacedConfigMap({ name: "settings", namespace: NS });
    expect(read.metadata?.uid).toBe(created.metadata?.uid);

    const listed = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: "app=cm" });
    expect(listed.items.map((c) => c.metadata?.name)).toEqual(["settings"]);
    expect(listed.metadata?.resourceVersion).toMatch(/^\d+$/);

    read.data = { a: "2", b: "3" };
    const replaced = await core.replaceNamespacedConfigMap({ name: "settings", namespace: NS, body: read });
    expect(replaced.data).toEqual({ a: "2", b: "3" });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));

    // The generated patch methods default to JSON patch.
    const jsonPatched = await core.patchNamespacedConfigMap({ name: "settings", namespace: NS, body: [{ op: "replace", path: "/data/a", value: "4" }, { op: "remove", path: "/data/b" }] });
    expect(jsonPatched.data).toEqual({ a: "4" });

    const merged = await core.patchNamespacedConfigMap({ name: "settings", namespace: NS, body: { data: { c: "5", a: null } } }, mergePatch());
    expect(merged.data).toEqual({ c: "5" });

    await core.deleteNamespacedConfigMap({ name: "settings", namespace: NS });
    const gone = await apiError(() => core.readNamespacedConfigMap({ name: "settings", namespace: NS }));
    expect(gone.code).toBe(404);
  });

  it("creates, reads, patches, replaces and deletes a pod with its defaults", async () => {
    const created = await core.createNamespacedPod({ namespace: NS, body: asModel<V1Pod>(newPod("web", { namespace: NS, labels: { app: "web" } })) });
    expect(created.status?.phase).toBe("Pending");
    expect(created.spec?.restartPolicy).toBe("Always");
    expect(created.spec?.dnsPolicy).toBe("ClusterFirst");
    expect(created.spec?.containers[0]?.imagePullPolicy).toBe("IfNotPresent");

    const patched = await core.patchNamespacedPod({ name: "web", namespace: NS, body: { metadata: { labels: { tier: "front" } } } }, strategicMergePatch());
    expect(patched.metadata?.labels).toEqual({ app: "web", tier: "front" });

    const read = await core.readNamespacedPod({ name: "web", namespace: NS });
    read.spec!.containers[0]!.image = "registry.k8s.io/pause:3.9";
    const replaced = await core.replaceNamespacedPod({ name: "web", namespace: NS, body: read });
    expect(replaced.spec?.containers[0]?.image).toBe("registry.k8s.io/pause:3.9");

    const pods = await core.listNamespacedPod({ namespace: NS, fieldSelector: "metadata.name=web" });
    expect(pods.items).toHaveLength(1);

    // An unbound pod is deleted at once; the reply is the pod.
    const deleted = await core.deleteNamespacedPod({ name: "web", namespace: NS });
    expect(deleted.metadata?.name).toBe("web");
    expect((await apiError(() => core.readNamespacedPod({ name: "web", namespace: NS }))).code).toBe(404);
  });

  it("creates a service with an allocated cluster IP, then patches, replaces and deletes it", async () => {
    const created = await core.createNamespacedService({ namespace: NS, body: asModel<V1Service>(newService("api", { namespace: NS, ports: [80] })) });
    const ip = created.spec?.clusterIP ?? "";
    expect(ip).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    expect(created.spec?.clusterIPs).toEqual([ip]);
    expect(created.spec?.type).toBe("ClusterIP");
    expect(created.spec?.sessionAffinity).toBe("None");

    const patched = await core.patchNamespacedService({ name: "api", namespace: NS, body: { spec: { selector: { app: "api", tier: "back" } } } }, mergePatch());
    expect(patched.spec?.selector).toEqual({ app: "api", tier: "back" });
    expect(patched.spec?.clusterIP).toBe(ip);

    const read = await core.readNamespacedService({ name: "api", namespace: NS });
    read.spec!.type = "NodePort";
    const replaced = await core.replaceNamespacedService({ name: "api", namespace: NS, body: read });
    expect(replaced.spec?.clusterIP).toBe(ip);
    const nodePort = replaced.spec?.ports?.[0]?.nodePort ?? 0;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);

    const listed = await core.listServiceForAllNamespaces();
    expect(listed.items.map((s) => `${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`)).toEqual(expect.arrayContaining(["default/kubernetes", `${NS}/api`]));

    await core.deleteNamespacedService({ name: "api", namespace: NS });
    expect((await apiError(() => core.readNamespacedService({ name: "api", namespace: NS }))).code).toBe(404);
  });

  it("lists, reads, replaces, merge-patches, strategic-merge-patches and deletes a deployment", async () => {
    const created = await apps.createNamespacedDeployment({ namespace: NS, body: asModel<V1Deployment>(newDeployment("shop", { namespace: NS, replicas: 2 })) });
    expect(created.metadata?.generation).toBe(1);
    expect(created.spec?.strategy?.type).toBe("RollingUpdate");
    expect(created.spec?.revisionHistoryLimit).toBe(10);
    expect(created.spec?.progressDeadlineSeconds).toBe(600);

    const listed = await apps.listNamespacedDeployment({ namespace: NS });
    expect(listed.items.map((d) => d.metadata?.name)).toEqual(["shop"]);

    const read = await apps.readNamespacedDeployment({ name: "shop", namespace: NS });
    read.spec!.replicas = 3;
    const replaced = await apps.replaceNamespacedDeployment({ name: "shop", namespace: NS, body: read });
    expect(replaced.spec?.replicas).toBe(3);
    expect(replaced.metadata?.generation).toBe(2);

    const merged = await apps.patchNamespacedDeployment({ name: "shop", namespace: NS, body: { metadata: { annotations: { note: "merged" } }, spec: { replicas: 4 } } }, mergePatch());
    expect(merged.spec?.replicas).toBe(4);
    expect(merged.metadata?.annotations?.note).toBe("merged");

    // Containers merge by name: the image of "app" changes and a sidecar joins it.
    const strategic = await apps.patchNamespacedDeployment(
      {
        name: "shop",
        namespace: NS,
        body: { spec: { template: { spec: { containers: [{ name: "app", image: "nginx:1.25" }, { name: "sidecar", image: "busybox:1.36" }] } } } },
      },
      strategicMergePatch(),
    );
    expect(strategic.spec?.template.spec?.containers.map((c) => `${c.name}=${c.image ?? ""}`)).toEqual(["app=nginx:1.25", "sidecar=busybox:1.36"]);

    // A stale resourceVersion on replace is a Conflict.
    const stale = await apiError(() => apps.replaceNamespacedDeployment({ name: "shop", namespace: NS, body: read }));
    expect(stale.code).toBe(409);
    expect(stale.status.reason).toBe("Conflict");

    await apps.deleteNamespacedDeployment({ name: "shop", namespace: NS });
    const gone = await apiError(() => apps.readNamespacedDeployment({ name: "shop", namespace: NS }));
    expect(gone.code).toBe(404);
    expect(gone.status.message).toBe('deployments.apps "shop" not found');
  });

  it("reads and replaces a deployment's scale", async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: asModel<V1Deployment>(newDeployment("scaled", { namespace: NS, replicas: 1 })) });
    const scale = await apps.readNamespacedDeploymentScale({ name: "scaled", namespace: NS });
    expect(scale.kind).toBe("Scale");
    expect(scale.apiVersion).toBe("autoscaling/v1");
    expect(scale.spec?.replicas).toBe(1);
    expect(scale.status?.selector).toBe("app=scaled");

    scale.spec!.replicas = 5;
    const replaced = await apps.replaceNamespacedDeploymentScale({ name: "scaled", namespace: NS, body: scale });
    expect(replaced.spec?.replicas).toBe(5);
    const deployment = await apps.readNamespacedDeployment({ name: "scaled", namespace: NS });
    expect(deployment.spec?.replicas).toBe(5);
    await apps.deleteNamespacedDeployment({ name: "scaled", namespace: NS });
  });

  it("runs an informer on pods that sees add, update and delete in order", async () => {
    const ns = "informed";
    await core.createNamespace({ body: asModel(newNamespace(ns)) });
    await core.createNamespacedPod({ namespace: ns, body: asModel<V1Pod>(newPod("before", { namespace: ns })) });
    const informer = makeInformer<V1Pod>(kc, `/api/v1/namespaces/${ns}/pods`, () => core.listNamespacedPod({ namespace: ns }));
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on("add", (pod) => seen.push(`add ${pod.metadata?.name ?? ""}`));
    informer.on("update", (pod) => seen.push(`update ${pod.metadata?.name ?? ""} ${pod.metadata?.labels?.v ?? ""}`));
    informer.on("delete", (pod) => seen.push(`delete ${pod.metadata?.name ?? ""}`));
    informer.on("error", (err?: unknown) => errors.push(err));
    try {
      await informer.start();
      // The list delivered the pod that existed before; the watch delivers the rest.
      await waitFor("the listed pod", () => seen.includes("add before") || undefined);
      expect(informer.list(ns).map((p: KubernetesObject) => p.metadata?.name)).toEqual(["before"]);

      await core.createNamespacedPod({ namespace: ns, body: asModel<V1Pod>(newPod("during", { namespace: ns })) });
      await waitFor("the added pod", () => seen.includes("add during") || undefined);
      await core.patchNamespacedPod({ name: "during", namespace: ns, body: { metadata: { labels: { v: "2" } } } }, mergePatch());
      await waitFor("the updated pod", () => seen.includes("update during 2") || undefined);
      await core.deleteNamespacedPod({ name: "during", namespace: ns });
      await waitFor("the deleted pod", () => seen.includes("delete during") || undefined);

      expect(seen).toEqual(["add before", "add during", "update during 2", "delete during"]);
      expect(informer.get("during", ns)).toBeUndefined();
      expect(informer.get("before", ns)?.metadata?.name).toBe("before");
      expect(errors).toEqual([]);
    } finally {
      await informer.stop();
    }
  });

  it("watches config maps from a listed resourceVersion and sees ADDED, MODIFIED and DELETED", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const events: { type: string; name: string; value: string }[] = [];
    let done: unknown = "open";
    const watch = new Watch(kc);
    const controller = await watch.watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type: string, object: V1ConfigMap) => {
        if (type === "BOOKMARK") return;
        events.push({ type, name: object.metadata?.name ?? "", value: object.data?.k ?? "" });
      },
      (err: unknown) => {
        done = err;
      },
    );
    try {
      await core.createNamespacedConfigMap({ namespace: NS, body: asModel<V1ConfigMap>(newConfigMap("watched", { namespace: NS, data: { k: "1" } })) });
      await core.patchNamespacedConfigMap({ name: "watched", namespace: NS, body: { data: { k: "2" } } }, mergePatch());
      await core.deleteNamespacedConfigMap({ name: "watched", namespace: NS });
      await waitFor("three watch events", () => events.length >= 3 || undefined);
      expect(events).toEqual([
        { type: "ADDED", name: "watched", value: "1" },
        { type: "MODIFIED", name: "watched", value: "2" },
        { type: "DELETED", name: "watched", value: "2" },
      ]);
      expect(done).toBe("open");
    } finally {
      controller.abort();
    }
  });

  it("surfaces errors as ApiException with a Status body", async () => {
    const missing = await apiError(() => core.readNamespacedPod({ name: "nope", namespace: NS }));
    expect(missing.code).toBe(404);
    expect(missing.status).toMatchObject({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: 'pods "nope" not found' });

    await core.createNamespacedConfigMap({ namespace: NS, body: asModel<V1ConfigMap>(newConfigMap("twice", { namespace: NS })) });
    const duplicate = await apiError(() => core.createNamespacedConfigMap({ namespace: NS, body: asModel<V1ConfigMap>(newConfigMap("twice", { namespace: NS })) }));
    expect(duplicate.code).toBe(409);
    expect(duplicate.status).toMatchObject({ kind: "Status", status: "Failure", reason: "AlreadyExists", code: 409, message: 'configmaps "twice" already exists' });

    const pod = newPod("invalid-x", { namespace: NS });
    delete pod.spec!.containers[0]!.image;
    const invalid = await apiError(() => core.createNamespacedPod({ namespace: NS, body: asModel<V1Pod>(pod) }));
    expect(invalid.code).toBe(422);
    expect(invalid.status).toMatchObject({ kind: "Status", status: "Failure", reason: "Invalid", code: 422 });
    expect(invalid.status.details?.causes).toContainEqual(expect.objectContaining({ field: "spec.containers[0].image", message: "Required value" }));

    const missingNamespace = await apiError(() => core.createNamespacedConfigMap({ namespace: "absent", body: asModel<V1ConfigMap>(newConfigMap("x", { namespace: "absent" })) }));
    expect(missingNamespace.code).toBe(404);
    expect(missingNamespace.status.message).toBe('namespaces "absent" not found');
  });
});
