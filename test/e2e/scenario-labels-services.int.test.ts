// ../shared/scenarios/labels-services.md end to end: ONE `kubelab up --nodes 3` and the real kubectl with the
// scenario's own commands (apply -f of a folder, get --show-labels, describe, delete --all, rollout
// history|undo|status, get all -n kube-system, get cm, describe cm). Answers are checked where a user would look:
// NodePorts from the host on the lab bridge, ClusterIPs and DNS names from inside a pod. Two timings are shortened
// so CI stays quick (minReadySeconds 2 instead of 10; pods with terminationGracePeriodSeconds 1); everything else is
// the scenario's. Tests run in order, each leaving the cluster as the next expects.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";
import { waitFor } from "../support/apiserver.js";
import {
  answerFromHost,
  answerInPod,
  applyManifest,
  clientPodManifest,
  httpGet,
  lookupInPod,
  podsOf,
  service,
  waitReadyPods,
} from "./service-checks.js";

const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`scenario-labels-services.int.test: skipped: ${prerequisites.reason}`);

const lab = new TestLab("e2elbls");
const NODE_PORT = 31080;

function petclinicPod(name: string, version: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: petclinic, version: v${version}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: petclinic
    image: spring2go/spring-petclinic:${version}.RELEASE
    ports: [{containerPort: 8080}]
`;
}

function petclinicService(selector: string): string {
  return `apiVersion: v1
kind: Service
metadata: {name: petclinic}
spec:
  type: NodePort
  selector: {${selector}}
  ports: [{port: 8080, targetPort: 8080, nodePort: ${NODE_PORT}}]
`;
}

const nodePortUrl = (node = 1): string => `http://${lab.nodeIp(node)}:${NODE_PORT}/`;

describe.skipIf(!prerequisites.ok)("labels-services.md on a 3-node kubelab", () => {
  const folder = (): string => join(lab.home, "petclinic");

  beforeAll(async () => {
    await lab.startOrTearDown(async () => {
      await lab.up(3);
      await applyManifest(lab, clientPodManifest("client"));
      await waitReadyPods(lab, "app=client", 1);
    });
  }, 180_000);

  afterAll(() => lab.downCleanly(), 180_000);

  it("applies a folder of two pods and a NodePort Service; blue/green by editing the selector restarts no pod", async () => {
    mkdirSync(folder(), { recursive: true });
    writeFileSync(join(folder(), "pod-v1.0.0.yaml"), petclinicPod("petclinic-v100", "1.0.0"));
    writeFileSync(join(folder(), "pod-v1.0.1.yaml"), petclinicPod("petclinic-v101", "1.0.1"));
    writeFileSync(join(folder(), "service.yaml"), petclinicService("app: petclinic, version: v1.0.1"));
    const applied = await lab.kubectlOk("apply", "-f", folder());
    expect(applied).toContain("pod/petclinic-v100 created");
    expect(applied).toContain("service/petclinic created");
    const before = await waitReadyPods(lab, "app=petclinic", 2);
    for (const node of [1, 2, 3]) expect(await answerFromHost(nodePortUrl(node), "Spring PetClinic version: 1.0.1.RELEASE")).toContain("Served by: petclinic-v101");

    const labels = await lab.kubectlOk("get", "po", "--show-labels");
    expect(labels).toMatch(/petclinic-v100\s+1\/1\s+Running\s+0\s+\S+\s+app=petclinic,version=v1\.0\.0/);
    expect(labels).toMatch(/petclinic-v101\s+1\/1\s+Running\s+0\s+\S+\s+app=petclinic,version=v1\.0\.1/);
    const v101 = before.find((p) => p.metadata.name === "petclinic-v101");
    const describe = await lab.kubectlOk("describe", "svc", "petclinic");
    expect(describe).toMatch(/Selector:\s+app=petclinic,version=v1\.0\.1/);
    expect(describe).toMatch(new RegExp(`Endpoints:\\s+${v101?.status.podIP?.replace(/\./g, "\\.") ?? "none"}:8080\\n`));
    expect(describe).toMatch(/NodePort:\s+<unset>\s+31080\/TCP/);

    // Blue/green: the selector edited in the file and applied again; answers switch, pods stay as they were.
    writeFileSync(join(folder(), "service.yaml"), petclinicService("app: petclinic, version: v1.0.0"));
    expect(await lab.kubectlOk("apply", "-f", folder())).toContain("service/petclinic configured");
    await answerFromHost(nodePortUrl(2), "Spring PetClinic version: 1.0.0.RELEASE");
    for (let i = 0; i < 5; i++) expect(await answerFromHost(nodePortUrl(1 + (i % 3)), "Served by: petclinic-v100", 5_000)).not.toContain("1.0.1");
    const after = await podsOf(lab, "app=petclinic");
    expect(after.map((p) => [p.metadata.uid, p.status.containerStatuses?.[0]?.restartCount]).sort()).toEqual(before.map((p) => [p.metadata.uid, 0]).sort());
  });

  it("deletes every pod and Service with --all; the kubernetes Service comes back by itself", async () => {
    await lab.kubectlOk("delete", "po", "--all", "--wait=false");
    const deleted = await lab.kubectlOk("delete", "svc", "--all");
    expect(deleted).toContain('service "petclinic" deleted');
    expect(deleted).toContain('service "kubernetes" deleted');
    const back = await waitFor("the kubernetes Service recreated", async () => {
      const got = await lab.kubectl(["get", "svc", "kubernetes", "-o", "json"]);
      return got.code === 0 ? (JSON.parse(got.stdout) as { spec: { clusterIP: string } }) : undefined;
    }, 30_000, 250);
    expect(back.spec.clusterIP).toBe("10.96.0.1");
    // The deleted Service's NodePort no longer answers.
    await waitFor("the NodePort closed", async () => !(await httpGet(nodePortUrl(1), 1_000)).ok || undefined, 15_000, 250);
    await waitFor("the petclinic pods gone", async () => (await podsOf(lab, "app=petclinic")).length === 0 || undefined, 30_000, 250);
    // The client pod was deleted too; the later tests need it back.
    await waitFor("the client pod gone", async () => (await podsOf(lab, "app=client")).length === 0 || undefined, 30_000, 250);
    await applyManifest(lab, clientPodManifest("client"));
    await waitReadyPods(lab, "app=client", 1);
  });

  it("heals a ReplicaSet behind the NodePort Service; deleting the ReplicaSet deletes its pods", async () => {
    await applyManifest(lab, `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: petclinic}
spec:
  replicas: 3
  selector: {matchLabels: {app: petclinic}}
  template:
    metadata: {labels: {app: petclinic}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: petclinic
        image: spring2go/spring-petclinic:1.0.0.RELEASE
        ports: [{containerPort: 8080}]
---
${petclinicService("app: petclinic")}`);
    const first = await waitReadyPods(lab, "app=petclinic", 3);
    // Every pod answers through the NodePort of one node (the rules spread over all three).
    const seen = new Set<string>();
    await waitFor("all three pods behind the NodePort", async () => {
      const got = await httpGet(nodePortUrl(1));
      const by = got.ok ? /Served by: ([^<\s]+)/.exec(got.body)?.[1] : undefined;
      if (by) seen.add(by);
      return seen.size === 3 || undefined;
    }, 30_000, 50);
    expect([...seen].sort()).toEqual(first.map((p) => p.metadata.name).sort());

    const victim = first[0]?.metadata.name ?? "";
    await lab.kubectlOk("delete", "pod", victim, "--wait=false");
    const healed = await waitReadyPods(lab, "app=petclinic", 3);
    expect(healed.map((p) => p.metadata.name)).not.toContain(victim);
    const describe = await lab.kubectlOk("describe", "rs", "petclinic");
    expect(describe).toMatch(/Replicas:\s+3 current \/ 3 desired/);
    expect(describe).toMatch(/SuccessfulCreate\s+.*Created pod: /);

    expect(await lab.kubectlOk("delete", "rs", "petclinic", "--wait=false")).toContain('replicaset.apps "petclinic" deleted');
    await waitFor("the ReplicaSet's pods gone", async () => (await podsOf(lab, "app=petclinic")).length === 0 || undefined, 30_000, 250);
  });

  it("rolls a Deployment out and back by revision, batch by batch; deleting it deletes its ReplicaSets and pods", async () => {
    const deployment = (version: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: petclinic}
spec:
  replicas: 3
  minReadySeconds: 2
  selector: {matchLabels: {app: petclinic}}
  template:
    metadata: {labels: {app: petclinic}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: petclinic
        image: spring2go/spring-petclinic:${version}
        ports: [{containerPort: 8080}]
`;
    await applyManifest(lab, deployment("1.0.0.RELEASE"));
    expect((await lab.kubectl(["rollout", "status", "deployment/petclinic", "--timeout=90s"], 100_000)).stdout).toContain('deployment "petclinic" successfully rolled out');
    await answerFromHost(nodePortUrl(3), "1.0.0.RELEASE");

    await applyManifest(lab, deployment("1.0.1.RELEASE"));
    const status = await lab.kubectl(["rollout", "status", "deployment/petclinic", "--timeout=90s"], 100_000);
    expect(status.stdout).toContain('deployment "petclinic" successfully rolled out');
    // Batch by batch: maxSurge 25% and maxUnavailable 25% of 3 replace one pod at a time.
    expect(status.stdout).toMatch(/1 out of 3 new replicas have been updated/);
    expect(status.stdout).toMatch(/2 out of 3 new replicas have been updated/);
    await answerFromHost(nodePortUrl(3), "1.0.1.RELEASE");
    const history = await lab.kubectlOk("rollout", "history", "deployment/petclinic");
    expect(history).toMatch(/^REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/m);

    const images = async (): Promise<string[]> => [...new Set((await podsOf(lab, "app=petclinic")).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.spec.containers[0]?.image ?? ""))];
    expect(await lab.kubectlOk("rollout", "undo", "deployment/petclinic")).toContain("deployment.apps/petclinic rolled back");
    await lab.kubectl(["rollout", "status", "deployment/petclinic", "--timeout=90s"], 100_000);
    expect(await lab.kubectlOk("rollout", "history", "deployment/petclinic")).toMatch(/^2\s+<none>\n3\s+<none>\n/m);
    await waitFor("revision 3 = 1.0.0", async () => (await images()).join() === "spring2go/spring-petclinic:1.0.0.RELEASE" || undefined, 30_000, 250);
    await answerFromHost(nodePortUrl(1), "1.0.0.RELEASE");

    expect(await lab.kubectlOk("rollout", "undo", "deployment/petclinic", "--to-revision=2")).toContain("deployment.apps/petclinic rolled back");
    await lab.kubectl(["rollout", "status", "deployment/petclinic", "--timeout=90s"], 100_000);
    expect(await lab.kubectlOk("rollout", "history", "deployment/petclinic")).toMatch(/^3\s+<none>\n4\s+<none>\n/m);
    expect(await lab.kubectlOk("rollout", "history", "deployment/petclinic", "--revision=4")).toContain("spring2go/spring-petclinic:1.0.1.RELEASE");
    await waitFor("revision 4 = 1.0.1", async () => (await images()).join() === "spring2go/spring-petclinic:1.0.1.RELEASE" || undefined, 30_000, 250);

    await lab.kubectlOk("delete", "deployment", "petclinic", "--wait=false");
    await waitFor("the Deployment's ReplicaSets and pods gone", async () => {
      const rs = JSON.parse(await lab.kubectlOk("get", "rs", "-l", "app=petclinic", "-o", "json")) as { items: unknown[] };
      return rs.items.length === 0 && (await podsOf(lab, "app=petclinic")).length === 0 ? true : undefined;
    }, 60_000, 250);
    await lab.kubectlOk("delete", "svc", "petclinic");
  }, 240_000);

  it("reaches mysql by its Service name through cluster DNS from a petclinic tier (mysql, mysql.default, the FQDN)", async () => {
    await applyManifest(lab, `apiVersion: v1
kind: Pod
metadata: {name: mysql, labels: {app: mysql}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: mysql
    image: mysql:5.7
    env:
    - {name: MYSQL_ROOT_PASSWORD, value: petclinic}
    - {name: MYSQL_DATABASE, value: petclinic}
    ports: [{containerPort: 3306}]
---
apiVersion: v1
kind: Service
metadata: {name: mysql}
spec:
  selector: {app: mysql}
  ports: [{port: 3306}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: petclinic}
spec:
  replicas: 2
  selector: {matchLabels: {app: petclinic}}
  template:
    metadata: {labels: {app: petclinic}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: petclinic
        image: spring2go/spring-petclinic:1.0.1.RELEASE
        env: [{name: DATASOURCE_URL, value: "jdbc:mysql://mysql/petclinic"}]
        ports: [{containerPort: 8080}]
---
${petclinicService("app: petclinic")}`);
    await waitReadyPods(lab, "app=mysql", 1);
    await waitReadyPods(lab, "app=petclinic", 2);
    const mysql = await service(lab, "mysql");
    expect(mysql.spec.type).toBe("ClusterIP");
    for (const name of ["mysql", "mysql.default", "mysql.default.svc.cluster.local"]) {
      expect(await waitFor(`${name} resolved`, () => lookupInPod(lab, "client", name), 20_000, 250)).toBe(mysql.spec.clusterIP);
    }
    // The front answers from the host through the NodePort and reaches mysql by name (DNS, then the ClusterIP).
    expect(await answerFromHost(nodePortUrl(2), "Database: mysql:3306 reachable")).toContain("1.0.1.RELEASE");
    // The greeting of mysql through its ClusterIP, from a pod.
    const greeting = await lab.kubectl(["exec", "client", "--", "sh", "-c", "timeout 3 nc mysql 3306 </dev/null"], 20_000);
    expect(greeting.stdout).toContain("5.7");

    const system = await lab.kubectlOk("get", "all", "-n", "kube-system");
    expect(system).toMatch(/service\/kube-dns\s+ClusterIP\s+10\.96\.0\.10\s+<none>\s+53\/UDP,53\/TCP,9153\/TCP/);
    expect(system).toMatch(/deployment\.apps\/\S+\s+2\/2\s+2\s+2/);
    expect(system).toMatch(/pod\/\S+\s+1\/1\s+Running/);
    await lab.kubectlOk("delete", "deployment", "petclinic");
    await lab.kubectlOk("delete", "svc", "petclinic");
  }, 120_000);

  it("gives Services names per namespace: svc, svc.ns and svc.ns.svc.cluster.local", async () => {
    await lab.kubectlOk("create", "namespace", "staging");
    await applyManifest(lab, `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`, "staging");
    const web = await service(lab, "web", "staging");
    expect(await waitFor("web.staging resolved", () => lookupInPod(lab, "client", "web.staging"), 20_000, 250)).toBe(web.spec.clusterIP);
    expect(await lookupInPod(lab, "client", "web.staging.svc.cluster.local")).toBe(web.spec.clusterIP);
    // The short name is the namespace's own: from default, `web` is no Service.
    expect(await lookupInPod(lab, "client", "web")).toBeUndefined();
    await applyManifest(lab, clientPodManifest("client"), "staging");
    await waitReadyPods(lab, "app=client", 1, "staging");
    expect(await waitFor("web from staging", () => lookupInPod(lab, "client", "web", "staging"), 20_000, 250)).toBe(web.spec.clusterIP);
    expect(await lab.kubectlOk("get", "ns")).toMatch(/staging\s+Active/);
    await lab.kubectlOk("delete", "namespace", "staging", "--wait=false");
  }, 60_000);

  it("binds a ConfigMap with envFrom (a rename rolls the Deployment) and as a volume that updates in place", async () => {
    // Multi-document, and the Deployment before the ConfigMap it needs: it catches up once the ConfigMap exists.
    await applyManifest(lab, `apiVersion: apps/v1
kind: Deployment
metadata: {name: petclinic}
spec:
  replicas: 2
  selector: {matchLabels: {app: petclinic}}
  template:
    metadata: {labels: {app: petclinic}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: petclinic
        image: spring2go/spring-petclinic:1.0.1.RELEASE
        envFrom: [{configMapRef: {name: petclinic-config-v2}}]
        volumeMounts: [{name: config, mountPath: /etc/petclinic}]
      volumes:
      - name: config
        configMap: {name: petclinic-config-v2}
`);
    await waitFor("pods waiting for the ConfigMap", async () => {
      const pods = await podsOf(lab, "app=petclinic");
      return pods.length === 2 && pods.every((p) => p.status.phase !== "Running") ? pods : undefined;
    }, 30_000, 250);
    await applyManifest(lab, `apiVersion: v1
kind: ConfigMap
metadata: {name: petclinic-config-v2}
data:
  DATASOURCE_URL: jdbc:mysql://mysql/petclinic
  GREETING: hello-v2
`);
    const [pod] = await waitReadyPods(lab, "app=petclinic", 2);
    const name = pod?.metadata.name ?? "";
    const env = async (pod: string): Promise<string> => lab.kubectlOk("exec", pod, "--", "sh", "-c", 'echo "$GREETING"');
    expect((await env(name)).trim()).toBe("hello-v2");
    expect(await lab.kubectlOk("get", "cm")).toMatch(/petclinic-config-v2\s+2\s/);
    expect(await lab.kubectlOk("describe", "cm", "petclinic-config-v2")).toMatch(/GREETING:\n----\nhello-v2/);

    // An edit: the running pod's env stays; the mounted file follows.
    await lab.kubectlOk("patch", "cm", "petclinic-config-v2", "-p", '{"data":{"GREETING":"hello-edited"}}');
    await waitFor("the volume's file updated in place", async () => (await lab.kubectlOk("exec", name, "--", "cat", "/etc/petclinic/GREETING")) === "hello-edited" || undefined, 90_000, 500);
    expect((await env(name)).trim()).toBe("hello-v2");
    expect((await podsOf(lab, "app=petclinic")).find((p) => p.metadata.name === name)?.status.containerStatuses?.[0]?.restartCount).toBe(0);

    // A renamed ConfigMap, the Deployment pointed at it: a rolling update brings pods with the new env.
    await applyManifest(lab, `apiVersion: v1
kind: ConfigMap
metadata: {name: petclinic-config-v3}
data:
  GREETING: hello-v3
`);
    await lab.kubectlOk("patch", "deployment", "petclinic", "--type=json", "-p", JSON.stringify([
      { op: "replace", path: "/spec/template/spec/containers/0/envFrom/0/configMapRef/name", value: "petclinic-config-v3" },
      { op: "replace", path: "/spec/template/spec/volumes/0/configMap/name", value: "petclinic-config-v3" },
    ]));
    await lab.kubectl(["rollout", "status", "deployment/petclinic", "--timeout=60s"], 70_000);
    const rolled = await waitReadyPods(lab, "app=petclinic", 2);
    expect(rolled.map((p) => p.metadata.name)).not.toContain(name);
    expect((await env(rolled[0]?.metadata.name ?? "")).trim()).toBe("hello-v3");

    // Secrets: base64 in the API, plain in the container.
    await lab.kubectlOk("create", "secret", "generic", "db", "--from-literal=password=s3cret");
    expect(await lab.kubectlOk("get", "secret", "db", "-o", "jsonpath={.data.password}")).toBe(Buffer.from("s3cret").toString("base64"));
    await applyManifest(lab, `apiVersion: v1
kind: Pod
metadata: {name: secret-reader, labels: {app: secret-reader}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]
`);
    await waitReadyPods(lab, "app=secret-reader", 1);
    expect((await lab.kubectlOk("exec", "secret-reader", "--", "sh", "-c", 'echo "$DB_PASSWORD"')).trim()).toBe("s3cret");
    await lab.kubectlOk("delete", "deployment", "petclinic", "--wait=false");
  }, 180_000);

  it("runs a LoadBalancer Service without a cloud as a NodePort with EXTERNAL-IP <pending>", async () => {
    await applyManifest(lab, `apiVersion: apps/v1
kind: Deployment
metadata: {name: flask}
spec:
  replicas: 4
  selector: {matchLabels: {app: flask}}
  template:
    metadata: {labels: {app: flask}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: flask
        image: registry.k8s.io/e2e-test-images/agnhost:2.53
        imagePullPolicy: Never
        args: ["netexec", "--http-port=5000"]
        ports: [{containerPort: 5000}]
---
apiVersion: v1
kind: Service
metadata: {name: flask}
spec:
  type: LoadBalancer
  selector: {app: flask}
  ports: [{port: 6000, targetPort: 5000}]
`);
    const pods = await waitReadyPods(lab, "app=flask", 4);
    const flask = await service(lab, "flask");
    const nodePort = flask.spec.ports[0]?.nodePort ?? 0;
    expect(await lab.kubectlOk("get", "svc", "flask")).toMatch(new RegExp(`flask\\s+LoadBalancer\\s+${flask.spec.clusterIP.replace(/\./g, "\\.")}\\s+<pending>\\s+6000:${nodePort}/TCP`));
    const names = new Set(pods.map((p) => p.metadata.name));
    for (const node of [1, 2, 3]) expect(names).toContain((await answerFromHost(`http://${lab.nodeIp(node)}:${nodePort}/hostname`, /^flask-/)).trim());
    expect(names).toContain((await answerInPod(lab, "client", `http://flask:6000/hostname`, /^flask-/)).trim());
    // Still pending: no controller plays the cloud.
    expect((JSON.parse(await lab.kubectlOk("get", "svc", "flask", "-o", "json")) as { status?: { loadBalancer?: { ingress?: unknown[] } } }).status?.loadBalancer?.ingress).toBeUndefined();
  }, 90_000);

  it("beyond the scenario: externalTrafficPolicy Local keeps the client's IP and serves only where an endpoint runs", async () => {
    await lab.kubectlOk("scale", "deployment", "flask", "--replicas=1");
    const [pod] = await waitReadyPods(lab, "app=flask", 1);
    await lab.kubectlOk("patch", "svc", "flask", "-p", '{"spec":{"externalTrafficPolicy":"Local"}}');
    const nodePort = (await service(lab, "flask")).spec.ports[0]?.nodePort ?? 0;
    const home = Number((pod?.spec.nodeName ?? "node-1").slice("node-".length));
    const away = home === 1 ? 2 : 1;
    // The host's address on the lab bridge: the source the pod sees when nothing masquerades.
    const bridgeIp = `172.28.${lab.subnet}.1`;
    await waitFor("the away node dropping the NodePort", async () => !(await httpGet(`http://${lab.nodeIp(away)}:${nodePort}/clientip`, 1_000)).ok || undefined, 15_000, 250);
    expect(await answerFromHost(`http://${lab.nodeIp(home)}:${nodePort}/clientip`, new RegExp(`^${bridgeIp.replace(/\./g, "\\.")}:\\d+$`))).toBeTruthy();
    // Kubernetes' chains: KUBE-EXT for the node port, KUBE-SVL with this node's endpoint.
    const nat = (await lab.nodeExec(`node-${home}`, ["iptables-save", "-t", "nat"])).stdout;
    expect(nat).toMatch(/-A KUBE-EXT-\S+ -j KUBE-SVL-/);
    expect(nat).toContain(`default/flask -> ${pod?.status.podIP ?? "?"}:5000`);
    // Pods still reach every endpoint through the ClusterIP (the Cluster internal policy).
    expect(await answerInPod(lab, "client", "http://flask:6000/hostname", pod?.metadata.name ?? "?")).toBeTruthy();
  }, 60_000);

  it("beyond the scenario: loadBalancerSourceRanges guard the node ports; NodePorts answer on a node's 127.0.0.1", async () => {
    await lab.kubectlOk("patch", "svc", "flask", "-p", '{"spec":{"externalTrafficPolicy":"Cluster","loadBalancerSourceRanges":["192.0.2.0/24"]}}');
    const nodePort = (await service(lab, "flask")).spec.ports[0]?.nodePort ?? 0;
    await waitFor("the host's requests dropped", async () => !(await httpGet(`http://${lab.nodeIp(1)}:${nodePort}/hostname`, 1_000)).ok || undefined, 15_000, 250);
    const filter = (await lab.nodeExec("node-1", ["iptables-save", "-t", "filter"])).stdout;
    expect(filter).toMatch(/-A KUBE-PROXY-FIREWALL .*default\/flask traffic not accepted by KUBE-FW-/);
    // The host's bridge address (172.28.x.1) let in: answers again.
    await lab.kubectlOk("patch", "svc", "flask", "-p", `{"spec":{"loadBalancerSourceRanges":["${lab.nodeNetwork}"]}}`);
    await answerFromHost(`http://${lab.nodeIp(1)}:${nodePort}/hostname`, /^flask-/);

    await lab.kubectlOk("patch", "svc", "flask", "-p", '{"spec":{"loadBalancerSourceRanges":null}}');
    const local = await waitFor("the NodePort on node-2's 127.0.0.1", async () => {
      const got = await lab.nodeExec("node-2", ["busybox", "wget", "-qO-", `http://127.0.0.1:${nodePort}/hostname`], 10_000);
      return got.code === 0 && got.stdout.startsWith("flask-") ? got.stdout : undefined;
    }, 15_000, 250);
    expect(local).toMatch(/^flask-/);
    expect((await lab.nodeExec("node-2", ["sysctl", "-n", "net.ipv4.conf.all.route_localnet"])).stdout.trim()).toBe("1");
    await lab.kubectlOk("delete", "deployment", "flask");
    await lab.kubectlOk("delete", "svc", "flask");
  }, 60_000);
});
