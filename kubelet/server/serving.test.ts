import { describe, expect, it } from "vitest";
import { RestClient } from "../../client/rest.js";
import { parseFlags } from "../../component-base/flags.js";
import { kubeletFlags } from "../options.js";
import { servingFromFlags } from "./serving.js";

describe("the kubelet API's serving flags", () => {
  const client = new RestClient({ server: "http://127.0.0.1:1", namespace: "default" });
  const parse = (...argv: string[]) => parseFlags(kubeletFlags, argv, { command: "kubelet" });

  it("has Kubernetes' defaults: anonymous access, AlwaysAllow, the webhook cache TTLs, plain HTTP without TLS files", () => {
    const flags = parse();
    expect(flags).toMatchObject({ anonymousAuth: true, authenticationTokenWebhook: false, authenticationTokenWebhookCacheTtl: 120_000, authorizationMode: "AlwaysAllow", authorizationWebhookCacheAuthorizedTtl: 300_000, authorizationWebhookCacheUnauthorizedTtl: 30_000 });
    expect(servingFromFlags(flags, "n1", client).tls).toBeUndefined();
  });

  it("refuses flags that do not go together, naming them", () => {
    expect(() => servingFromFlags(parse("--authorization-mode=RBAC"), "n1", client)).toThrow('--authorization-mode: unsupported authorization mode "RBAC" (AlwaysAllow or Webhook)');
    expect(() => servingFromFlags(parse("--tls-cert-file=/x.crt"), "n1", client)).toThrow("--tls-cert-file and --tls-private-key-file must be given together");
    expect(() => servingFromFlags(parse("--client-ca-file=/ca.crt"), "n1", client)).toThrow("--client-ca-file needs HTTPS");
  });
});
