// The admission plugins in a real apiserver process (with ServiceAccount admission on, as `kubelab up` runs it) on a
// real etcd, with the controller-manager's serviceaccount, root-ca-cert-publisher and resourcequota controllers,
// driven by the real kubectl: the default ServiceAccount and its API-access volume, LimitRange defaults and a min
// violation, a ResourceQuota's exact refusal and its usage in `kubectl describe quota` (also under 12 concurrent
// creates: never over-admitted), and the default StorageClass.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchAs, startTestCluster, waitFor, type TestCluster } from "../../test/support/apiserver.js";
import { startComponentOnFreePort, type ComponentProcess } from "../../test/support/components.js";

interface PodJson {
  metadata: { annotations?: Record<string, string> };
  spec: {
    serviceAccountName?: string;
    serviceAccount?: string;
    volumes?: { name: string; projected?: { defaultMode?: number; sources: Record<string, unknown>[] } }[];
    containers: { name: string; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[]; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[];
  };
}

describe("admission: ServiceAccount, LimitRanger, ResourceQuota, DefaultStorageClass", () => {
  let cluster: TestCluster;
  let controllerManager: ComponentProcess | undefined;
  const k = (...args: string[]) => cluster.kubectl(args);
  const kFail = (...args: string[]) => cluster.kubectl(args, { allowFailure: true });
  const apply = (name: string, text: string) => {
    const path = join(cluster.workDir, name);
    writeFileSync(path, text);
    return k("apply", "-f", path);
  };
  const podJson = async (ns: string, name: string): Promise<PodJson> => JSON.parse((await k("get", "pod", name, "-n", ns, "-o", "json")).stdout) as PodJson;

  beforeAll(async () => {
    cluster = await startTestCluster(["--enable-admission-plugins=ServiceAccount"]);
    controllerManager = await startComponentOnFreePort("kube-controller-manager", ["--kubeconfig", cluster.kubeconfig, "--leader-elect=false", "--controllers=serviceaccount,root-ca-cert-publisher,resourcequota,persistentvolume-binder"]);
  }, 60_000);
  afterAll(async () => {
    await controllerManager?.kill();
    await cluster.destroy();
  });

  it("gives a pod the default ServiceAccount and mounts the kube-api-access volume in every container", async () => {
    // A pod right after its namespace: admission waits for the controller-manager's default ServiceAccount.
    await k("create", "namespace", "admission-sa");
    await k("run", "web", "-n", "admission-sa", "--image=nginx:1.25");
    const pod = await podJson("admission-sa", "web");
    expect(pod.spec.serviceAccountName).toBe("default");
    expect(pod.spec.serviceAccount).toBe("default");
    const volume = pod.spec.volumes?.find((v) => v.name.startsWith("kube-api-access-"));
    expect(volume?.name).toMatch(/^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(volume?.projected).toEqual({
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
      ],
    });
    expect(pod.spec.containers[0]?.volumeMounts).toEqual([{ name: volume?.name, readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" }]);
    const yaml = (await k("get", "pod", "web", "-n", "admission-sa", "-o", "yaml")).stdout;
    expect(yaml).toContain("serviceAccountName: default");
    expect(yaml).toContain("mountPath: /var/run/secrets/kubernetes.io/serviceaccount");
  });

  it("refuses a pod whose ServiceAccount does not exist and honours automountServiceAccountToken: false", async () => {
    await k("create", "namespace", "admission-sa2");
    const refused = await kFail("run", "ghostly", "-n", "admission-sa2", "--image=nginx:1.25", "--overrides", JSON.stringify({ spec: { serviceAccountName: "ghost" } }));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim()).toBe('Error from server (Forbidden): pods "ghostly" is forbidden: error looking up service account admission-sa2/ghost: serviceaccount "ghost" not found');

    await apply("robot.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: robot, namespace: admission-sa2}\nautomountServiceAccountToken: false\n");
    await k("run", "quiet", "-n", "admission-sa2", "--image=nginx:1.25", "--overrides", JSON.stringify({ spec: { serviceAccountName: "robot" } }));
    const quiet = await podJson("admission-sa2", "quiet");
    expect(quiet.spec.serviceAccountName).toBe("robot");
    expect(quiet.spec.volumes ?? []).toEqual([]);
    // The pod's own setting wins over the account's.
    await k("run", "loud", "-n", "admission-sa2", "--image=nginx:1.25", "--overrides", JSON.stringify({ spec: { serviceAccountName: "robot", automountServiceAccountToken: true } }));
    expect((await podJson("admission-sa2", "loud")).spec.volumes?.map((v) => v.name.slice(0, 16))).toEqual(["kube-api-access-"]);
  });

  it("defaults requests and limits from a LimitRange and refuses a request below its minimum", async () => {
    await k("create", "namespace", "admission-lr");
    await apply(
      "limits.yaml",
      "apiVersion: v1\nkind: LimitRange\nmetadata: {name: cpu-limits, namespace: admission-lr}\nspec:\n  limits: [{type: Container, default: {cpu: 500m}, defaultRequest: {cpu: 250m}, min: {cpu: 100m}, max: {cpu: '1'}}]\n",
    );
    await k("run", "defaulted", "-n", "admission-lr", "--image=nginx:1.25");
    const pod = await podJson("admission-lr", "defaulted");
    expect(pod.spec.containers[0]?.resources).toEqual({ requests: { cpu: "250m" }, limits: { cpu: "500m" } });
    expect(pod.metadata.annotations?.["kubernetes.io/limit-ranger"]).toBe("LimitRanger plugin set: cpu request for container defaulted; cpu limit for container defaulted");

    const small = await kFail("run", "small", "-n", "admission-lr", "--image=nginx:1.25", "--overrides", JSON.stringify({ spec: { containers: [{ name: "small", image: "nginx:1.25", resources: { requests: { cpu: "50m" } } }] } }));
    expect(small.stderr.trim()).toBe('Error from server (Forbidden): pods "small" is forbidden: minimum cpu usage per Container is 100m, but request is 50m');
    const big = await kFail("run", "big", "-n", "admission-lr", "--image=nginx:1.25", "--overrides", JSON.stringify({ spec: { containers: [{ name: "big", image: "nginx:1.25", resources: { limits: { cpu: "2" } } }] } }));
    expect(big.stderr.trim()).toBe('Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
  });

  it("counts pods against a ResourceQuota, refuses the third with Kubernetes' message and gives units back on delete", async () => {
    await k("create", "namespace", "admission-rq");
    expect((await k("create", "quota", "q", "-n", "admission-rq", "--hard=pods=2,count/configmaps=5")).stdout).toBe("resourcequota/q created\n");
    await waitFor("the quota's status", async () => (await k("get", "quota", "q", "-n", "admission-rq", "-o", "jsonpath={.status.used.pods}")).stdout === "0", 20_000);
    await k("run", "one", "-n", "admission-rq", "--image=nginx:1.25");
    await k("run", "two", "-n", "admission-rq", "--image=nginx:1.25");
    const third = await kFail("run", "three", "-n", "admission-rq", "--image=nginx:1.25");
    expect(third.stderr.trim()).toBe('Error from server (Forbidden): pods "three" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2');
    const described = (await k("describe", "quota", "q", "-n", "admission-rq")).stdout;
    expect(described).toMatch(/^Resource\s+Used\s+Hard$/m);
    expect(described).toMatch(/^pods\s+2\s+2$/m);
    expect(described).toMatch(/^count\/configmaps\s+1\s+5$/m); // kube-root-ca.crt

    await k("delete", "pod", "one", "-n", "admission-rq", "--wait=false");
    await waitFor("the deleted pod's unit back", async () => (await k("get", "quota", "q", "-n", "admission-rq", "-o", "jsonpath={.status.used.pods}")).stdout === "1", 20_000);
    await k("run", "three", "-n", "admission-rq", "--image=nginx:1.25");
  });

  it("never admits past the quota when creates race", async () => {
    await k("create", "namespace", "admission-race");
    await k("create", "quota", "race", "-n", "admission-race", "--hard=pods=3");
    await waitFor("the quota's status", async () => (await k("get", "quota", "race", "-n", "admission-race", "-o", "jsonpath={.status.used.pods}")).stdout === "0", 20_000);
    await waitFor("the default service account", async () => (await kFail("get", "sa", "default", "-n", "admission-race")).code === 0, 20_000);
    const codes = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const res = await fetchAs(cluster.api, `/api/v1/namespaces/admission-race/pods`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: `racer-${i}` }, spec: { containers: [{ name: "c", image: "nginx:1.25" }] } }),
        });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(codes.filter((c) => c === 201)).toHaveLength(3);
    expect(codes.filter((c) => c === 403)).toHaveLength(9);
    expect((await k("get", "quota", "race", "-n", "admission-race", "-o", "jsonpath={.status.used.pods}")).stdout).toBe("3");
  });

  it("gives a claim without a class the default StorageClass, and leaves an explicit empty class alone", async () => {
    await apply(
      "classes.yaml",
      "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: admission-standard\n  annotations: {storageclass.kubernetes.io/is-default-class: 'true'}\nprovisioner: kubelab.dev/local-path\n---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: admission-slow}\nprovisioner: kubelab.dev/local-path\n",
    );
    await apply(
      "claims.yaml",
      "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: default}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: none, namespace: default}\nspec: {storageClassName: '', accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
    );
    expect((await k("get", "pvc", "data", "-o", "jsonpath={.spec.storageClassName}")).stdout).toBe("admission-standard");
    expect((await k("get", "pvc", "none", "-o", "jsonpath={.spec.storageClassName}")).stdout).toBe("");
  });

  it("binds a claim to a matching volume and provisions a local-path volume for the default class (persistentvolume-binder)", async () => {
    await k("create", "namespace", "admission-pv");
    await apply(
      "pv.yaml",
      "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: admission-pv-manual}\nspec: {capacity: {storage: 2Gi}, accessModes: [ReadWriteOnce], storageClassName: manual, hostPath: {path: /tmp/admission-pv-manual}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: manual, namespace: admission-pv}\nspec: {storageClassName: manual, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: dynamic, namespace: admission-pv}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
    );
    await waitFor("the manual claim Bound", async () => /^manual\s+Bound\s+admission-pv-manual\s+2Gi\s+RWO\s+manual\s/m.test((await k("get", "pvc", "-n", "admission-pv")).stdout) || undefined, 20_000);
    expect((await k("get", "pv", "admission-pv-manual")).stdout).toMatch(/^admission-pv-manual\s+2Gi\s+RWO\s+Retain\s+Bound\s+admission-pv\/manual\s+manual\s/m);
    // The default class (admission-standard, from the previous test) provisions with kubelab.dev/local-path.
    const uid = (await k("get", "pvc", "dynamic", "-n", "admission-pv", "-o", "jsonpath={.metadata.uid}")).stdout;
    await waitFor("the dynamic claim Bound", async () => (await k("get", "pvc", "dynamic", "-n", "admission-pv", "-o", "jsonpath={.status.phase}/{.spec.volumeName}")).stdout === `Bound/pvc-${uid}` || undefined, 20_000);
    await k("delete", "pvc", "dynamic", "manual", "-n", "admission-pv");
    await waitFor("the provisioned volume deleted (reclaim policy Delete)", async () => (await kFail("get", "pv", `pvc-${uid}`)).code !== 0 || undefined, 20_000);
    await waitFor("the manual volume Released (Retain)", async () => (await k("get", "pv", "admission-pv-manual", "-o", "jsonpath={.status.phase}")).stdout === "Released" || undefined, 20_000);
  });
});
