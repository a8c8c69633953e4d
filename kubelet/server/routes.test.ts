import { describe, expect, it } from "vitest";
import { parseKubeletPath, parseStreamOptions } from "./routes.js";

describe("kubelet server paths", () => {
  it("parses Kubernetes' kubelet routes", () => {
    expect(parseKubeletPath("/healthz")).toEqual({ kind: "healthz" });
    expect(parseKubeletPath("/metrics")).toEqual({ kind: "metrics" });
    expect(parseKubeletPath("/metrics/resource")).toEqual({ kind: "metricsResource" });
    expect(parseKubeletPath("/metrics/cadvisor")).toEqual({ kind: "metricsCadvisor" });
    expect(parseKubeletPath("/pods")).toEqual({ kind: "pods" });
    expect(parseKubeletPath("/pods/")).toEqual({ kind: "pods" });
    expect(parseKubeletPath("/stats/summary")).toEqual({ kind: "statsSummary" });
    expect(parseKubeletPath("/containerLogs/default/web/app")).toEqual({ kind: "containerLogs", namespace: "default", pod: "web", container: "app" });
    expect(parseKubeletPath("/exec/default/web/app")).toEqual({ kind: "exec", namespace: "default", pod: "web", container: "app" });
    expect(parseKubeletPath("/exec/default/web/uid-1/app")).toEqual({ kind: "exec", namespace: "default", pod: "web", uid: "uid-1", container: "app" });
    expect(parseKubeletPath("/attach/default/web/app")).toEqual({ kind: "attach", namespace: "default", pod: "web", container: "app" });
    expect(parseKubeletPath("/portForward/default/web")).toEqual({ kind: "portForward", namespace: "default", pod: "web" });
    expect(parseKubeletPath("/portForward/default/web/uid-1")).toEqual({ kind: "portForward", namespace: "default", pod: "web", uid: "uid-1" });
  });

  it("serves nothing else", () => {
    for (const path of ["/", "/containerLogs/default/web", "/exec/default", "/stats", "/metrics/probes", "/portForward/x", "/healthz/extra", "/containerLogs/%E0%A4%A/x/y"]) {
      expect(parseKubeletPath(path)).toBeUndefined();
    }
  });

  it("reads stream options in the kubelet's and the API's spelling", () => {
    expect(parseStreamOptions(new URLSearchParams("command=echo&command=hi&input=1&output=1&error=1"))).toEqual({ command: ["echo", "hi"], stdin: true, stdout: true, stderr: true, tty: false });
    expect(parseStreamOptions(new URLSearchParams("command=sh&stdin=true&stdout=true&stderr=true&tty=true"))).toEqual({ command: ["sh"], stdin: true, stdout: true, stderr: false, tty: true });
  });
});
