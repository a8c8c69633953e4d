import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConfigMap, HostPathType, PersistentVolumeClaim, Pod, Secret, Volume } from "../../api/types/index.js";
import { silentLogger } from "../../component-base/logging.js";
import { ContainerConfigError } from "../container-env/env.js";
import type { MountOps } from "./mounts.js";
import { hostMountOps } from "./mounts.js";
import { ServiceAccountTokenManager } from "./service-account-token.js";
import { VolumeManager, VolumeSetupError, type VolumeSources } from "./volume-manager.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

class Store implements VolumeSources {
  configMaps = new Map<string, ConfigMap>();
  secrets = new Map<string, Secret>();
  getConfigMap(ns: string, name: string): Promise<ConfigMap | undefined> {
    return Promise.resolve(this.configMaps.get(`${ns}/${name}`));
  }
  getSecret(ns: string, name: string): Promise<Secret | undefined> {
    return Promise.resolve(this.secrets.get(`${ns}/${name}`));
  }
  putConfigMap(name: string, data: Record<string, string>, binaryData?: Record<string, string>): void {
    this.configMaps.set(`shop/${name}`, { metadata: { name, namespace: "shop" }, data, ...(binaryData ? { binaryData } : {}) });
  }
  putSecret(name: string, data: Record<string, string>): void {
    this.secrets.set(`shop/${name}`, { metadata: { name, namespace: "shop" }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) });
  }
}

function pod(volumes: Volume[], extra: Partial<NonNullable<Pod["spec"]>> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "shop", uid: "uid-1", labels: { app: "web" }, annotations: { a: "1" } },
    spec: { containers: [{ name: "c", resources: { limits: { memory: "64Mi" } } }], volumes, ...extra },
    status: { podIP: "10.244.1.5", podIPs: [{ ip: "10.244.1.5" }] },
  };
}

const mode = (path: string): number => statSync(path).mode & 0o777;

describe("VolumeManager", () => {
  let root = "";
  let store: Store;
  let vm: VolumeManager;
  const vol = (plugin: string, name: string): string => join(root, "pods", "uid-1", "volumes", plugin, name);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "kenv-volumes-"));
    store = new Store();
    vm = new VolumeManager({ rootDir: root, sources: store, logger: silentLogger(), nodeName: "node-1", tmpfs: false, nodeIPs: ["192.168.50.11"] });
  });
  afterEach(() => {
    for (const point of hostMountOps.mountPointsUnder(root)) execFileSync("umount", ["-l", point]);
    rmSync(root, { recursive: true, force: true });
  });

  it("writes a configMap volume atomically: ..data, a timestamped dir, top-level symlinks, mode 0644", async () => {
    store.putConfigMap("cfg", { "app.properties": "color=blue\n", "other.txt": "x" }, { "bin.dat": b64("\u0001\u0002") });
    const p = pod([{ name: "config", configMap: { name: "cfg" } }]);
    await vm.setUpPod(p, "");
    const dir = vol("kubernetes.io~configmap", "config");
    const entries = readdirSync(dir).sort();
    expect(entries.filter((e) => !e.startsWith("..20"))).toEqual(["..data", "app.properties", "bin.dat", "other.txt"]);
    const ts = entries.find((e) => /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./.test(e));
    expect(ts).toBeDefined();
    expect(readlinkSync(join(dir, "..data"))).toBe(ts);
    expect(readlinkSync(join(dir, "app.properties"))).toBe("..data/app.properties");
    expect(readFileSync(join(dir, "app.properties"), "utf8")).toBe("color=blue\n");
    expect(readFileSync(join(dir, "bin.dat"))).toEqual(Buffer.from([1, 2]));
    expect(mode(join(dir, "..data", "app.properties"))).toBe(0o644);

    // Unchanged: nothing is rewritten. Changed: a new timestamped dir replaces the old one; a removed key goes.
    await vm.setUpPod(p, "");
    expect(readlinkSync(join(dir, "..data"))).toBe(ts);
    const restarted = new VolumeManager({ rootDir: root, sources: store, logger: silentLogger(), nodeName: "node-1", tmpfs: false });
    await restarted.setUpPod(p, "");
    expect(readlinkSync(join(dir, "..data"))).toBe(ts);

    store.putConfigMap("cfg", { "app.properties": "color=green\n" });
    await vm.setUpPod(p, "");
    const ts2 = readlinkSync(join(dir, "..data"));
    expect(ts2).not.toBe(ts);
    expect(readFileSync(join(dir, "app.properties"), "utf8")).toBe("color=green\n");
    expect(readdirSync(dir).sort()).toEqual([ts2, "..data", "app.properties"].sort());
  });

  it("projects items to their paths with item modes and defaultMode; a missing key fails unless optional", async () => {
    store.putConfigMap("cfg", { a: "A", b: "B" });
    const p = pod([{ name: "config", configMap: { name: "cfg", defaultMode: 0o600, items: [{ key: "a", path: "dir/sub/a.txt" }, { key: "b", path: "b.sh", mode: 0o755 }] } }]);
    await vm.setUpPod(p, "");
    const dir = vol("kubernetes.io~configmap", "config");
    expect(readdirSync(dir).filter((e) => !e.startsWith(".."))).toEqual(expect.arrayContaining(["dir", "b.sh"]));
    expect(readFileSync(join(dir, "dir/sub/a.txt"), "utf8")).toBe("A");
    expect(mode(join(dir, "dir/sub/a.txt"))).toBe(0o600);
    expect(mode(join(dir, "b.sh"))).toBe(0o755);

    const missing = pod([{ name: "config", configMap: { name: "cfg", items: [{ key: "zzz", path: "z" }] } }]);
    await expect(vm.setUpPod(missing, "")).rejects.toThrow('MountVolume.SetUp failed for volume "config" : configmap references non-existent config key: zzz');
    const optional = pod([{ name: "config", configMap: { name: "cfg", optional: true, items: [{ key: "zzz", path: "z" }, { key: "a", path: "a" }] } }]);
    await vm.setUpPod(optional, "");
    expect(readdirSync(dir).filter((e) => !e.startsWith(".."))).toEqual(["a"]);
  });

  it("fails for a missing configMap or secret unless optional, naming each failed volume", async () => {
    const p = pod([
      { name: "c1", configMap: { name: "nope" } },
      { name: "s1", secret: { secretName: "gone" } },
      { name: "ok", configMap: { name: "nope", optional: true } },
    ]);
    const err: unknown = await vm.setUpPod(p, "").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VolumeSetupError);
    expect((err as VolumeSetupError).failures).toEqual([
      { volume: "c1", message: 'MountVolume.SetUp failed for volume "c1" : configmap "nope" not found' },
      { volume: "s1", message: 'MountVolume.SetUp failed for volume "s1" : secret "gone" not found' },
    ]);
    const ok = readdirSync(vol("kubernetes.io~configmap", "ok"));
    expect(ok).toHaveLength(2);
    expect(ok).toEqual(expect.arrayContaining(["..data", expect.stringMatching(/^\.\.\d/)]));
  });

  it("decodes secrets and writes downwardAPI and projected volumes", async () => {
    store.putSecret("creds", { password: "s3cr3t" });
    store.putConfigMap("cfg", { color: "blue" });
    const p = pod([
      { name: "creds", secret: { secretName: "creds", defaultMode: 0o400 } },
      {
        name: "info",
        downwardAPI: {
          items: [
            { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
            { path: "name", fieldRef: { fieldPath: "metadata.name" } },
            { path: "mem", resourceFieldRef: { containerName: "c", resource: "limits.memory", divisor: "1Mi" } },
          ],
        },
      },
      {
        name: "all",
        projected: {
          sources: [
            { configMap: { name: "cfg" } },
            { secret: { name: "creds", items: [{ key: "password", path: "secret/pw" }] } },
            { downwardAPI: { items: [{ path: "ns", fieldRef: { fieldPath: "metadata.namespace" } }] } },
            { serviceAccountToken: { path: "token" } },
          ],
        },
      },
    ]);
    await vm.setUpPod(p, "");
    const secretDir = vol("kubernetes.io~secret", "creds");
    expect(readFileSync(join(secretDir, "password"), "utf8")).toBe("s3cr3t");
    expect(mode(join(secretDir, "password"))).toBe(0o400);
    const info = vol("kubernetes.io~downward-api", "info");
    expect(readFileSync(join(info, "labels"), "utf8")).toBe('app="web"');
    expect(readFileSync(join(info, "name"), "utf8")).toBe("web-1");
    expect(readFileSync(join(info, "mem"), "utf8")).toBe("64");
    const all = vol("kubernetes.io~projected", "all");
    expect(readdirSync(all).filter((e) => !e.startsWith(".."))).toEqual(["color", "ns", "secret"]);
    expect(readFileSync(join(all, "secret/pw"), "utf8")).toBe("s3cr3t");

    // A label change reaches the downwardAPI file on the next sync.
    const relabelled = { ...p, metadata: { ...p.metadata, labels: { app: "web", v: "2" } } };
    await vm.setUpPod(relabelled, "");
    expect(readFileSync(join(info, "labels"), "utf8")).toBe('app="web"\nv="2"');
  });

  it("writes a projected serviceAccountToken from the token manager, and fails the volume when no token comes", async () => {
    let fail = false;
    const tokens = new ServiceAccountTokenManager((_ns, _account, request) => {
      if (fail) return Promise.reject(new Error("serviceaccounts \"default\" not found"));
      return Promise.resolve({ ...request, status: { token: "header.claims.signature", expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() } });
    }, { now: () => Date.now() });
    const withTokens = new VolumeManager({ rootDir: root, sources: { getConfigMap: (ns, n) => store.getConfigMap(ns, n), getSecret: (ns, n) => store.getSecret(ns, n), tokens }, logger: silentLogger(), nodeName: "node-1", tmpfs: false });
    const access = pod([{ name: "kube-api-access-abcde", projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 3607 } }, { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } }] } }]);
    await withTokens.setUpPod(access, "");
    const dir = vol("kubernetes.io~projected", "kube-api-access-abcde");
    expect(readFileSync(join(dir, "token"), "utf8")).toBe("header.claims.signature");
    expect(readFileSync(join(dir, "namespace"), "utf8")).toBe("shop");
    fail = true;
    tokens.forget("uid-1");
    await expect(withTokens.setUpPod(access, "")).rejects.toThrow('MountVolume.SetUp failed for volume "kube-api-access-abcde" : failed to fetch token: serviceaccounts "default" not found');
  });

  it.skipIf(process.getuid?.() !== 0)("gives the pod's fsGroup the volumes, group-readable, setgid on emptyDirs", async () => {
    store.putSecret("creds", { password: "pw" });
    const p = pod([{ name: "creds", secret: { secretName: "creds", defaultMode: 0o400, items: [{ key: "password", path: "a/b/pw" }] } }, { name: "scratch", emptyDir: {} }], {
      securityContext: { fsGroup: 2345 },
    });
    await vm.setUpPod(p, "");
    const secretDir = vol("kubernetes.io~secret", "creds");
    expect(mode(join(secretDir, "a/b/pw"))).toBe(0o440);
    expect(statSync(join(secretDir, "a/b/pw")).gid).toBe(2345);
    expect(statSync(join(secretDir, "..data", "a")).gid).toBe(2345);
    const scratch = vol("kubernetes.io~empty-dir", "scratch");
    expect(statSync(scratch).mode & 0o7777).toBe(0o2777);
    expect(statSync(scratch).gid).toBe(2345);
    // Unchanged on the next sync, also for a manager that just started (it compares modes and group on disk).
    const data = readlinkSync(join(secretDir, "..data"));
    await new VolumeManager({ rootDir: root, sources: store, logger: silentLogger(), nodeName: "node-1", tmpfs: false }).setUpPod(p, "");
    expect(readlinkSync(join(secretDir, "..data"))).toBe(data);
  });

  it("makes emptyDirs (0777) and refuses volumes without a supported source", async () => {
    await vm.setUpPod(pod([{ name: "scratch", emptyDir: {} }]), "");
    expect(mode(vol("kubernetes.io~empty-dir", "scratch"))).toBe(0o777);
    const nfs: Volume = JSON.parse('{"name": "data", "nfs": {"server": "x", "path": "/"}}') as Volume;
    await expect(vm.setUpPod(pod([nfs]), "")).rejects.toThrow('MountVolume.SetUp failed for volume "data" : volume type nfs is not supported by kubelab');
  });

  it("mounts a claim's bound hostPath volume, and waits while the claim is missing or unbound", async () => {
    const claims = new Map<string, PersistentVolumeClaim>();
    const hostDir = join(root, "pv-data");
    const sources: VolumeSources = {
      getConfigMap: (ns, n) => store.getConfigMap(ns, n),
      getSecret: (ns, n) => store.getSecret(ns, n),
      getPersistentVolumeClaim: (ns, n) => Promise.resolve(claims.get(`${ns}/${n}`)),
      getPersistentVolume: (n) => Promise.resolve(n === "pv-1" ? { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: n }, spec: { hostPath: { path: hostDir, type: "DirectoryOrCreate" } } } : undefined),
    };
    const withClaims = new VolumeManager({ rootDir: root, sources, logger: silentLogger(), nodeName: "node-1", tmpfs: false });
    const p = pod([{ name: "data", persistentVolumeClaim: { claimName: "data" } }], { containers: [{ name: "c", volumeMounts: [{ name: "data", mountPath: "/data" }] }] });
    await expect(withClaims.setUpPod(p, "")).rejects.toThrow('MountVolume.SetUp failed for volume "data" : persistentvolumeclaim "data" not found');
    claims.set("shop/data", { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: "shop" }, spec: {}, status: { phase: "Pending" } });
    await expect(withClaims.setUpPod(p, "")).rejects.toThrow("PVC shop/data is not bound");
    claims.set("shop/data", { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: "shop" }, spec: { volumeName: "pv-1" }, status: { phase: "Bound" } });
    await withClaims.setUpPod(p, "");
    expect(statSync(hostDir).isDirectory()).toBe(true);
    expect(withClaims.mountsFor(p, p.spec?.containers[0] ?? { name: "c" }).find((m) => m.containerPath === "/data")).toMatchObject({ hostPath: hostDir, readonly: false });
  });

  it("backs emptyDir medium Memory and secrets with tmpfs through the mount operations, falling back to a directory", async () => {
    const calls: string[] = [];
    const mounted = new Set<string>();
    const ops: MountOps = {
      mountTmpfs: (dir, size) => {
        calls.push(`tmpfs ${dir.slice(root.length)} ${size ?? "-"}`);
        if (dir.includes("refused")) return Promise.reject(new Error("permission denied"));
        mounted.add(dir);
        return Promise.resolve();
      },
      unmount: (path) => {
        calls.push(`umount ${path.slice(root.length)}`);
        mounted.delete(path);
        return Promise.resolve();
      },
      mountPointsUnder: (path) => [...mounted].filter((p) => p.startsWith(path)),
    };
    store.putSecret("creds", { k: "v" });
    const fake = new VolumeManager({ rootDir: root, sources: store, logger: silentLogger(), nodeName: "node-1", mountOps: ops });
    const p = pod([
      { name: "mem", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
      { name: "refused", emptyDir: { medium: "Memory" } },
      { name: "creds", secret: { secretName: "creds" } },
    ]);
    await fake.setUpPod(p, "");
    await fake.setUpPod(p, "");
    expect(calls).toEqual([
      "tmpfs /pods/uid-1/volumes/kubernetes.io~empty-dir/mem 1048576",
      "tmpfs /pods/uid-1/volumes/kubernetes.io~empty-dir/refused -",
      "tmpfs /pods/uid-1/volumes/kubernetes.io~secret/creds -",
    ]);
    expect(existsSync(vol("kubernetes.io~empty-dir", "refused"))).toBe(true);
    calls.length = 0;
    await fake.tearDownPod("uid-1");
    expect(calls.sort()).toEqual(["umount /pods/uid-1/volumes/kubernetes.io~empty-dir/mem", "umount /pods/uid-1/volumes/kubernetes.io~secret/creds"]);
    expect(existsSync(join(root, "pods", "uid-1"))).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)("mounts a real tmpfs for a memory emptyDir as root and unmounts it on teardown", async () => {
    const real = new VolumeManager({ rootDir: root, sources: store, logger: silentLogger(), nodeName: "node-1" });
    await real.setUpPod(pod([{ name: "mem", emptyDir: { medium: "Memory", sizeLimit: "2Mi" } }]), "");
    const dir = vol("kubernetes.io~empty-dir", "mem");
    expect(hostMountOps.mountPointsUnder(root)).toEqual([dir]);
    expect(execFileSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" }).trim()).toBe("tmpfs");
    await real.tearDownPod("uid-1");
    expect(hostMountOps.mountPointsUnder(root)).toEqual([]);
    expect(existsSync(join(root, "pods", "uid-1"))).toBe(false);
  });

  describe("hostPath", () => {
    let host = "";
    let server: Server | undefined;
    beforeEach(() => {
      host = join(root, "host");
      mkdirSync(join(host, "dir"), { recursive: true });
      writeFileSync(join(host, "file"), "x");
    });
    afterEach(() => {
      server?.close();
      server = undefined;
    });
    const setUp = (path: string, type: HostPathType): Promise<void> => vm.setUpPod(pod([{ name: "h", hostPath: { path, type } }]), "");
    const failure = async (path: string, type: HostPathType): Promise<string> => {
      const err: unknown = await setUp(path, type).catch((e: unknown) => e);
      return err instanceof VolumeSetupError ? (err.failures[0]?.message ?? "") : "no error";
    };

    it("checks and creates by type with Kubernetes' messages", async () => {
      await setUp(join(host, "dir"), "Directory");
      await setUp(join(host, "file"), "File");
      await setUp(join(host, "anything-missing"), "");
      await setUp(join(host, "new/nested"), "DirectoryOrCreate");
      expect(lstatSync(join(host, "new/nested")).isDirectory()).toBe(true);
      await setUp(join(host, "made"), "FileOrCreate");
      expect(lstatSync(join(host, "made")).isFile()).toBe(true);
      await setUp("/dev/null", "CharDevice");
      const sock = join(host, "s.sock");
      server = createServer();
      await new Promise<void>((resolve) => server?.listen(sock, resolve));
      await setUp(sock, "Socket");

      const prefix = 'MountVolume.SetUp failed for volume "h" : hostPath type check failed: ';
      expect(await failure(join(host, "file"), "Directory")).toBe(`${prefix}${join(host, "file")} is not a directory`);
      expect(await failure(join(host, "missing"), "Directory")).toBe(`${prefix}${join(host, "missing")} is not a directory`);
      expect(await failure(join(host, "dir"), "File")).toBe(`${prefix}${join(host, "dir")} is not a file`);
      expect(await failure(join(host, "dir"), "FileOrCreate")).toBe(`${prefix}${join(host, "dir")} is not a file`);
      expect(await failure(join(host, "file"), "DirectoryOrCreate")).toBe(`${prefix}${join(host, "file")} is not a directory`);
      expect(await failure(join(host, "file"), "Socket")).toBe(`${prefix}${join(host, "file")} is not a socket file`);
      expect(await failure(join(host, "file"), "CharDevice")).toBe(`${prefix}${join(host, "file")} is not a character device`);
      expect(await failure("/dev/null", "BlockDevice")).toBe(`${prefix}/dev/null is not a block device`);
    });
  });

  describe("mountsFor", () => {
    it("maps volumeMounts (readOnly, propagation, subPath created in the volume) and adds /etc/hosts", async () => {
      store.putConfigMap("cfg", { "app.properties": "x" });
      const hostDir = join(root, "hostdir");
      const p = pod([
        { name: "scratch", emptyDir: {} },
        { name: "config", configMap: { name: "cfg" } },
        { name: "h", hostPath: { path: hostDir, type: "DirectoryOrCreate" } },
      ]);
      const c = {
        name: "c",
        volumeMounts: [
          { name: "scratch", mountPath: "/data" },
          { name: "scratch", mountPath: "/logs", subPath: "logs/app" },
          { name: "config", mountPath: "/etc/app" },
          { name: "config", mountPath: "/etc/app.properties", subPath: "app.properties" },
          { name: "h", mountPath: "/host", readOnly: true, mountPropagation: "HostToContainer" as const },
          { name: "scratch", mountPath: "/per-pod", subPathExpr: "$(POD_NAME)" },
        ],
      };
      await vm.setUpPod(p, "# hosts\n");
      const scratch = vol("kubernetes.io~empty-dir", "scratch");
      const config = vol("kubernetes.io~configmap", "config");
      const mounts = vm.mountsFor(p, c, [{ key: "POD_NAME", value: "web-1" }]);
      const base = { selinuxRelabel: false, recursiveReadOnly: false, propagation: "PROPAGATION_PRIVATE" };
      expect(mounts).toEqual([
        { ...base, containerPath: "/data", hostPath: scratch, readonly: false },
        { ...base, containerPath: "/logs", hostPath: join(scratch, "logs/app"), readonly: false },
        { ...base, containerPath: "/etc/app", hostPath: config, readonly: true },
        { ...base, containerPath: "/etc/app.properties", hostPath: join(config, readlinkSync(join(config, "..data")), "app.properties"), readonly: true },
        { ...base, containerPath: "/host", hostPath: hostDir, readonly: true, propagation: "PROPAGATION_HOST_TO_CONTAINER" },
        { ...base, containerPath: "/per-pod", hostPath: join(scratch, "web-1"), readonly: false },
        { ...base, containerPath: "/etc/hosts", hostPath: join(root, "pods", "uid-1", "etc-hosts"), readonly: false },
      ]);
      expect(mode(join(scratch, "logs/app"))).toBe(0o777);
      expect(readFileSync(join(root, "pods", "uid-1", "etc-hosts"), "utf8")).toBe("# hosts\n");
    });

    it("leaves /etc/hosts to a container mounting its own, and to a host-network pod without a managed file", async () => {
      const p = pod([{ name: "scratch", emptyDir: {} }], { hostNetwork: true });
      await vm.setUpPod(p, "");
      expect(vm.mountsFor(p, { name: "c" })).toEqual([]);
      const q = pod([{ name: "scratch", emptyDir: {} }]);
      await vm.setUpPod(q, "# hosts\n");
      expect(vm.mountsFor(q, { name: "c", volumeMounts: [{ name: "scratch", mountPath: "/etc/hosts", subPath: "hosts" }] }).map((m) => m.containerPath)).toEqual([
        "/etc/hosts",
      ]);
    });

    it("rejects unknown volumes, absolute or escaping subPaths and symlinks out of the volume", async () => {
      const p = pod([{ name: "scratch", emptyDir: {} }]);
      await vm.setUpPod(p, "");
      const scratch = vol("kubernetes.io~empty-dir", "scratch");
      symlinkSync("/etc", join(scratch, "escape"));
      const mountsWith = (volumeMounts: { name: string; mountPath: string; subPath?: string }[]) => () => vm.mountsFor(p, { name: "c", volumeMounts });
      expect(mountsWith([{ name: "nope", mountPath: "/x" }])).toThrow(new ContainerConfigError('cannot find volume "nope" to mount into container "c"'));
      expect(mountsWith([{ name: "scratch", mountPath: "/x", subPath: "/abs" }])).toThrow("error SubPath `/abs` must not be an absolute path");
      expect(mountsWith([{ name: "scratch", mountPath: "/x", subPath: "a/../../b" }])).toThrow("must not contain '..'");
      expect(mountsWith([{ name: "scratch", mountPath: "/x", subPath: "escape" }])).toThrow(`subpath "/etc" not within volume path "${scratch}"`);
      expect(mountsWith([{ name: "scratch", mountPath: "/x", subPath: "escape/kenv-must-not-exist" }])).toThrow("failed to create subPath directory");
      expect(existsSync("/etc/kenv-must-not-exist")).toBe(false);
    });

    it("rewrites /etc/hosts in place (same inode) only when it changed", async () => {
      const p = pod([]);
      await vm.setUpPod(p, "one\n");
      const file = join(root, "pods", "uid-1", "etc-hosts");
      const inode = statSync(file).ino;
      const mtime = statSync(file).mtimeMs;
      await vm.setUpPod(p, "one\n");
      expect(statSync(file).mtimeMs).toBe(mtime);
      await vm.setUpPod(p, "two\n");
      expect(readFileSync(file, "utf8")).toBe("two\n");
      expect(statSync(file).ino).toBe(inode);
    });
  });

  it("tears down the pod's directory", async () => {
    store.putConfigMap("cfg", { a: "1" });
    await vm.setUpPod(pod([{ name: "config", configMap: { name: "cfg" } }, { name: "s", emptyDir: {} }]), "# h\n");
    await expect(vm.tearDownPod("")).rejects.toThrow(VolumeSetupError);
    await expect(vm.tearDownPod("..")).rejects.toThrow(VolumeSetupError);
    expect(existsSync(join(root, "pods", "uid-1"))).toBe(true);
    await vm.tearDownPod("uid-1");
    expect(existsSync(join(root, "pods", "uid-1"))).toBe(false);
    // Set up again from scratch after a teardown (the caches were dropped).
    await vm.setUpPod(pod([{ name: "config", configMap: { name: "cfg" } }]), "");
    expect(readFileSync(join(vol("kubernetes.io~configmap", "config"), "a"), "utf8")).toBe("1");
  });

  it("without writeToDisk (hollow nodes) resolves every source and fails as a real node, but writes nothing", async () => {
    const hollow = new VolumeManager({ rootDir: root, sources: store, logger: silentLogger(), nodeName: "node-1", tmpfs: false, writeToDisk: false });
    const volumes: Volume[] = [
      { name: "config", configMap: { name: "cfg", items: [{ key: "a", path: "a.txt" }] } },
      { name: "creds", secret: { secretName: "gone" } },
      { name: "scratch", emptyDir: { medium: "Memory" } },
      { name: "info", downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] } },
    ];
    const p = pod(volumes);
    const c = { name: "c", volumeMounts: [{ name: "config", mountPath: "/etc/app" }, { name: "scratch", mountPath: "/logs", subPath: "app" }] };
    store.putConfigMap("cfg", { b: "1" });
    const failures = await hollow.setUpPod(p, "# hosts\n").then(
      () => [],
      (err: unknown) => (err instanceof VolumeSetupError ? err.failures.map((f) => f.message) : ["not a VolumeSetupError"]),
    );
    expect(failures).toEqual([
      'MountVolume.SetUp failed for volume "config" : configmap references non-existent config key: a',
      'MountVolume.SetUp failed for volume "creds" : secret "gone" not found',
    ]);
    store.putConfigMap("cfg", { a: "1" });
    store.putSecret("gone", { k: "v" });
    await hollow.setUpPod(p, "# hosts\n");
    expect(readdirSync(root)).toEqual([]);
    // The mounts name the paths the files would have, /etc/hosts included; a subPath is not created.
    expect(hollow.mountsFor(p, c).map((m) => [m.containerPath, m.hostPath])).toEqual([
      ["/etc/app", vol("kubernetes.io~configmap", "config")],
      ["/logs", join(vol("kubernetes.io~empty-dir", "scratch"), "app")],
      ["/etc/hosts", join(root, "pods", "uid-1", "etc-hosts")],
    ]);
    expect(() => hollow.mountsFor(p, { name: "c", volumeMounts: [{ name: "scratch", mountPath: "/x", subPath: "../up" }] })).toThrow(ContainerConfigError);
    await hollow.tearDownPod("uid-1");
    expect(hollow.mountsFor(p, { name: "c" })).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });
});
