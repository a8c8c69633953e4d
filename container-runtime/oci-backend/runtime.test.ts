import { describe, expect, it } from "vitest";
import type { ImageConfig } from "../images/oci.js";
import { containerArgs, containerEnv, containerResources, resolvConf } from "./runtime.js";

function image(config: ImageConfig["config"]): ImageConfig {
  return { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, ...(config ? { config } : {}) };
}

describe("containerArgs (Kubernetes' command/args rules)", () => {
  const withBoth = image({ Entrypoint: ["/entry"], Cmd: ["--default"] });

  it("runs the image's entrypoint and cmd when the container gives neither", () => {
    expect(containerArgs(withBoth, { command: [], args: [] })).toEqual(["/entry", "--default"]);
  });

  it("replaces the cmd with args, after the image's entrypoint", () => {
    expect(containerArgs(withBoth, { command: [], args: ["--mine"] })).toEqual(["/entry", "--mine"]);
  });

  it("replaces entrypoint and cmd with command, followed by args", () => {
    expect(containerArgs(withBoth, { command: ["/bin/sh"], args: [] })).toEqual(["/bin/sh"]);
    expect(containerArgs(withBoth, { command: ["/bin/sh"], args: ["-c", "true"] })).toEqual(["/bin/sh", "-c", "true"]);
  });

  it("is empty for an image without entrypoint and cmd and no command", () => {
    expect(containerArgs(image(undefined), { command: [], args: [] })).toEqual([]);
  });
});

describe("containerEnv", () => {
  it("lays the hostname and the container's variables over the image's", () => {
    const env = containerEnv(image({ Env: ["PATH=/bin", "A=image", "B=image"] }), { envs: [{ key: "B", value: "pod" }, { key: "C", value: "x=y" }] }, "web-1");
    expect(env).toEqual(["PATH=/bin", "A=image", "B=pod", "HOSTNAME=web-1", "C=x=y"]);
  });

  it("gives a PATH when the image has none", () => {
    expect(containerEnv(image(undefined), { envs: [] }, "h")).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  });
});

describe("containerResources", () => {
  const zero = { cpuPeriod: 0, cpuQuota: 0, cpuShares: 0, memoryLimitInBytes: 0, oomScoreAdj: 0, cpusetCpus: "", cpusetMems: "", unified: {}, memorySwapLimitInBytes: 0 };

  it("turns shares, quota/period and the memory limit into millicores and bytes", () => {
    expect(containerResources({ ...zero, cpuShares: 256, cpuQuota: 50_000, cpuPeriod: 100_000, memoryLimitInBytes: 64 << 20 })).toEqual({
      cpuRequestMilli: 250,
      cpuLimitMilli: 500,
      memoryLimitBytes: 64 << 20,
    });
  });

  it("leaves out what is unset (the kubelet's minimum of 2 shares means no request)", () => {
    expect(containerResources({ ...zero, cpuShares: 2 })).toBeUndefined();
    expect(containerResources(undefined)).toBeUndefined();
  });
});

describe("resolvConf", () => {
  it("writes search, nameservers and options in resolv.conf's form", () => {
    expect(resolvConf({ servers: ["10.96.0.10"], searches: ["ns.svc.cluster.local", "cluster.local"], options: ["ndots:5"] })).toBe(
      "search ns.svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
    );
  });
});
