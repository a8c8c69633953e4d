// kube-apiserver (dist/apiserver/main.js) in front of etcd: plain HTTP on the insecure port (the 0.18 lab; the secure
// port is off unless `securePort` is given, since test clusters run side by side and would all want 6443), or with
// `secure` HTTPS with client certificates, the service-account keys and Node,RBAC — with no insecure port at all when
// `port` is 0 or absent (kubeadm's setup; readiness is then probed over HTTPS with the lab's CA), or with one kept on
// loopback.
import type { EtcdPkiPaths } from "../pki/etcd.js";
import { FRONT_PROXY_CLIENT, type LabPkiPaths } from "../pki/pki.js";
import { loopbackUrl, renderFlags, type Component } from "./component.js";
import { distEntry } from "./entries.js";

export interface ApiserverOptions {
  /** Defaults to "kube-apiserver". */
  name?: string;
  /** --etcd-servers: the etcd client URL(s). */
  etcdServers: string;
  /** --etcd-cafile, --etcd-certfile, --etcd-keyfile from etcd's files of the lab PKI (an etcd with TLS). */
  etcdPki?: EtcdPkiPaths;
  /** --insecure-port; with `secure`, 0 or absent means none. */
  port?: number;
  /** --insecure-bind-address, and --bind-address when `securePort` is given; defaults to 127.0.0.1. */
  bindAddress?: string;
  /** --secure-port; 0 (no HTTPS) by default. */
  securePort?: number;
  /** HTTPS serving, authentication and authorization; absent: plain HTTP only. */
  secure?: ApiserverSecureOptions;
  /** Further flags, passed as they are after the typed ones. */
  extraArgs?: readonly string[];
  /** The entry point; defaults to the built dist/apiserver/main.js. */
  entry?: string;
}

/** The secure apiserver's flags, kubeadm's set (file paths from the lab's PKI). */
export interface ApiserverSecureOptions {
  /** --secure-port. */
  securePort: number;
  /** --bind-address: the secure port's address. */
  bindAddress: string;
  /** --insecure-bind-address for `port` (default 127.0.0.1). */
  insecureBindAddress?: string;
  /** The CA that signed --tls-cert-file, for the readiness probe over HTTPS; defaults to `clientCaFile` (one lab CA). */
  servingCaFile?: string;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  clientCaFile: string;
  /** --service-account-key-file (public) and --service-account-signing-key-file (private). */
  serviceAccountKeyFile: string;
  serviceAccountSigningKeyFile: string;
  kubeletClientCertificate: string;
  kubeletClientKey: string;
  /** --kubelet-certificate-authority: the CA that signed the kubelets' serving certificates. */
  kubeletCertificateAuthority?: string;
  /** --authorization-mode, default Node,RBAC. */
  authorizationMode?: string;
  /** --enable-admission-plugins, default NodeRestriction. */
  enableAdmissionPlugins?: string;
  /** --authentication-config (then no --anonymous-auth, as Kubernetes requires). */
  authenticationConfigFile?: string;
  /** The aggregation layer's front proxy, as kubeadm sets it (absent: none). */
  frontProxy?: FrontProxyOptions;
}

/** kubeadm's --requestheader-* and --proxy-client-* flags. */
export interface FrontProxyOptions {
  requestheaderClientCaFile: string;
  requestheaderAllowedNames: readonly string[];
  proxyClientCertFile: string;
  proxyClientKeyFile: string;
}

/** The secure options every apiserver on a lab PKI (kubeadm's layout) shares: its serving pair, CA, service-account and kubelet-client keys. */
export function apiserverSecureOptionsFromPki(pki: LabPkiPaths, securePort: number, bindAddress: string): ApiserverSecureOptions {
  return {
    securePort,
    bindAddress,
    tlsCertFile: pki.apiserverCert,
    tlsPrivateKeyFile: pki.apiserverKey,
    clientCaFile: pki.caCert,
    serviceAccountKeyFile: pki.saPub,
    serviceAccountSigningKeyFile: pki.saKey,
    kubeletClientCertificate: pki.apiserverKubeletClientCert,
    kubeletClientKey: pki.apiserverKubeletClientKey,
    frontProxy: {
      requestheaderClientCaFile: pki.frontProxyCaCert,
      requestheaderAllowedNames: [FRONT_PROXY_CLIENT],
      proxyClientCertFile: pki.frontProxyClientCert,
      proxyClientKeyFile: pki.frontProxyClientKey,
    },
  };
}

function secureFlags(secure: ApiserverSecureOptions): [string, string | number | undefined][] {
  return [
    ["secure-port", secure.securePort],
    ["bind-address", secure.bindAddress],
    ["tls-cert-file", secure.tlsCertFile],
    ["tls-private-key-file", secure.tlsPrivateKeyFile],
    ["client-ca-file", secure.clientCaFile],
    ["service-account-key-file", secure.serviceAccountKeyFile],
    ["service-account-signing-key-file", secure.serviceAccountSigningKeyFile],
    ["kubelet-client-certificate", secure.kubeletClientCertificate],
    ["kubelet-client-key", secure.kubeletClientKey],
    ["kubelet-certificate-authority", secure.kubeletCertificateAuthority],
    ["authorization-mode", secure.authorizationMode ?? "Node,RBAC"],
    ["enable-admission-plugins", secure.enableAdmissionPlugins ?? "NodeRestriction"],
    ["authentication-config", secure.authenticationConfigFile],
    ...frontProxyFlags(secure.frontProxy),
  ];
}

/** kubeadm's values: the X-Remote-* headers the aggregator sends. */
export function frontProxyFlags(frontProxy: FrontProxyOptions | undefined): [string, string | undefined][] {
  if (frontProxy === undefined) return [];
  return [
    ["requestheader-client-ca-file", frontProxy.requestheaderClientCaFile],
    ["requestheader-allowed-names", frontProxy.requestheaderAllowedNames.join(",")],
    ["requestheader-username-headers", "X-Remote-User"],
    ["requestheader-group-headers", "X-Remote-Group"],
    ["requestheader-extra-headers-prefix", "X-Remote-Extra-"],
    ["proxy-client-cert-file", frontProxy.proxyClientCertFile],
    ["proxy-client-key-file", frontProxy.proxyClientKeyFile],
  ];
}

/** kubeadm's flags for an etcd with TLS: its CA, and the apiserver-etcd-client pair. */
function etcdTlsFlags(pki: EtcdPkiPaths | undefined): [string, string][] {
  if (pki === undefined) return [];
  return [
    ["etcd-cafile", pki.ca.cert],
    ["etcd-certfile", pki.apiserverEtcdClient.cert],
    ["etcd-keyfile", pki.apiserverEtcdClient.key],
  ];
}

export function apiserverComponent(options: ApiserverOptions): Component {
  const secure = options.secure;
  if (secure) {
    const insecurePort = options.port ?? 0;
    const insecureHost = secure.insecureBindAddress ?? "127.0.0.1";
    const secureHost = secure.bindAddress === "0.0.0.0" || secure.bindAddress === "::" ? "127.0.0.1" : secure.bindAddress;
    const readiness =
      insecurePort > 0
        ? { kind: "http" as const, url: `http://${insecureHost}:${insecurePort}/readyz` }
        : { kind: "http" as const, url: `https://${secureHost.includes(":") ? `[${secureHost}]` : secureHost}:${secure.securePort}/readyz`, caFile: secure.servingCaFile ?? secure.clientCaFile };
    return {
      name: options.name ?? "kube-apiserver",
      kind: "kube-apiserver",
      program: { kind: "node", entry: options.entry ?? distEntry("apiserver") },
      args: [
        ...renderFlags([["etcd-servers", options.etcdServers], ...etcdTlsFlags(options.etcdPki), ["insecure-port", insecurePort], ["insecure-bind-address", insecurePort > 0 ? insecureHost : undefined], ...secureFlags(secure)]),
        ...(options.extraArgs ?? []),
      ],
      ports: insecurePort > 0 ? { http: insecurePort, https: secure.securePort } : { https: secure.securePort },
      readiness,
      links: ["etcd"],
    };
  }
  if (options.port === undefined) throw new Error("kube-apiserver without `secure` needs an insecure `port`");
  return {
    name: options.name ?? "kube-apiserver",
    kind: "kube-apiserver",
    program: { kind: "node", entry: options.entry ?? distEntry("apiserver") },
    args: [
      ...renderFlags([
        ["etcd-servers", options.etcdServers],
        ...etcdTlsFlags(options.etcdPki),
        ["insecure-port", options.port],
        ["insecure-bind-address", options.bindAddress ?? "127.0.0.1"],
        ["secure-port", options.securePort ?? 0],
        ["bind-address", options.securePort ? (options.bindAddress ?? "127.0.0.1") : undefined],
      ]),
      ...(options.extraArgs ?? []),
    ],
    ports: { http: options.port },
    readiness: { kind: "http", url: `${loopbackUrl(options.port)}/readyz` },
    links: ["etcd"],
  };
}
