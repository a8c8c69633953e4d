// The environment the kubelet builds for a container, checked from inside a real one: kubelab-runtime with the
// oci backend as a real process (dist/container-runtime/main.js, build first), root only, in a "node" network
// namespace this test makes (as container-runtime-oci.int.test.ts does). The test plays the kubelet's part with
// the real code: makeDnsConfig for the sandbox, VolumeManager for the volumes on disk, makeEnvironment and
// mountsFor for the container, then reads /etc/hosts, /etc/resolv.conf, the variables and the volumes through
// ExecSync, and updates the ConfigMap to see the file change inside the running container. Everything made
// (processes, containers, namespaces, mounts incl. tmpfs volumes, cgroups, files) is removed in afterAll and
// checked gone.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigMap, Container, Pod, Secret, Service } from "../../api/types/index.js";
import { CriClient } from "../../client/cri/client.js";
import { containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import { imageSpec } from "../../client/cri/types.js";
import { silentLogger } from "../../component-base/logging.js";
import { hostsFileContent, makeDnsConfig } from "../../kubelet/container-env/dns.js";
import { expandContainerCommand, makeEnvironment, type EnvSources } from "../../kubelet/container-env/env.js";
import { VolumeManager } from "../../kubelet/volumes/volume-manager.js";
import type { Component } from "../../lab/components/component.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { waitFor } from "../support/apiserver.js";
import { testProcesses } from "../support/processes.js";
import { deleteRuncContainers, leftovers, mountsUnder, netnsNames, processesMentioning, removeCgroups } from "../support/runtime-host.js";

const execFileAsync = promisify(execFile);
const RUNC = "/usr/sbin/runc";
const isRoot = process.getuid?.() === 0;
const haveTools = [RUNC, "/usr/bin/conmon", "/usr/lib/cni/ptp", "/usr/lib/cni/host-local", "/bin/busybox", "/usr/bin/nsenter"].every((p) => existsSync(p));
const haveDist = existsSync(new URL("../../dist/container-runtime/main.js", import.meta.url));
const skip = !isRoot || !haveTools || !haveDist;
if (skip) console.warn("kubelet-container-env.int.test: skipped: needs root, runc, conmon, CNI plugins, busybox-static, nsenter and `npm run build`");

const POD_CIDR = "10.244.249.0/24";
const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe.skipIf(skip)("the container environment the kubelet builds, seen from inside a real container", () => {
  const runId = Math.random().toString(16).slice(2, 8);
  const nodeNetns = `kltest-kenv-${runId}`;
  const cgroupTop = `kubelab-kenv-test-${runId}`;
  let dir = "";
  let runtimeRoot = "";
  let daemon: ManagedProcess | undefined;
  let client: CriClient | undefined;
  let volumes: VolumeManager | undefined;
  const podUid = `kenv-uid-${runId}`;
  const sandboxIds: string[] = [];

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-kenv-", tmpdir());
    runtimeRoot = join(dir, "runtime");
    execFileSync("ip", ["netns", "add", nodeNetns]);
    execFileSync("ip", ["-n", nodeNetns, "link", "set", "lo", "up"]);
    const component = containerRuntimeComponent({
      name: `container-runtime kenv-${runId}`,
      socketPath: join(dir, "run", "runtime.sock"),
      root: join(dir, "state"),
      backend: "oci",
      runtimeRoot,
      cniConfigDir: join(dir, "cni"),
      podCidr: POD_CIDR,
    });
    if (component.program.kind !== "node") throw new Error("the runtime component is expected to be a Node entry point");
    // Only the network namespace is the node's: the kubelet's volume mounts (tmpfs) must be visible to runc.
    const inNodeNetns: Component = {
      ...component,
      program: { kind: "binary", path: "nsenter" },
      args: [`--net=/run/netns/${nodeNetns}`, process.execPath, component.program.entry, ...component.args],
    };
    daemon = (await testProcesses.startReady(inNodeNetns, { timeoutMs: 60_000 })).process;
    client = new CriClient(join(dir, "run", "runtime.sock"), { timeoutMs: 30_000 });
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await daemon?.stop("SIGKILL");
    await deleteRuncContainers(RUNC, join(runtimeRoot, "runc"));
    if (dir !== "") for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    for (const id of sandboxIds) await execFileAsync("ip", ["netns", "delete", `kubelab-${id}`.slice(0, 64)]).catch(() => undefined);
    await execFileAsync("ip", ["netns", "delete", nodeNetns]).catch(() => undefined);
    await volumes?.tearDownPod(podUid).catch(() => undefined);
    if (dir !== "") for (const point of mountsUnder(dir)) await execFileAsync("umount", ["-R", "-l", point]).catch(() => undefined);
    removeCgroups(cgroupTop);
    if (dir !== "") removeDir(dir);
    expect(netnsNames().filter((name) => name === nodeNetns || sandboxIds.some((id) => name === `kubelab-${id}`.slice(0, 64)))).toEqual([]);
    expect(leftovers(dir, cgroupTop)).toEqual([]);
  }, 60_000);

  it("gives the container Kubernetes' variables, DNS, /etc/hosts and volumes, and updates a configMap volume in place", async () => {
    if (!client) throw new Error("no runtime client");
    const cri = client;
    await cri.pullImage({ image: imageSpec("busybox") });

    const configMaps = new Map<string, ConfigMap>();
    const putConfig = (data: Record<string, string>): void => {
      configMaps.set("shop/app-config", { metadata: { name: "app-config", namespace: "shop" }, data });
    };
    putConfig({ "app.properties": "color=blue\n", "greeting.txt": "hello", COLOR: "blue" });
    const secret: Secret = { metadata: { name: "db", namespace: "shop" }, data: { password: b64("s3cr3t") } };
    const services: Service[] = [
      { metadata: { name: "kubernetes", namespace: "default" }, spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, protocol: "TCP" }] } },
      { metadata: { name: "redis-master", namespace: "shop" }, spec: { clusterIP: "10.96.7.7", ports: [{ port: 6379, protocol: "TCP" }] } },
    ];
    const sources: EnvSources = {
      services: (ns) => services.filter((s) => s.metadata.namespace === ns || s.metadata.name === "kubernetes"),
      getConfigMap: (ns, name) => Promise.resolve(configMaps.get(`${ns}/${name}`)),
      getSecret: (ns, name) => Promise.resolve(ns === "shop" && name === "db" ? secret : undefined),
      nodeName: "node-1",
      nodeIP: "192.168.77.11",
      nodeAllocatable: { cpu: "2", memory: "4Gi", "ephemeral-storage": "20Gi" },
    };
    volumes = new VolumeManager({ rootDir: join(dir, "kubelet"), sources, logger: silentLogger(), nodeName: "node-1", nodeIPs: ["192.168.77.11"] });

    const container: Container = {
      name: "app",
      image: "busybox",
      command: ["sh", "-c", "echo $(GREETING) from $(MY_POD_NAME) > /data/greeting; exec sleep 3600"],
      resources: { limits: { memory: "64Mi" } },
      envFrom: [{ prefix: "CFG_", configMapRef: { name: "app-config" } }],
      env: [
        { name: "GREETING", value: "hi" },
        { name: "MY_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "MY_POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "MY_POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "MY_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        { name: "MY_HOST_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
        { name: "MEM_LIMIT_MI", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
        { name: "COLOR", valueFrom: { configMapKeyRef: { name: "app-config", key: "COLOR" } } },
        { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
        { name: "URL", value: "redis://$(REDIS_MASTER_SERVICE_HOST):$(REDIS_MASTER_SERVICE_PORT)/$(NOPE)" },
      ],
      volumeMounts: [
        { name: "config", mountPath: "/etc/config" },
        { name: "config", mountPath: "/etc/app.properties", subPath: "app.properties" },
        { name: "data", mountPath: "/data" },
        { name: "data", mountPath: "/logs", subPath: "logs/app" },
        { name: "cache", mountPath: "/cache" },
        { name: "db", mountPath: "/etc/db", readOnly: true },
        { name: "info", mountPath: "/etc/podinfo" },
      ],
    };
    const podName = `kenv-${runId}`;
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: podName, namespace: "shop", uid: podUid, labels: { app: "kenv" } },
      spec: {
        nodeName: "node-1",
        subdomain: "web",
        hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo.local", "bar.local"] }],
        containers: [container],
        volumes: [
          { name: "config", configMap: { name: "app-config", items: [{ key: "app.properties", path: "app.properties" }, { key: "greeting.txt", path: "sub/greeting.txt", mode: 0o600 }] } },
          { name: "data", emptyDir: {} },
          { name: "cache", emptyDir: { medium: "Memory", sizeLimit: "8Mi" } },
          { name: "db", secret: { secretName: "db", defaultMode: 0o400 } },
          { name: "info", downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } },
        ],
      },
    };

    const dnsConfig = makeDnsConfig(pod, { servers: ["10.96.0.10"], domain: "cluster.local", hostResolvConf: "nameserver 192.168.77.1\nsearch lab.example\n" });
    const sandbox = sandboxConfig(podName, {
      metadata: { name: podName, namespace: "shop", uid: podUid, attempt: 0 },
      logDirectory: join(dir, "pods", podName),
      ...(dnsConfig ? { dnsConfig } : {}),
      linux: { cgroupParent: `/${cgroupTop}/pod`, sysctls: {}, privileged: false, supplementalGroups: [], readonlyRootfs: false },
    });
    const podId = await cri.runPodSandbox(sandbox);
    sandboxIds.push(podId);
    const podIp = (await cri.podSandboxStatus(podId)).status.network?.ip ?? "";
    expect(podIp).toMatch(/^10\.244\.249\.\d+$/);
    pod.status = { podIP: podIp, podIPs: [{ ip: podIp }] };

    await volumes.setUpPod(pod, hostsFileContent(pod, [podIp], "cluster.local"));
    const env = await makeEnvironment(pod, container, [podIp], sources);
    const mounts = volumes.mountsFor(pod, container, env);
    const { command, args } = expandContainerCommand(container, env);
    const id = await cri.createContainer({
      podSandboxId: podId,
      config: containerConfig("app", "busybox", { command, args, envs: env, mounts }),
      sandboxConfig: sandbox,
    });
    await cri.startContainer(id);
    const run = async (...cmd: string[]): Promise<string> => {
      const res = await cri.execSync(id, cmd, 10);
      expect(res.exitCode, `${cmd.join(" ")}: ${res.stderr.toString()}`).toBe(0);
      return res.stdout.toString();
    };

    // The variables a process in the container gets (an exec gets the container's; pid 1 is a shell, which drops
    // names like CFG_app.properties), exactly: NUL-separated, so multi-line values arrive whole.
    const seen = new Map(
      (await run("cat", "/proc/self/environ"))
        .split("\0")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
    );
    expect(Object.fromEntries([...seen].filter(([k]) => k !== "PATH" && k !== "HOME" && k !== "SHLVL" && k !== "PWD"))).toEqual({
      HOSTNAME: podName,
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
      KUBERNETES_SERVICE_PORT_HTTPS: "443",
      KUBERNETES_PORT: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP_PROTO: "tcp",
      KUBERNETES_PORT_443_TCP_PORT: "443",
      KUBERNETES_PORT_443_TCP_ADDR: "10.96.0.1",
      REDIS_MASTER_SERVICE_HOST: "10.96.7.7",
      REDIS_MASTER_SERVICE_PORT: "6379",
      REDIS_MASTER_PORT: "tcp://10.96.7.7:6379",
      REDIS_MASTER_PORT_6379_TCP: "tcp://10.96.7.7:6379",
      REDIS_MASTER_PORT_6379_TCP_PROTO: "tcp",
      REDIS_MASTER_PORT_6379_TCP_PORT: "6379",
      REDIS_MASTER_PORT_6379_TCP_ADDR: "10.96.7.7",
      CFG_COLOR: "blue",
      "CFG_app.properties": "color=blue\n",
      "CFG_greeting.txt": "hello",
      GREETING: "hi",
      MY_POD_NAME: podName,
      MY_POD_NAMESPACE: "shop",
      MY_POD_IP: podIp,
      MY_NODE_NAME: "node-1",
      MY_HOST_IP: "192.168.77.11",
      MEM_LIMIT_MI: "64",
      COLOR: "blue",
      DB_PASSWORD: "s3cr3t",
      URL: "redis://10.96.7.7:6379/$(NOPE)",
    });

    expect(await run("cat", "/etc/hosts")).toBe(
      "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n" +
        "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
        `${podIp}\t${podName}.web.shop.svc.cluster.local\t${podName}\n` +
        "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n",
    );
    expect(await run("cat", "/etc/resolv.conf")).toBe("search shop.svc.cluster.local svc.cluster.local cluster.local lab.example\nnameserver 10.96.0.10\noptions ndots:5\n");

    // Volumes: the configMap with its items and modes, read-only; the subPath file; the emptyDir shared with the
    // node; a memory-backed emptyDir on tmpfs; the secret; the downward API.
    expect(await run("cat", "/etc/config/app.properties")).toBe("color=blue\n");
    expect(await run("cat", "/etc/config/sub/greeting.txt")).toBe("hello");
    expect(await run("stat", "-L", "-c", "%a", "/etc/config/sub/greeting.txt", "/etc/config/app.properties")).toBe("600\n644\n");
    expect((await cri.execSync(id, ["touch", "/etc/config/new"], 10)).exitCode).not.toBe(0);
    expect(await run("cat", "/etc/app.properties")).toBe("color=blue\n");
    expect(await run("cat", "/data/greeting")).toBe(`hi from ${podName}\n`);
    const dataDir = volumes.volumePath(pod, { name: "data", emptyDir: {} });
    expect(readFileSync(join(dataDir, "greeting"), "utf8")).toBe(`hi from ${podName}\n`);
    await run("sh", "-c", "echo logged > /logs/app.log");
    expect(readFileSync(join(dataDir, "logs/app/app.log"), "utf8")).toBe("logged\n");
    expect((await run("stat", "-f", "-c", "%T", "/cache")).trim()).toBe("tmpfs");
    expect(await run("cat", "/etc/db/password")).toBe("s3cr3t");
    expect(await run("cat", "/etc/podinfo/labels")).toBe('app="kenv"');

    // The ConfigMap changes: the next sync swaps the volume's ..data, and the running container sees the new file
    // (the subPath mount keeps the old contents, as in Kubernetes).
    putConfig({ "app.properties": "color=green\n", "greeting.txt": "hello again", COLOR: "green" });
    await volumes.setUpPod(pod, hostsFileContent(pod, [podIp], "cluster.local"));
    await waitFor("the new configMap contents inside the container", async () => ((await run("cat", "/etc/config/app.properties")) === "color=green\n" ? true : undefined));
    expect(await run("cat", "/etc/config/sub/greeting.txt")).toBe("hello again");
    expect(await run("cat", "/etc/app.properties")).toBe("color=blue\n");

    await cri.stopContainer(id, 0);
    await cri.removeContainer(id);
    await cri.removePodSandbox(podId);
    await volumes.tearDownPod(podUid);
    expect(mountsUnder(join(dir, "kubelet"))).toEqual([]);
    expect(existsSync(join(dir, "kubelet", "pods", podUid))).toBe(false);
  }, 120_000);
});
