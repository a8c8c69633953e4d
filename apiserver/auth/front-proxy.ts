// The apiserver's side of the aggregation layer's front-proxy authentication, as kubeadm configures it:
//   - --requestheader-* make the requestheader authenticator (component-base/requestheader.ts);
//   - --proxy-client-cert-file/--proxy-client-key-file are what the aggregator presents to APIService backends,
//     which trust it through the requestheader CA;
//   - the kube-system/extension-apiserver-authentication ConfigMap publishes --client-ca-file and the requestheader
//     settings for those backends' delegated authentication (Kubernetes' ClusterAuthenticationTrustController: the
//     published values are the union of what the ConfigMap held and this apiserver's, lists as JSON arrays, CA
//     bundles as PEM without duplicates), written at start and every minute.
import { readFileSync } from "node:fs";
import type { X509Certificate } from "node:crypto";
import { isAlreadyExists, isConflict, isNotFound } from "../../api/errors.js";
import type { ConfigMap } from "../../api/types/index.js";
import type { RequestHeaderConfig } from "../../component-base/requestheader.js";
import { parseCertificateBundle } from "../../component-base/pki/verify.js";
import type { ResourceStore } from "../registry/store.js";
import type { ApiServerOptions } from "../options.js";

export const EXTENSION_APISERVER_AUTHENTICATION = { namespace: "kube-system", name: "extension-apiserver-authentication" } as const;

/** A StringSlice flag: repeated, and each value comma separated. */
function sliceFlag(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
}

/** The requestheader authenticator's configuration; undefined without --requestheader-client-ca-file. */
export function requestHeaderConfigFrom(options: ApiServerOptions): RequestHeaderConfig | undefined {
  if (options.requestheaderClientCaFile === undefined || options.requestheaderClientCaFile === "") return undefined;
  return {
    clientCaPem: readFileSync(options.requestheaderClientCaFile, "utf8"),
    allowedNames: sliceFlag(options.requestheaderAllowedNames),
    usernameHeaders: sliceFlag(options.requestheaderUsernameHeaders),
    groupHeaders: sliceFlag(options.requestheaderGroupHeaders),
    extraHeadersPrefixes: sliceFlag(options.requestheaderExtraHeadersPrefix),
  };
}

/** The aggregator's client certificate for APIService backends; undefined without the two flags. */
export function proxyClientCertificate(options: ApiServerOptions): { certPem: string; keyPem: string } | undefined {
  const cert = options.proxyClientCertFile;
  const key = options.proxyClientKeyFile;
  if ((cert === undefined || cert === "") !== (key === undefined || key === "")) throw new Error("--proxy-client-cert-file and --proxy-client-key-file must be given together");
  if (cert === undefined || key === undefined || cert === "") return undefined;
  return { certPem: readFileSync(cert, "utf8"), keyPem: readFileSync(key, "utf8") };
}

/** What the ConfigMap says of this apiserver. */
export interface ClusterAuthenticationInfo {
  clientCaPem?: string;
  requestHeader?: RequestHeaderConfig;
}

/** The ConfigMap's data for `ours` merged into what `existing` held, key for key as Kubernetes writes it. */
export function extensionAuthenticationData(existing: Readonly<Record<string, string>>, ours: ClusterAuthenticationInfo, now: Date = new Date()): Record<string, string> {
  const data: Record<string, string> = {};
  const clientCa = combinedBundle(existing["client-ca-file"], ours.clientCaPem, now);
  if (clientCa !== "") data["client-ca-file"] = clientCa;
  const requestHeaderCa = combinedBundle(existing["requestheader-client-ca-file"], ours.requestHeader?.clientCaPem, now);
  if (requestHeaderCa === "") return data;
  const list = (key: string, mine: readonly string[] | undefined): string => JSON.stringify([...new Set([...jsonList(existing[key]), ...(mine ?? [])])]);
  data["requestheader-username-headers"] = list("requestheader-username-headers", ours.requestHeader?.usernameHeaders);
  data["requestheader-group-headers"] = list("requestheader-group-headers", ours.requestHeader?.groupHeaders);
  data["requestheader-extra-headers-prefix"] = list("requestheader-extra-headers-prefix", ours.requestHeader?.extraHeadersPrefixes);
  data["requestheader-client-ca-file"] = requestHeaderCa;
  data["requestheader-allowed-names"] = list("requestheader-allowed-names", ours.requestHeader?.allowedNames);
  return data;
}

function jsonList(text: string | undefined): string[] {
  if (text === undefined || text === "") return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}

/** Both bundles' unexpired certificates, each once, in order, as PEM. */
function combinedBundle(a: string | undefined, b: string | undefined, now: Date): string {
  const seen: X509Certificate[] = [];
  for (const certificate of [...parseCertificateBundle(a ?? ""), ...parseCertificateBundle(b ?? "")]) {
    if (new Date(certificate.validTo) < now) continue;
    if (!seen.some((c) => c.raw.equals(certificate.raw))) seen.push(certificate);
  }
  return seen.map((c) => c.toString()).join("");
}

/** Writes the ConfigMap when what it should hold differs from what it holds (kube-system exists by then). */
export async function publishExtensionAuthentication(configMaps: ResourceStore, ours: ClusterAuthenticationInfo): Promise<void> {
  // kubelab's deviation: an apiserver with neither CA (the insecure 0.18 setup) publishes nothing.
  if (ours.clientCaPem === undefined && ours.requestHeader === undefined) return;
  const { namespace, name } = EXTENSION_APISERVER_AUTHENTICATION;
  let current: ConfigMap | undefined;
  try {
    current = await configMaps.get(namespace, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const data = extensionAuthenticationData(current?.data ?? {}, ours);
  if (current === undefined) {
    await configMaps.create(namespace, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data });
    return;
  }
  if (JSON.stringify(current.data ?? {}) === JSON.stringify(data)) return;
  await configMaps.update(namespace, name, { ...current, data });
}

/**
 * Keeps the ConfigMap right: at start (ready waits for it) and every `intervalMs` (60 s, Kubernetes' resync), so a
 * deleted or edited ConfigMap comes back. Several apiservers (or workers) write it: a conflict is read again.
 */
export class ExtensionAuthenticationPublisher {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: { configMaps: () => ResourceStore; info: ClusterAuthenticationInfo; intervalMs?: number; onError: (err: unknown) => void }) {}

  async start(): Promise<void> {
    await this.publish();
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.publish().catch(this.options.onError);
    }, this.options.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async publish(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await publishExtensionAuthentication(this.options.configMaps(), this.options.info);
        return;
      } catch (err) {
        if (attempt >= 5 || !(isConflict(err) || isAlreadyExists(err))) throw err;
      }
    }
  }
}
