import { describe, expect, it } from "vitest";
import { processesInNetns } from "./host.js";

describe("processesInNetns", () => {
  it("finds the processes that share a network namespace (this process's parent shares this one's)", () => {
    expect(processesInNetns("/proc/self/ns/net")).toContain(process.ppid);
  });

  it("leaves out this process itself", () => {
    expect(processesInNetns("/proc/self/ns/net")).not.toContain(process.pid);
  });

  it("finds none for a namespace that does not exist", () => {
    expect(processesInNetns("/run/netns/kubelab-no-such-namespace")).toEqual([]);
  });
});
