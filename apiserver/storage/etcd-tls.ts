// The apiserver's TLS to etcd (--etcd-cafile, --etcd-certfile, --etcd-keyfile), as kubeadm sets it up: etcd serves
// its client port over TLS and asks for a client certificate signed by its own CA (--client-cert-auth); the apiserver
// verifies etcd's certificate with --etcd-cafile and presents apiserver-etcd-client. Only https:// endpoints use it.
//
// Mistakes are reported at start, not as an apiserver that never gets ready: files that cannot be read or do not
// belong together fail loading, and a TLS handshake that an etcd member refuses (its certificate does not verify
// with the CA, or it refuses the client certificate) fails the check. A member that cannot be reached at all is not
// an error here: etcd may start after the apiserver, whose storage keeps retrying.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { connect } from "node:tls";

/** The flags' values. */
export interface EtcdTlsFlags {
  etcdServers: string;
  etcdCafile?: string | undefined;
  etcdCertfile?: string | undefined;
  etcdKeyfile?: string | undefined;
}

/** What an https connection to etcd uses (PEM): the CA to verify etcd with (the system's roots without), and the client pair. */
export interface EtcdTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** How long the start-up check waits for one member's handshake. */
const CHECK_TIMEOUT_MS = 5000;

/** Errors of a member that is not there (yet), rather than one that refused us. */
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "EPIPE"]);

/** The --etcd-servers list. */
export function etcdEndpoints(etcdServers: string): string[] {
  return etcdServers.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Reads and checks the flags' files; undefined when none is given. Throws an Error naming the flag for a bad file. */
export function loadEtcdTls(flags: EtcdTlsFlags): EtcdTls | undefined {
  const { etcdCafile: caFile, etcdCertfile: certFile, etcdKeyfile: keyFile } = flags;
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  // etcd's transport.TLSInfo refuses one of the pair without the other.
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error("--etcd-certfile and --etcd-keyfile must be given together");
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`--${flag}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  const tls: EtcdTls = {};
  if (caFile !== undefined) {
    tls.ca = read("etcd-cafile", caFile);
    parseCertificate("etcd-cafile", caFile, tls.ca);
  }
  if (certFile !== undefined && keyFile !== undefined) {
    tls.cert = read("etcd-certfile", certFile);
    tls.key = read("etcd-keyfile", keyFile);
    const cert = parseCertificate("etcd-certfile", certFile, tls.cert);
    let key;
    try {
      key = createPrivateKey(tls.key);
    } catch (err) {
      throw new Error(`--etcd-keyfile: ${keyFile} holds no PEM private key: ${(err as Error).message}`, { cause: err });
    }
    if (!cert.checkPrivateKey(key)) throw new Error(`--etcd-keyfile: ${keyFile} is not the private key of --etcd-certfile ${certFile}`);
  }
  return tls;
}

function parseCertificate(flag: string, file: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new Error(`--${flag}: ${file} holds no PEM certificate: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Shakes hands with every https member and waits for its first HTTP/2 frame (etcd's SETTINGS), which comes only once
 * the member has accepted the client certificate (with TLS 1.3 its refusal arrives after the client's handshake).
 * Throws for a member that refused the connection; members that cannot be reached are left to the storage's retries.
 */
export async function checkEtcdTls(endpoints: readonly string[], tls: EtcdTls, timeoutMs = CHECK_TIMEOUT_MS): Promise<void> {
  const secure = endpoints.filter((e) => e.toLowerCase().startsWith("https://"));
  await Promise.all(secure.map((endpoint) => checkMember(endpoint, tls, timeoutMs)));
}

function checkMember(endpoint: string, tls: EtcdTls, timeoutMs: number): Promise<void> {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise<void>((resolve, reject) => {
    const socket = connect({
      host,
      port: Number(url.port || 2379),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ["h2"],
      ...tls,
    });
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      done();
    }, timeoutMs);
    socket.once("data", () => {
      done();
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== undefined && UNREACHABLE_CODES.has(err.code)) done();
      else done(new Error(handshakeFailure(endpoint, err)));
    });
    socket.once("end", () => {
      done(new Error(`etcd at ${endpoint} closed the connection after the TLS handshake; it may not accept the client certificate (--etcd-certfile)`));
    });
  });
}

/** What went wrong in a handshake: etcd's certificate did not verify here, or etcd refused ours (an alert from it). */
function handshakeFailure(endpoint: string, err: NodeJS.ErrnoException): string {
  const code = err.code ?? "";
  const alert = /^ERR_SSL_[A-Z0-9]+_ALERT_(.+)$/.exec(code)?.[1];
  if (alert !== undefined) {
    return `etcd at ${endpoint} refused the TLS connection (alert "${alert.toLowerCase().replace(/_/g, " ")}", ${code}): --etcd-certfile/--etcd-keyfile must be a client certificate signed by etcd's --trusted-ca-file`;
  }
  return `etcd at ${endpoint}: its serving certificate does not verify with --etcd-cafile: ${err.message}${code !== "" ? ` (${code})` : ""}`;
}

/** loadEtcdTls, then checkEtcdTls on the https members: what the apiserver (and a --workers primary) does at start. */
export async function etcdTlsAtStart(flags: EtcdTlsFlags): Promise<EtcdTls | undefined> {
  const tls = loadEtcdTls(flags);
  await checkEtcdTls(etcdEndpoints(flags.etcdServers), tls ?? {});
  return tls;
}
