import { describe, expect, it } from "vitest";
import { FlagError, parseCommandLine } from "../../component-base/flags.js";
import { DEFAULT_MISSING_IMAGES } from "./missing-images.js";
import { hollowNodesFlags, parseLabels, resolveConfig } from "./options.js";

function configFor(...argv: string[]) {
  const { flags } = parseCommandLine(hollowNodesFlags, argv, {
    command: "kubelab hollow-nodes",
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    stderr: () => undefined,
  });
  return resolveConfig(flags);
}

describe("resolveConfig", () => {
  it("defaults like a kubelet: 40 s leases renewed every 10 s, status checked every 10 s", () => {
    const config = configFor("--count", "3", "--name-prefix", "hn");
    expect(config).toMatchObject({
      count: 3,
      namePrefix: "hn",
      startIndex: 0,
      capacity: { cpu: "4", memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi" },
      labels: {},
      startDelayMs: 0,
      leaseDurationSeconds: 40,
      leaseRenewIntervalMs: 10_000,
      nodeStatusUpdateFrequencyMs: 10_000,
      nodeStatusReportFrequencyMs: 300_000,
      podCIDRWaitMs: 5000,
    });
    expect(config.podCIDRFallback?.text).toBe("10.244.0.0/16");
  });

  it("renews at a quarter of a shorter lease unless told otherwise", () => {
    expect(configFor("--lease-duration", "4s").leaseRenewIntervalMs).toBe(1000);
    expect(configFor("--lease-duration", "4s", "--lease-renew-interval", "300ms").leaseRenewIntervalMs).toBe(300);
  });

  it("takes capacity, labels, a start delay and no fallback range", () => {
    const config = configFor("--cpu", "1500m", "--memory", "1024Mi", "--max-pods", "20", "--labels", "zone=a,example.com/tier=web", "--start-delay", "2s", "--pod-cidr-fallback", "none");
    expect(config.capacity).toEqual({ cpu: "1500m", memory: "1Gi", pods: "20", "ephemeral-storage": "100Gi" });
    expect(config.labels).toEqual({ zone: "a", "example.com/tier": "web" });
    expect(config.startDelayMs).toBe(2000);
    expect(config.podCIDRFallback).toBeUndefined();
  });

  it("lacks the default missing images unless told otherwise; an empty --missing-images lacks none", () => {
    expect(configFor().missingImages.patterns).toEqual(DEFAULT_MISSING_IMAGES);
    expect(configFor("--missing-images", "").missingImages.patterns).toEqual([]);
    expect(configFor("--missing-images=").missingImages.isMissing("webserver:404")).toBe(false);
    expect(configFor("--missing-images", "myorg/*,*:broken").missingImages.patterns).toEqual(["myorg/*", "*:broken"]);
  });

  it.each([
    [["--missing-images", "a,,b"], '"--missing-images" flag: "" is not an image pattern'],
    [["--count", "0"], '"--count" flag: must be a positive integer'],
    [["--count", "1.5"], '"--count" flag'],
    [["--start-index", "-1"], '"--start-index" flag'],
    [["--name-prefix", "Bad_Prefix"], '"--name-prefix" flag'],
    [["--name-prefix", "x".repeat(62), "--count", "10"], '"--name-prefix" flag'],
    [["--cpu", "lots"], '"--cpu" flag'],
    [["--memory", "0"], '"--memory" flag: must be positive'],
    [["--lease-duration", "1500ms"], "must be whole seconds"],
    [["--lease-renew-interval", "0s"], '"--lease-renew-interval" flag: must be positive'],
    [["--pod-cidr-fallback", "10.0.0.0/28"], '"--pod-cidr-fallback" flag'],
    [["--labels", "novalue"], "is not of the form key=value"],
    [["--labels", "a=b c"], '"--labels" flag'],
  ])("rejects %j naming the flag", (argv, message) => {
    expect(() => configFor(...argv)).toThrow(FlagError);
    expect(() => configFor(...argv)).toThrow(message);
  });
});

describe("parseLabels", () => {
  it("reads kubelet --node-labels syntax", () => {
    expect(parseLabels("")).toEqual({});
    expect(parseLabels("a=1, b = 2,c=")).toEqual({ a: "1", b: "2", c: "" });
  });
});
