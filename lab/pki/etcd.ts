// etcd's part of the lab's PKI, in kubeadm's layout: etcd has a CA of its own (etcd/ca.crt, CN etcd-ca), so that a
// certificate the cluster CA issued (every user's, every node's) is no key to etcd. Under it: etcd's serving and peer
// certificates (server and client auth, for localhost, 127.0.0.1 and ::1 where the lab's etcd listens), the
// health-check client (etcd/healthcheck-client) and the apiserver's client (apiserver-etcd-client, beside the
// apiserver's other files), both O=system:masters as kubeadm 1.26 makes them. Kept or remade as ensureLabPki does.
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey, type CertificateRequest } from "../../component-base/pki/certificates.js";
import { readCertificateAuthority, writeCertificateAndKey, writeKeyFile, writePemFile } from "../../component-base/pki/files.js";

/** A certificate and its key. */
export interface CertificatePair {
  cert: string;
  key: string;
}

export interface EtcdPkiPaths {
  /** etcd's CA: etcd's --trusted-ca-file and --peer-trusted-ca-file, the apiserver's --etcd-cafile. */
  ca: CertificatePair;
  /** etcd's --cert-file/--key-file. */
  server: CertificatePair;
  /** etcd's --peer-cert-file/--peer-key-file. */
  peer: CertificatePair;
  /** For etcdctl and health checks (kubeadm's liveness probe identity). */
  healthcheckClient: CertificatePair;
  /** The apiserver's --etcd-certfile/--etcd-keyfile. */
  apiserverEtcdClient: CertificatePair;
}

/** The paths under a PKI directory (kubeadm's /etc/kubernetes/pki). */
export function etcdPkiPaths(dir: string): EtcdPkiPaths {
  const pair = (base: string): CertificatePair => ({ cert: join(dir, `${base}.crt`), key: join(dir, `${base}.key`) });
  return {
    ca: pair("etcd/ca"),
    server: pair("etcd/server"),
    peer: pair("etcd/peer"),
    healthcheckClient: pair("etcd/healthcheck-client"),
    apiserverEtcdClient: pair("apiserver-etcd-client"),
  };
}

/** The member name in the serving and peer certificates' CN and SANs (kubeadm's: the node name). */
const ETCD_MEMBER_NAME = "etcd";
const ETCD_DNS_NAMES = [ETCD_MEMBER_NAME, "localhost"];
const ETCD_IPS = ["127.0.0.1", "::1"];

/**
 * Makes what is missing or wrong of etcd's files; `note` is told each file written. `stillGood` decides whether an
 * existing pair is kept (issued by the CA, its key matching, naming the SANs; lab/pki's rule).
 */
export async function ensureEtcdPki(paths: EtcdPkiPaths, stillGood: (pair: CertificateAndKey, ca: X509Certificate, sans: readonly string[]) => boolean, note: (path: string) => void): Promise<void> {
  let ca: CertificateAndKey;
  let newCa = false;
  if (existsSync(paths.ca.cert) && existsSync(paths.ca.key)) {
    ca = readCertificateAuthority(paths.ca.cert, paths.ca.key);
  } else {
    ca = await createCertificateAuthority("etcd-ca");
    writeCertificateAndKey(paths.ca.cert.replace(/\.crt$/, ""), ca);
    note(paths.ca.cert);
    note(paths.ca.key);
    newCa = true;
  }
  const caCert = new X509Certificate(ca.certPem);
  const ensure = async (files: CertificatePair, request: CertificateRequest): Promise<void> => {
    const sans = [...(request.dnsNames ?? []).map((d) => `DNS:${d}`), ...(request.ipAddresses ?? []).map((ip) => `IP Address:${ip}`)];
    if (!newCa && existsSync(files.cert) && existsSync(files.key) && stillGood({ certPem: readFileSync(files.cert, "utf8"), keyPem: readFileSync(files.key, "utf8") }, caCert, sans)) return;
    const pair = await issueCertificate(ca, request);
    writePemFile(files.cert, pair.certPem);
    writeKeyFile(files.key, pair.keyPem);
    note(files.cert);
    note(files.key);
  };
  const member = { commonName: ETCD_MEMBER_NAME, usage: "server-and-client", dnsNames: ETCD_DNS_NAMES, ipAddresses: ETCD_IPS } as const;
  await Promise.all([
    ensure(paths.server, member),
    ensure(paths.peer, member),
    ensure(paths.healthcheckClient, { commonName: "kube-etcd-healthcheck-client", organizations: ["system:masters"], usage: "client" }),
    ensure(paths.apiserverEtcdClient, { commonName: "kube-apiserver-etcd-client", organizations: ["system:masters"], usage: "client" }),
  ]);
}
