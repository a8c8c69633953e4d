// kube-apiserver's flags, with Kubernetes' names and defaults (and 0.18's --insecure-port for plain HTTP, off unless
// asked for, as Kubernetes had it until 1.20).
import { defineFlags, loggingFlags, type FlagValues } from "../component-base/flags.js";

export const apiServerFlags = defineFlags({
  etcdServers: { type: "string", default: "http://127.0.0.1:2379", help: "List of etcd servers to connect with (scheme://ip:port), comma separated." },
  etcdCafile: { type: "string", help: "SSL Certificate Authority file used to secure etcd communication (verifies the certificate of https:// --etcd-servers)." },
  etcdCertfile: { type: "string", help: "SSL certification file used to secure etcd communication (the client certificate presented to https:// --etcd-servers)." },
  etcdKeyfile: { type: "string", help: "SSL key file used to secure etcd communication." },
  etcdPrefix: { type: "string", default: "/registry", help: "The prefix to prepend to all resource paths in etcd." },
  bindAddress: { type: "string", default: "0.0.0.0", help: "The IP address on which to listen for the --secure-port port." },
  securePort: { type: "number", default: 6443, help: "The port on which to serve HTTPS with authentication and authorization. It cannot be switched off with 0 in Kubernetes; here 0 serves no HTTPS." },
  insecurePort: { type: "number", default: 0, help: "The port on which to serve unsecured, unauthenticated access (0: none). Every request on it is system:unsecured in system:masters, unauthorized. Removed from Kubernetes in 1.20; kept for the 0.18 lab." },
  insecureBindAddress: { type: "string", default: "127.0.0.1", help: "The IP address on which to serve the --insecure-port (set to 0.0.0.0 or :: for listening on all interfaces and IP address families)." },
  tlsCertFile: { type: "string", help: "File containing the default x509 Certificate for HTTPS (CA cert, if any, concatenated after server cert). If HTTPS serving is enabled, and --tls-cert-file and --tls-private-key-file are not provided, a self-signed certificate and key are generated for the public address and saved to the directory specified by --cert-dir." },
  tlsPrivateKeyFile: { type: "string", help: "File containing the default x509 private key matching --tls-cert-file." },
  certDir: { type: "string", default: "/var/run/kubernetes", help: "The directory where the TLS certs are located. If --tls-cert-file and --tls-private-key-file are provided, this flag will be ignored." },
  clientCaFile: { type: "string", help: "If set, any request presenting a client certificate signed by one of the authorities in the client-ca-file is authenticated with an identity corresponding to the CommonName of the client certificate (its Organizations are the groups)." },
  tokenAuthFile: { type: "string", help: "If set, the file that will be used to secure the secure port of the API server via token authentication (CSV: token,user,uid,\"group1,group2\")." },
  authenticationConfig: { type: "string", help: "File with an AuthenticationConfiguration (apiserver.config.k8s.io/v1beta1): its anonymous section (enabled, conditions: [{path: /livez}, ...]) allows anonymous requests on those paths only. Mutually exclusive with --anonymous-auth. JWT authenticators are not supported (jwt: [] only)." },
  anonymousAuth: { type: "boolean", default: true, help: "Enables anonymous requests to the secure port of the API server. Requests that are not rejected by another authentication method are treated as anonymous requests. Anonymous requests have a username of system:anonymous, and a group name of system:unauthenticated." },
  advertiseAddress: { type: "string", help: "The IP address on which to advertise the apiserver to members of the cluster (the `kubernetes` Service endpoints). Defaults to --bind-address, or the first non-loopback IPv4 address when that is 0.0.0.0 or loopback." },
  serviceClusterIpRange: { type: "string", default: "10.96.0.0/12", help: "A CIDR notation IP range from which to assign service cluster IPs. The first IP is the `kubernetes` Service." },
  serviceNodePortRange: { type: "string", default: "30000-32767", help: "A port range to reserve for services with NodePort visibility. Example: '30000-32767'. Inclusive at both ends of the range." },
  defaultNotReadyTolerationSeconds: { type: "number", default: 300, help: "Indicates the tolerationSeconds of the toleration for notReady:NoExecute that is added by default to every pod that does not already have such a toleration." },
  defaultUnreachableTolerationSeconds: { type: "number", default: 300, help: "Indicates the tolerationSeconds of the toleration for unreachable:NoExecute that is added by default to every pod that does not already have such a toleration." },
  eventTtl: { type: "duration", default: "1h", help: "Amount of time to retain events." },
  watchCacheSize: { type: "number", default: 10000, help: "Number of recent watch events each resource's watch cache keeps for clients resuming from a resourceVersion." },
  serviceAccountSigningKeyFile: { type: "string", help: "Path to the file that contains the current private key of the service account token issuer (PEM). Without it (and without a private key in --service-account-key-file) the apiserver generates an RSA key at start, so tokens it issued do not survive a restart." },
  serviceAccountKeyFile: { type: "stringArray", help: "File containing PEM-encoded RSA or ECDSA keys (public or private) used to verify service account tokens. May be given several times." },
  serviceAccountIssuer: { type: "string", default: "https://kubernetes.default.svc.cluster.local", help: "Identifier of the service account token issuer: the `iss` claim of the tokens it issues and the only issuer TokenReview accepts." },
  apiAudiences: { type: "stringArray", help: "Identifiers of the API: service account tokens are issued for these audiences when a TokenRequest names none, and TokenReview accepts them. Defaults to --service-account-issuer." },
  authorizationMode: { type: "string", default: "AlwaysAllow", help: "Ordered list of plug-ins to do authorization on secure port. Comma-delimited list of: AlwaysAllow, AlwaysDeny, RBAC, Node." },
  enableAdmissionPlugins: { type: "string", default: "", help: "Admission plugins that should be enabled in addition to default enabled ones (ServiceAccount, LimitRanger, DefaultStorageClass, ResourceQuota). Comma-delimited list of admission plugins." },
  disableAdmissionPlugins: { type: "string", default: "", help: "Admission plugins that should be disabled although they are in the default enabled plugins list. Comma-delimited list of admission plugins." },
  kubeletClientCertificate: { type: "string", help: "Path to a client cert file for TLS to kubelets (with --kubelet-client-key, the apiserver speaks HTTPS to kubelets; plain HTTP without)." },
  kubeletClientKey: { type: "string", help: "Path to a client key file for TLS to kubelets." },
  kubeletCertificateAuthority: { type: "string", help: "Path to a cert file for the certificate authority that signs the kubelets' serving certificates (not verified without it)." },
  workers: { type: "number", default: 1, help: "kubelab only: serve with this many worker processes sharing the ports (node:cluster), each a whole apiserver with its own etcd clients and watch caches, as HA apiservers on one etcd are; a primary process supervises them. 1: a single process." },
  ...loggingFlags,
});

export type ApiServerOptions = FlagValues<typeof apiServerFlags>;
