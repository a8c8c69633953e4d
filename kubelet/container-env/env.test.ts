import { describe, expect, it } from "vitest";
import type { ConfigMap, Container, Pod, Secret, Service, ServicePort } from "../../api/types/index.js";
import { ContainerConfigError, expandContainerCommand, makeEnvironment, serviceEnvironment, type EnvSources } from "./env.js";
import { expand, lookupIn } from "./expansion.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

function service(name: string, namespace: string, clusterIP: string, ports: ServicePort[]): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { clusterIP, ports } };
}

const KUBERNETES = service("kubernetes", "default", "10.96.0.1", [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }]);

function pod(spec: Partial<NonNullable<Pod["spec"]>> = {}, meta: Partial<Pod["metadata"]> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "shop", uid: "uid-123", labels: { app: "web", tier: "front" }, annotations: { note: 'say "hi"\n' }, ...meta },
    spec: { containers: [{ name: "c" }], nodeName: "node-1", serviceAccountName: "builder", ...spec },
  };
}

function sources(opts: { services?: Service[]; configMaps?: ConfigMap[]; secrets?: Secret[]; warnings?: string[] } = {}): EnvSources {
  const services = opts.services ?? [KUBERNETES];
  return {
    services: (ns) => services.filter((s) => s.metadata.namespace === ns || (s.metadata.namespace === "default" && s.metadata.name === "kubernetes")),
    getConfigMap: (ns, name) => Promise.resolve((opts.configMaps ?? []).find((c) => c.metadata.namespace === ns && c.metadata.name === name)),
    getSecret: (ns, name) => Promise.resolve((opts.secrets ?? []).find((c) => c.metadata.namespace === ns && c.metadata.name === name)),
    nodeName: "node-1",
    nodeIP: "192.168.50.11",
    nodeAllocatable: { cpu: "4", memory: "8Gi", "ephemeral-storage": "100Gi" },
    recordWarning: (reason, message) => opts.warnings?.push(`${reason}: ${message}`),
  };
}

const asMap = (kvs: { key: string; value: string }[]): Record<string, string> => Object.fromEntries(kvs.map((kv) => [kv.key, kv.value]));

describe("expand", () => {
  const lookup = lookupIn(new Map([["A", "a"], ["EMPTY", ""]]));
  it.each([
    ["$(A)", "a"],
    ["x$(A)y$(A)", "xaya"],
    ["$(EMPTY)!", "!"],
    ["$(MISSING)", "$(MISSING)"],
    ["$$(A)", "$(A)"],
    ["$$$(A)", "$a"],
    ["$$", "$"],
    ["$", "$"],
    ["a$", "a$"],
    ["$(A", "$(A"],
    ["$(", "$("],
    ["$A", "$A"],
    ["$()", "$()"],
    ["$(A)$(", "a$("],
    ["$(A $(A)", "$(A $(A)"],
  ])("%s → %s", (input, want) => {
    expect(expand(input, lookup)).toBe(want);
  });
});

describe("service variables", () => {
  it("gives the master service and the namespace's services, Docker-link style, named and unnamed ports", () => {
    const svcs = [
      KUBERNETES,
      service("redis-master", "shop", "10.96.4.5", [{ port: 6379 }]),
      service("web", "shop", "10.96.4.6", [
        { name: "http", port: 80 },
        { name: "dns-udp", port: 53, protocol: "UDP" },
      ]),
      service("headless", "shop", "None", [{ port: 1 }]),
      service("elsewhere", "other", "10.96.9.9", [{ port: 1 }]),
    ];
    const env = serviceEnvironment(svcs, "shop", true);
    expect(Object.fromEntries(env)).toEqual({
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
      KUBERNETES_SERVICE_PORT_HTTPS: "443",
      KUBERNETES_PORT: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP_PROTO: "tcp",
      KUBERNETES_PORT_443_TCP_PORT: "443",
      KUBERNETES_PORT_443_TCP_ADDR: "10.96.0.1",
      REDIS_MASTER_SERVICE_HOST: "10.96.4.5",
      REDIS_MASTER_SERVICE_PORT: "6379",
      REDIS_MASTER_PORT: "tcp://10.96.4.5:6379",
      REDIS_MASTER_PORT_6379_TCP: "tcp://10.96.4.5:6379",
      REDIS_MASTER_PORT_6379_TCP_PROTO: "tcp",
      REDIS_MASTER_PORT_6379_TCP_PORT: "6379",
      REDIS_MASTER_PORT_6379_TCP_ADDR: "10.96.4.5",
      WEB_SERVICE_HOST: "10.96.4.6",
      WEB_SERVICE_PORT: "80",
      WEB_SERVICE_PORT_HTTP: "80",
      WEB_SERVICE_PORT_DNS_UDP: "53",
      WEB_PORT: "tcp://10.96.4.6:80",
      WEB_PORT_80_TCP: "tcp://10.96.4.6:80",
      WEB_PORT_80_TCP_PROTO: "tcp",
      WEB_PORT_80_TCP_PORT: "80",
      WEB_PORT_80_TCP_ADDR: "10.96.4.6",
      WEB_PORT_53_UDP: "udp://10.96.4.6:53",
      WEB_PORT_53_UDP_PROTO: "udp",
      WEB_PORT_53_UDP_PORT: "53",
      WEB_PORT_53_UDP_ADDR: "10.96.4.6",
    });
  });

  it("keeps only the master service with enableServiceLinks false", () => {
    const env = serviceEnvironment([KUBERNETES, service("web", "shop", "10.96.4.6", [{ port: 80 }])], "shop", false);
    expect([...env.keys()].every((k) => k.startsWith("KUBERNETES_"))).toBe(true);
    expect(env.get("KUBERNETES_SERVICE_HOST")).toBe("10.96.0.1");
  });

  it("brackets an IPv6 ClusterIP in the URLs", () => {
    const env = serviceEnvironment([service("v6", "shop", "fd00::10", [{ port: 80 }])], "shop", true);
    expect(env.get("V6_PORT")).toBe("tcp://[fd00::10]:80");
    expect(env.get("V6_PORT_80_TCP_ADDR")).toBe("fd00::10");
  });
});

describe("makeEnvironment", () => {
  it("orders service variables, envFrom, then env; env wins and expands references", async () => {
    const cm: ConfigMap = { metadata: { name: "settings", namespace: "shop" }, data: { MODE: "prod", LEVEL: "3", "bad=key": "x" } };
    const warnings: string[] = [];
    const c: Container = {
      name: "c",
      envFrom: [{ configMapRef: { name: "settings" } }, { prefix: "S_", configMapRef: { name: "settings" } }],
      env: [
        { name: "MODE", value: "dev" },
        { name: "URL", value: "http://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)/$(MODE)/$(LATER)" },
        { name: "LATER", value: "x" },
        { name: "ESC", value: "$$(MODE)" },
        { name: "EMPTY" },
      ],
    };
    const env = await makeEnvironment(pod(), c, ["10.244.1.5"], sources({ configMaps: [cm], warnings }));
    const keys = env.map((kv) => kv.key);
    expect(keys.slice(0, 8).every((k) => k.startsWith("KUBERNETES_"))).toBe(true);
    expect(keys.slice(8)).toEqual(["LEVEL", "S_LEVEL", "S_MODE", "MODE", "URL", "LATER", "ESC", "EMPTY"]);
    expect(asMap(env)).toMatchObject({
      MODE: "dev",
      LEVEL: "3",
      S_MODE: "prod",
      URL: "http://10.96.0.1:443/dev/$(LATER)",
      ESC: "$(MODE)",
      EMPTY: "",
    });
    expect(warnings).toEqual([
      "InvalidEnvironmentVariableNames: Keys [bad=key] from the EnvFrom configMap shop/settings were skipped since they are considered invalid environment variable names.",
      "InvalidEnvironmentVariableNames: Keys [S_bad=key] from the EnvFrom configMap shop/settings were skipped since they are considered invalid environment variable names.",
    ]);
  });

  it("resolves every fieldRef", async () => {
    const paths = [
      "metadata.name",
      "metadata.namespace",
      "metadata.uid",
      "metadata.labels['app']",
      "metadata.labels",
      "metadata.annotations['note']",
      "metadata.annotations",
      "spec.nodeName",
      "spec.serviceAccountName",
      "status.hostIP",
      "status.hostIPs",
      "status.podIP",
      "status.podIPs",
    ];
    const c: Container = { name: "c", env: paths.map((fieldPath, i) => ({ name: `F${i}`, valueFrom: { fieldRef: { fieldPath } } })) };
    const env = asMap(await makeEnvironment(pod(), c, ["10.244.1.5", "fd00::5"], sources()));
    expect(paths.map((_, i) => env[`F${i}`])).toEqual([
      "web-1",
      "shop",
      "uid-123",
      "web",
      'app="web"\ntier="front"',
      'say "hi"\n',
      'note="say \\"hi\\"\\n"',
      "node-1",
      "builder",
      "192.168.50.11",
      "192.168.50.11",
      "10.244.1.5",
      "10.244.1.5,fd00::5",
    ]);
  });

  it("rejects an unsupported fieldPath as a config error", async () => {
    const c: Container = { name: "c", env: [{ name: "X", valueFrom: { fieldRef: { fieldPath: "spec.nope" } } }] };
    await expect(makeEnvironment(pod(), c, [], sources())).rejects.toThrow(new ContainerConfigError("unsupported fieldPath: spec.nope"));
  });

  it("resolves resourceFieldRef with divisors, rounding up, and node allocatable for unset limits", async () => {
    const c: Container = {
      name: "c",
      resources: { requests: { cpu: "250m", memory: "100Mi" }, limits: { cpu: "1500m", memory: "129M" } },
      env: [
        { name: "CPU_LIMIT", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
        { name: "CPU_LIMIT_M", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1m" } } },
        { name: "CPU_REQ", valueFrom: { resourceFieldRef: { resource: "requests.cpu" } } },
        { name: "MEM_LIMIT_MI", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
        { name: "MEM_REQ", valueFrom: { resourceFieldRef: { resource: "requests.memory" } } },
        { name: "EPH_LIMIT_GI", valueFrom: { resourceFieldRef: { resource: "limits.ephemeral-storage", divisor: "1Gi" } } },
        { name: "EPH_REQ", valueFrom: { resourceFieldRef: { resource: "requests.ephemeral-storage" } } },
        { name: "OTHER_MEM", valueFrom: { resourceFieldRef: { containerName: "side", resource: "limits.memory", divisor: "1Mi" } } },
      ],
    };
    const p = pod({ containers: [c, { name: "side", resources: { limits: { memory: "64Mi" } } }] });
    const env = asMap(await makeEnvironment(p, c, [], sources()));
    expect(env).toMatchObject({
      CPU_LIMIT: "2",
      CPU_LIMIT_M: "1500",
      CPU_REQ: "1",
      MEM_LIMIT_MI: "124",
      MEM_REQ: String(100 * 1024 * 1024),
      EPH_LIMIT_GI: "100",
      EPH_REQ: "0",
      OTHER_MEM: "64",
    });
    const noLimits: Container = { name: "c", env: [{ name: "CPUS", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } }] };
    expect(asMap(await makeEnvironment(pod(), noLimits, [], sources())).CPUS).toBe("4");
  });

  it("resolves configMapKeyRef and secretKeyRef, honouring optional, with Kubernetes' messages otherwise", async () => {
    const cm: ConfigMap = { metadata: { name: "cfg", namespace: "shop" }, data: { color: "blue" } };
    const secret: Secret = { metadata: { name: "creds", namespace: "shop" }, data: { password: b64("s3cr3t") } };
    const src = sources({ configMaps: [cm], secrets: [secret] });
    const c: Container = {
      name: "c",
      env: [
        { name: "COLOR", valueFrom: { configMapKeyRef: { name: "cfg", key: "color" } } },
        { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
        { name: "OPT_KEY", valueFrom: { configMapKeyRef: { name: "cfg", key: "nope", optional: true } } },
        { name: "OPT_CM", valueFrom: { configMapKeyRef: { name: "missing", key: "k", optional: true } } },
        { name: "OPT_SECRET", valueFrom: { secretKeyRef: { name: "missing", key: "k", optional: true } } },
      ],
      envFrom: [{ secretRef: { name: "creds" }, prefix: "DB_" }, { configMapRef: { name: "absent", optional: true } }],
    };
    const env = asMap(await makeEnvironment(pod(), c, [], src));
    expect(env).toMatchObject({ COLOR: "blue", PASSWORD: "s3cr3t", DB_password: "s3cr3t" });
    expect(env).not.toHaveProperty("OPT_KEY");
    expect(env).not.toHaveProperty("OPT_CM");
    expect(env).not.toHaveProperty("OPT_SECRET");

    const fails = async (e: Container): Promise<string> => {
      const err: unknown = await makeEnvironment(pod(), e, [], src).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(ContainerConfigError);
      return (err as Error).message;
    };
    expect(await fails({ name: "c", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "x", key: "k" } } }] })).toBe('configmap "x" not found');
    expect(await fails({ name: "c", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "k" } } }] })).toBe(
      "couldn't find key k in ConfigMap shop/cfg",
    );
    expect(await fails({ name: "c", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "y", key: "k" } } }] })).toBe('secret "y" not found');
    expect(await fails({ name: "c", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "creds", key: "k" } } }] })).toBe(
      "couldn't find key k in Secret shop/creds",
    );
    expect(await fails({ name: "c", envFrom: [{ configMapRef: { name: "x" } }] })).toBe('configmap "x" not found');
    expect(await fails({ name: "c", envFrom: [{ secretRef: { name: "y" } }] })).toBe('secret "y" not found');
  });

  it("lets the namespace's own variables override service variables and keeps one entry per name", async () => {
    const c: Container = { name: "c", env: [{ name: "KUBERNETES_SERVICE_HOST", value: "override" }] };
    const env = await makeEnvironment(pod(), c, [], sources());
    expect(env.filter((kv) => kv.key === "KUBERNETES_SERVICE_HOST")).toEqual([{ key: "KUBERNETES_SERVICE_HOST", value: "override" }]);
    expect(env.at(-1)?.key).toBe("KUBERNETES_SERVICE_HOST");
  });
});

describe("expandContainerCommand", () => {
  it("expands command and args from the environment, leaving unknown references", () => {
    const c: Container = { name: "c", command: ["sh", "-c", "echo $(GREETING) $$(GREETING)"], args: ["$(NAME)", "$(UNSET)"] };
    expect(expandContainerCommand(c, [{ key: "GREETING", value: "hi" }, { key: "NAME", value: "web" }])).toEqual({
      command: ["sh", "-c", "echo hi $(GREETING)"],
      args: ["web", "$(UNSET)"],
    });
  });
});
