import { describe, expect, it } from "vitest";
import { FlagError, parseFlags } from "../component-base/flags.js";
import { proxyConfigFromFlags } from "./app.js";
import { kubeProxyFlags } from "./options.js";

const parse = (...argv: string[]) =>
  parseFlags(kubeProxyFlags, argv, {
    command: "kube-proxy",
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    stderr: () => undefined,
  });

describe("kube-proxy flags", () => {
  it("has Kubernetes' names and defaults (healthz on loopback)", () => {
    const f = parse();
    expect(f).toMatchObject({ proxyMode: "iptables", iptablesSyncPeriod: 30_000, iptablesMinSyncPeriod: 1000, masqueradeAll: false, cleanup: false, healthzBindAddress: "127.0.0.1:10256", metricsBindAddress: "127.0.0.1:10249", nodeportAddresses: [], v: 0 });
  });

  it("reads the node port addresses as a comma-separated, repeatable list and checks them", () => {
    const f = parse("--nodeport-addresses=10.0.0.0/8,192.168.1.0/24", "--nodeport-addresses", "172.16.0.0/12", "--hostname-override=node-a", "--cluster-cidr=10.244.0.0/16");
    expect(proxyConfigFromFlags(f)).toEqual({ mode: "iptables", nodePortAddresses: ["10.0.0.0/8", "192.168.1.0/24", "172.16.0.0/12"], nodeName: "node-a" });
    expect(() => proxyConfigFromFlags(parse("--nodeport-addresses=eth0"))).toThrow(FlagError);
    expect(() => proxyConfigFromFlags(parse("--proxy-mode=ipvs"))).toThrow(/invalid --proxy-mode "ipvs"/);
    expect(() => proxyConfigFromFlags(parse("--cluster-cidr=bogus"))).toThrow(FlagError);
    expect(() => proxyConfigFromFlags(parse("--iptables-sync-period=0s"))).toThrow(FlagError);
  });
});
