// VolumeBinding against the real thing: etcd, the apiserver, the kube-scheduler and kube-controller-manager
// (statefulset, persistentvolume-binder with the kubelab.dev/local-path provisioner) processes from dist/, three
// hollow nodes, and kubectl 1.32 doing what a user would.
//   - a StatefulSet with volumeClaimTemplates of a WaitForFirstConsumer local-path class: each claim's volume is
//     provisioned for, and has node affinity to, the node its pod runs on;
//   - a pod whose claim matches a static volume with node affinity to volbind-2 lands on volbind-2;
//   - a claim of an Immediate class left unbound keeps its pod Pending with Kubernetes' message, and the volume
//     that binds it wakes the pod (queueing hints) long before the 5-minute unschedulable flush;
//   - a claim bound to a volume for a node that does not exist: every node has a volume node affinity conflict.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { PersistentVolume, PersistentVolumeClaim, Pod } from "../api/types/index.js";
import type { CoreEvent } from "../client/event-recorder.js";
import { RestClient } from "../client/rest.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../test/support/apiserver.js";
import { startComponent, type ComponentProcess } from "../test/support/components.js";

const find = (group: string, resource: string): (typeof RESOURCES)[number] => RESOURCES.find((r) => r.group === group && r.resource === resource && !r.storageResource)!;
const PODS = find("", "pods");
const PVS = find("", "persistentvolumes");
const PVCS = find("", "persistentvolumeclaims");
const EVENTS = find("", "events");

const hostnameOf = (pv: PersistentVolume): unknown => {
  const required = pv.spec?.nodeAffinity?.required as { nodeSelectorTerms?: { matchExpressions?: { key: string; values?: string[] }[] }[] } | undefined;
  return required?.nodeSelectorTerms?.[0]?.matchExpressions?.find((e) => e.key === "kubernetes.io/hostname")?.values;
};

describe("VolumeBinding with the scheduler, the controller-manager, hollow nodes and kubectl", () => {
  let cluster: TestCluster;
  let client: RestClient;
  const processes: ComponentProcess[] = [];

  const kubectl = async (...args: string[]): Promise<string> => (await cluster.kubectl(args)).stdout;
  const apply = (yaml: string): Promise<string> => cluster.kubectl(["apply", "-f", "-"], { stdin: yaml }).then((r) => r.stdout);
  const pod = (name: string): Promise<Pod> => client.get<Pod>(PODS, "default", name);
  const claim = (name: string): Promise<PersistentVolumeClaim> => client.get<PersistentVolumeClaim>(PVCS, "default", name);
  const failedScheduling = async (name: string): Promise<string | undefined> =>
    (await client.list<CoreEvent>(EVENTS, "default", { fieldSelector: `involvedObject.name=${name}` })).items.filter((e) => e.reason === "FailedScheduling").at(-1)?.message;

  beforeAll(async () => {
    cluster = await startTestCluster(["--advertise-address", "172.30.0.1"]);
    client = new RestClient(clientConfigFor(cluster.api), { qps: 0 });
    const master = ["--kubeconfig", cluster.kubeconfig, "--leader-elect=false", "--port=0"];
    processes.push(startComponent("kube-scheduler", master, "volbind-scheduler"));
    processes.push(startComponent("kube-controller-manager", [...master, "--controllers=statefulset,persistentvolume-binder"], "volbind-cm"));
    processes.push(startComponent("kubelab", ["hollow-nodes", "--kubeconfig", cluster.kubeconfig, "--name-prefix", "volbind", "--count", "3", "--cpu", "2", "--memory", "4Gi"], "volbind-nodes"));
    await waitFor("3 Ready nodes", async () => {
      const out = await kubectl("get", "nodes", "-o", "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}");
      return out.split("\n").filter((l) => l === "True").length === 3 || undefined;
    }, 60_000, 250);
  }, 120_000);

  afterAll(async () => {
    // SIGTERM: hollow nodes remove their own root directories.
    for (const p of processes.reverse()) await p.kill("SIGTERM");
    client?.close();
    await cluster?.destroy();
  });

  it("provisions each StatefulSet pod's volume on the node the pod runs on (WaitForFirstConsumer)", async () => {
    await apply(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: volbind-local}
provisioner: kubelab.dev/local-path
parameters: {path: /tmp/volbind-local-path}
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 3
  podManagementPolicy: Parallel
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx, volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      storageClassName: volbind-local
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`);
    const t0 = Date.now();
    await waitFor("web-0..2 bound", async () => {
      const out = await kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.spec.nodeName}{\"\\n\"}{end}");
      return out.split("\n").filter((l) => l !== "").length === 3 || undefined;
    }, 60_000, 200);
    const seconds = (Date.now() - t0) / 1000;
    const volumes = (await client.listAll<PersistentVolume>(PVS, undefined)).items;
    for (let i = 0; i < 3; i++) {
      const p = await pod(`web-${i}`);
      const c = await claim(`www-web-${i}`);
      expect(c.status?.phase).toBe("Bound");
      expect(c.metadata.annotations?.["volume.kubernetes.io/selected-node"]).toBe(p.spec?.nodeName);
      const pv = volumes.find((v) => v.metadata.name === c.spec?.volumeName)!;
      expect(pv.metadata.name).toBe(`pvc-${c.metadata.uid ?? ""}`);
      expect(hostnameOf(pv)).toEqual([p.spec?.nodeName]);
    }
    // kubectl shows the volumes bound to the claims.
    const rows = await kubectl("get", "pvc", "-o", "custom-columns=NAME:.metadata.name,STATUS:.status.phase,CLASS:.spec.storageClassName", "--no-headers");
    expect(rows.split("\n").filter((l) => l.startsWith("www-web-")).map((l) => l.split(/\s+/).slice(1).join(" "))).toEqual(["Bound volbind-local", "Bound volbind-local", "Bound volbind-local"]);
    console.log(`StatefulSet of 3 with WaitForFirstConsumer claims: all bound in ${seconds.toFixed(1)} s`);
  }, 90_000);

  it("puts a pod whose claim matches a static volume for volbind-2 on volbind-2", async () => {
    await apply(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: volbind-static}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: volbind-local-2}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: volbind-static
  local: {path: /mnt/disks/one}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [volbind-2]}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: static-data}
spec:
  storageClassName: volbind-static
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: static-user}
spec:
  containers: [{name: app, image: pause}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: static-data}}]
`);
    // Before the pod, the claim waits for its first consumer: the controller does not bind it anywhere.
    const bound = await waitFor("static-user bound", async () => (await pod("static-user")).spec?.nodeName, 30_000, 100);
    expect(bound).toBe("volbind-2");
    const c = await waitFor("static-data Bound", async () => {
      const x = await claim("static-data");
      return x.status?.phase === "Bound" ? x : undefined;
    });
    expect(c.spec?.volumeName).toBe("volbind-local-2");
    expect(c.metadata.annotations?.["pv.kubernetes.io/bind-completed"]).toBe("yes");
    const pv = await client.get<PersistentVolume>(PVS, undefined, "volbind-local-2");
    expect(pv.spec?.claimRef).toMatchObject({ namespace: "default", name: "static-data", uid: c.metadata.uid });
    expect(await kubectl("get", "pv", "volbind-local-2", "-o", "jsonpath={.status.phase} {.spec.claimRef.name}")).toBe("Bound static-data");
  }, 60_000);

  it("keeps a pod with an unbound Immediate claim Pending and says why; a matching volume wakes it", async () => {
    await apply(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: volbind-manual}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: manual-data}
spec:
  storageClassName: volbind-manual
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: manual-user}
spec:
  containers: [{name: app, image: pause}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: manual-data}}]
`);
    const message = await waitFor("FailedScheduling", () => failedScheduling("manual-user"), 30_000, 100);
    expect(message).toBe("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
    expect(await kubectl("get", "pod", "manual-user", "-o", "jsonpath={.status.phase} {.status.conditions[?(@.type==\"PodScheduled\")].reason}")).toBe("Pending Unschedulable");
    expect(await kubectl("describe", "pod", "manual-user")).toContain("pod has unbound immediate PersistentVolumeClaims");
    expect((await claim("manual-data")).status?.phase).toBe("Pending");
    // The volume the binder gives the claim: the claim's update wakes the pod (not the 5-minute flush).
    const t0 = Date.now();
    await apply(`apiVersion: v1
kind: PersistentVolume
metadata: {name: volbind-manual-1}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: volbind-manual
  local: {path: /mnt/disks/manual}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [volbind-1]}]
`);
    const node = await waitFor("manual-user bound", async () => (await pod("manual-user")).spec?.nodeName, 30_000, 100);
    expect(node).toBe("volbind-1");
    console.log(`Immediate claim bound → pod scheduled ${((Date.now() - t0) / 1000).toFixed(1)} s after the volume was created`);
  }, 60_000);

  it("reports a volume node affinity conflict on every node for a claim bound to a volume of no existing node", async () => {
    await apply(`apiVersion: v1
kind: PersistentVolume
metadata: {name: volbind-elsewhere}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  local: {path: /mnt/disks/elsewhere}
  claimRef: {namespace: default, name: elsewhere-data}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [volbind-9]}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: elsewhere-data}
spec:
  storageClassName: ""
  volumeName: volbind-elsewhere
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: elsewhere-user}
spec:
  containers: [{name: app, image: pause}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: elsewhere-data}}]
`);
    const message = await waitFor("FailedScheduling", () => failedScheduling("elsewhere-user"), 30_000, 100);
    expect(message).toBe("0/3 nodes are available: 3 node(s) had volume node affinity conflict. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
    expect((await pod("elsewhere-user")).spec?.nodeName).toBeUndefined();
  }, 60_000);
});
