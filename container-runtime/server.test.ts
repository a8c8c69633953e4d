import { describe, expect, it } from "vitest";
import { runtimeConditions } from "./server.js";

describe("runtimeConditions", () => {
  it("reports both conditions true when the backend is ready", () => {
    expect(runtimeConditions({ runtime: { ready: true }, network: { ready: true }, degraded: {} })).toEqual([
      { type: "RuntimeReady", status: true, reason: "", message: "" },
      { type: "NetworkReady", status: true, reason: "", message: "" },
    ]);
  });

  it("says what the host refused even while ready, and why a condition is false", () => {
    const [runtime, network] = runtimeConditions({
      runtime: { ready: true },
      network: { ready: false, message: "no CNI configuration in /etc/cni/net.d" },
      degraded: { cgroups: "/sys/fs/cgroup is read-only: no resource limits" },
    });
    expect(runtime).toEqual({ type: "RuntimeReady", status: true, reason: "", message: "degraded: cgroups: /sys/fs/cgroup is read-only: no resource limits" });
    expect(network).toEqual({ type: "NetworkReady", status: false, reason: "NetworkPluginNotReady", message: "no CNI configuration in /etc/cni/net.d" });
  });
});
