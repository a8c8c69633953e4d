import { describe, expect, it } from "vitest";
import { defaultConfig, parseConfig } from "./config.js";

const defaults = { schedulerName: "default-scheduler", percentageOfNodesToScore: 0, podInitialBackoffMs: 1000, podMaxBackoffMs: 10_000 };

describe("scheduler configuration", () => {
  it("defaults to one profile with Kubernetes' filters and score weights", () => {
    const config = defaultConfig(defaults);
    expect(config.profiles).toHaveLength(1);
    const [profile] = config.profiles;
    expect(profile!.schedulerName).toBe("default-scheduler");
    expect(profile!.filter).toEqual(["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit", "VolumeBinding", "PodTopologySpread", "InterPodAffinity"]);
    expect(profile!.postFilter).toEqual(["DefaultPreemption"]);
    expect(profile!.reserve).toEqual(["VolumeBinding"]);
    expect(profile!.preBind).toEqual(["VolumeBinding"]);
    expect(profile!.score).toEqual([
      { name: "TaintToleration", weight: 3 },
      { name: "NodeAffinity", weight: 2 },
      { name: "NodeResourcesFit", weight: 1 },
      { name: "PodTopologySpread", weight: 2 },
      { name: "InterPodAffinity", weight: 2 },
      { name: "NodeResourcesBalancedAllocation", weight: 1 },
      { name: "ImageLocality", weight: 1 },
    ]);
  });

  it("reads a KubeSchedulerConfiguration, merging plugin sets as Kubernetes does", () => {
    const config = parseConfig(
      `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}]
      enabled:
      - {name: NodeResourcesFit, weight: 5}
      - {name: Custom}
    postFilter:
      disabled: [{name: DefaultPreemption}]
- schedulerName: bin-packer
  plugins:
    score:
      disabled: [{name: "*"}]
      enabled: [{name: NodeResourcesFit}]
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
`,
      defaults,
    );
    expect(config.percentageOfNodesToScore).toBe(30);
    expect(config.podInitialBackoffMs).toBe(2000);
    expect(config.podMaxBackoffMs).toBe(20_000);
    const [first, second] = config.profiles;
    expect(first!.score).toEqual([
      { name: "TaintToleration", weight: 3 },
      { name: "NodeAffinity", weight: 2 },
      { name: "NodeResourcesFit", weight: 5 },
      { name: "PodTopologySpread", weight: 2 },
      { name: "InterPodAffinity", weight: 2 },
      { name: "ImageLocality", weight: 1 },
      { name: "Custom", weight: 1 },
    ]);
    expect(first!.postFilter).toEqual([]);
    expect(second!.postFilter).toEqual(["DefaultPreemption"]);
    expect(second!.schedulerName).toBe("bin-packer");
    expect(second!.score).toEqual([{ name: "NodeResourcesFit", weight: 1 }]);
    expect(second!.pluginArgs.get("NodeResourcesFit")).toEqual({ scoringStrategy: { type: "MostAllocated" } });
  });

  it.each([
    ["kind: Deployment", /kind/],
    ["percentageOfNodesToScore: 120", /percentageOfNodesToScore/],
    ["profiles: []", /profiles/],
    ["profiles: [{schedulerName: a}, {schedulerName: a}]", /duplicate schedulerName/],
    ["profiles: [{plugins: {score: {enabled: [{weight: 2}]}}}]", /profiles\[0\]\.plugins\.score\.enabled\[0\]\.name/],
  ])("rejects %s", (text, message) => {
    expect(() => parseConfig(text, defaults)).toThrow(message);
  });
});
