// metrics-server's command line, with metrics-server's flag names and defaults. kubelab's kubelets serve plain
// HTTP, so the kubelets are scraped over http unless --kubelet-scheme=https (kubelab's own flag); the API is served
// over HTTPS when --tls-cert-file and --tls-private-key-file are given, with delegated authentication and
// authorization (auth.ts), over plain HTTP otherwise (the insecure lab), where nothing is checked.
import { defineFlags, loggingFlags, type FlagValues } from "../component-base/flags.js";

export const metricsServerFlags = defineFlags({
  kubeconfig: { type: "string", help: "The path to the kubeconfig used to connect to the Kubernetes API server and the Kubelets (defaults to in-cluster config)" },
  master: { type: "string", help: "The address of the Kubernetes API server (overrides any value in kubeconfig)." },
  metricResolution: { type: "duration", default: "60s", help: "The resolution at which metrics-server will retain metrics, must set value at least 10s." },
  kubeletCertificateAuthority: { type: "string", help: "Path of the CA to use to validate the Kubelet's serving certificates (default: the kubeconfig's CA)." },
  kubeletInsecureTls: { type: "boolean", default: false, help: "Do not verify CA of serving certificates presented by Kubelets. For testing purposes only." },
  kubeletPreferredAddressTypes: { type: "string", default: "Hostname,InternalDNS,InternalIP,ExternalDNS,ExternalIP", help: "The priority of node address types to use when determining which address to use to connect to a particular node" },
  kubeletPort: { type: "number", default: 10250, help: "The port to use to connect to Kubelets." },
  kubeletUseNodeStatusPort: { type: "boolean", default: false, help: "Use the port in the node status. Takes precedence over --kubelet-port flag." },
  kubeletRequestTimeout: { type: "duration", default: "10s", help: "The length of time to wait before giving up on a single request to Kubelet. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h)." },
  kubeletScheme: { type: "string", default: "http", help: "(kubelab) http or https: kubelab's kubelets serve plain HTTP." },
  securePort: { type: "number", default: 10250, help: "The port on which to serve HTTPS with authentication and authorization (0 picks a free port; plain HTTP without --tls-cert-file)." },
  bindAddress: { type: "string", default: "0.0.0.0", help: "The IP address on which to listen for the --secure-port port." },
  tlsCertFile: { type: "string", help: "File containing the default x509 Certificate for HTTPS." },
  tlsPrivateKeyFile: { type: "string", help: "File containing the default x509 private key matching --tls-cert-file." },
  requestheaderClientCaFile: { type: "string", help: "Root certificate bundle to use to verify client certificates on incoming requests before trusting usernames in headers specified by --requestheader-username-headers. WARNING: generally do not depend on authorization being already done for incoming requests." },
  requestheaderAllowedNames: { type: "stringArray", help: "List of client certificate common names to allow to provide usernames in headers specified by --requestheader-username-headers. If empty, any client certificate validated by the authorities in --requestheader-client-ca-file is allowed." },
  requestheaderUsernameHeaders: { type: "stringArray", default: ["x-remote-user"], help: "List of request headers to inspect for usernames. X-Remote-User is common." },
  requestheaderGroupHeaders: { type: "stringArray", default: ["x-remote-group"], help: "List of request headers to inspect for groups. X-Remote-Group is suggested." },
  requestheaderExtraHeadersPrefix: { type: "stringArray", default: ["x-remote-extra-"], help: "List of request header prefixes to inspect. X-Remote-Extra- is suggested." },
  authenticationSkipLookup: { type: "boolean", default: false, help: "If false, the authentication-kubeconfig will be used to lookup missing authentication configuration from the cluster." },
  authorizationAlwaysAllowPaths: { type: "stringArray", default: ["/healthz", "/readyz", "/livez"], help: "A list of HTTP paths to skip during authorization, i.e. these are authorized without contacting the 'core' kubernetes server." },
  kubeApiQps: { type: "number", default: 50, help: "QPS to use while talking with the apiserver." },
  kubeApiBurst: { type: "number", default: 100, help: "Burst to use while talking with the apiserver." },
  ...loggingFlags,
});

export type MetricsServerFlags = FlagValues<typeof metricsServerFlags>;
