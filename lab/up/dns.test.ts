import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { dnsAddonTemplate, dnsAddonValues, dnsImageReference, renderDnsAddon } from "./dns.js";
import { TEST_CONFIG } from "./testing.js";

describe("the cluster DNS add-on", () => {
  it("renders kube-dns at the lab's DNS address, with the image, replicas and apiserver URL pods reach", () => {
    const text = renderDnsAddon(dnsAddonTemplate(), dnsAddonValues(TEST_CONFIG));
    const [service, deployment] = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
    expect(service).toMatchObject({ kind: "Service", metadata: { name: "kube-dns", namespace: "kube-system" }, spec: { clusterIP: "10.96.0.10" } });
    expect(deployment).toMatchObject({
      kind: "Deployment",
      metadata: { name: "kube-dns", namespace: "kube-system" },
      spec: {
        replicas: 2,
        template: { spec: { containers: [{ image: dnsImageReference(), args: ["--master=http://172.30.0.1:8080", "--domain=cluster.local"] }] } },
      },
    });
    expect(dnsImageReference()).toMatch(/^kubelab\/dns:\S+$/);
  });

  it("runs one replica in a one-node lab and refuses a placeholder it has no value for", () => {
    expect(renderDnsAddon(dnsAddonTemplate(), dnsAddonValues({ ...TEST_CONFIG, nodes: 1 }))).toContain("replicas: 1");
    expect(() => renderDnsAddon("a: __DNS__NEW__\n", {})).toThrow(/no value for __DNS__NEW__/);
  });
});
