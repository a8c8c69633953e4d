// CONTRACT (placeholder until the container-environment work lands): the pod's DNS (sandbox DnsConfig from
// dnsPolicy/dnsConfig, --cluster-dns, --cluster-domain) and its /etc/hosts file.
import type * as cri from "../../client/cri/types.js";
import type { Pod } from "../../api/types/index.js";

export interface ClusterDns {
  /** --cluster-dns */
  servers: readonly string[];
  /** --cluster-domain */
  domain: string;
  /** The node's own resolv.conf (for dnsPolicy Default and host-network pods); "" when unreadable. */
  hostResolvConf: string;
}

export function makeDnsConfig(_pod: Readonly<Pod>, _dns: ClusterDns): cri.DnsConfig | undefined {
  return undefined;
}

/** The contents of the pod's /etc/hosts (localhost lines, the pod's IPs with hostname/FQDN, hostAliases). */
export function hostsFileContent(pod: Readonly<Pod>, podIPs: readonly string[], _clusterDomain: string): string {
  return `127.0.0.1\tlocalhost\n${podIPs.map((ip) => `${ip}\t${pod.metadata.name}\n`).join("")}`;
}
