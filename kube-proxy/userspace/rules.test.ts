import { describe, expect, it } from "vitest";
import { parseIptablesSave } from "../iptables/save.js";
import { renderPortalRules } from "./rules.js";

describe("renderPortalRules", () => {
  const web = { servicePort: "default/webserver", protocol: "TCP" as const, clusterIP: "10.96.0.20", port: 8080, externalIPs: [], nodePort: 0, proxyPort: 41234 };

  it("REDIRECTs pods' traffic and DNATs the node's own to kube-proxy's port, commented with the service", () => {
    const { text, rules } = renderPortalRules([web, { ...web, servicePort: "kube-system/kube-dns:dns", protocol: "UDP", clusterIP: "10.96.0.10", port: 53, nodePort: 30053, externalIPs: ["192.0.2.5"], proxyPort: 40000 }], "10.1.0.4", new Map());
    expect(text.split("\n")).toEqual([
      "*nat",
      ":KUBE-PORTALS-CONTAINER - [0:0]",
      ":KUBE-PORTALS-HOST - [0:0]",
      ":KUBE-NODEPORT-CONTAINER - [0:0]",
      ":KUBE-NODEPORT-HOST - [0:0]",
      '-I PREROUTING 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
      '-I OUTPUT 1 -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
      '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER',
      '-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST',
      '-A KUBE-PORTALS-CONTAINER -m comment --comment "default/webserver" -m tcp -p tcp -d 10.96.0.20/32 --dport 8080 -j REDIRECT --to-ports 41234',
      '-A KUBE-PORTALS-HOST -m comment --comment "default/webserver" -m tcp -p tcp -d 10.96.0.20/32 --dport 8080 -j DNAT --to-destination 10.1.0.4:41234',
      '-A KUBE-PORTALS-CONTAINER -m comment --comment "kube-system/kube-dns:dns" -m udp -p udp -d 10.96.0.10/32 --dport 53 -j REDIRECT --to-ports 40000',
      '-A KUBE-PORTALS-HOST -m comment --comment "kube-system/kube-dns:dns" -m udp -p udp -d 10.96.0.10/32 --dport 53 -j DNAT --to-destination 10.1.0.4:40000',
      '-A KUBE-PORTALS-CONTAINER -m comment --comment "kube-system/kube-dns:dns" -m udp -p udp -d 192.0.2.5/32 --dport 53 -j REDIRECT --to-ports 40000',
      '-A KUBE-PORTALS-HOST -m comment --comment "kube-system/kube-dns:dns" -m udp -p udp -d 192.0.2.5/32 --dport 53 -j DNAT --to-destination 10.1.0.4:40000',
      '-A KUBE-NODEPORT-CONTAINER -m comment --comment "kube-system/kube-dns:dns" -m udp -p udp --dport 30053 -j REDIRECT --to-ports 40000',
      '-A KUBE-NODEPORT-HOST -m comment --comment "kube-system/kube-dns:dns" -m udp -p udp --dport 30053 -j DNAT --to-destination 10.1.0.4:40000',
      "COMMIT",
      "",
    ]);
    expect(rules).toBe(8);
  });

  it("DNATs pods' traffic to the listen address when the relays listen on one address only", () => {
    const { text } = renderPortalRules([{ ...web, nodePort: 30080 }], "10.1.0.4", new Map(), "10.1.0.4");
    expect(text).toContain('-A KUBE-PORTALS-CONTAINER -m comment --comment "default/webserver" -m tcp -p tcp -d 10.96.0.20/32 --dport 8080 -j DNAT --to-destination 10.1.0.4:41234');
    expect(text).toContain('-A KUBE-NODEPORT-CONTAINER -m comment --comment "default/webserver" -m tcp -p tcp --dport 30080 -j DNAT --to-destination 10.1.0.4:41234');
    expect(text).not.toContain("REDIRECT");
  });

  it("does not add the jumps again", () => {
    const existing = parseIptablesSave(
      [
        "*nat",
        '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
        '-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
        '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER',
        '-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST',
        "COMMIT",
      ].join("\n"),
    );
    expect(renderPortalRules([web], "10.1.0.4", existing).text).not.toMatch(/^-[IA] (PREROUTING|OUTPUT)/m);
  });
});
