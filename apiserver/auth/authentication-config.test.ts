import { describe, expect, it } from "vitest";
import { anonymousAllowed, anonymousConfigFrom, parseAuthenticationConfig } from "./authentication-config.js";

const HEAD = "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthenticationConfiguration\n";
const parse = (body: string): ReturnType<typeof parseAuthenticationConfig> => parseAuthenticationConfig(HEAD + body, "/etc/authn.yaml");

describe("--authentication-config", () => {
  it("reads the anonymous section and an empty jwt list", () => {
    expect(parse("jwt: []\nanonymous:\n  enabled: true\n  conditions:\n  - path: /livez\n  - path: /readyz\n")).toEqual({ anonymous: { enabled: true, conditions: [{ path: "/livez" }, { path: "/readyz" }] } });
    expect(parse("")).toEqual({});
  });

  it("allows anonymous requests on the listed paths only (exact match)", () => {
    const config = anonymousConfigFrom({ value: true, set: false }, parse("anonymous:\n  enabled: true\n  conditions:\n  - path: /livez\n"));
    expect(anonymousAllowed(config, "/livez")).toBe(true);
    expect(anonymousAllowed(config, "/livez/ping")).toBe(false);
    expect(anonymousAllowed(config, "/api")).toBe(false);
    expect(anonymousAllowed(anonymousConfigFrom({ value: true, set: false }, parse("anonymous:\n  enabled: true\n")), "/api")).toBe(true);
    expect(anonymousAllowed(anonymousConfigFrom({ value: true, set: false }, parse("anonymous:\n  enabled: false\n")), "/livez")).toBe(false);
    // No section: the flag decides.
    expect(anonymousConfigFrom({ value: false, set: true }, parse("jwt: []\n"))).toEqual({ enabled: false });
  });

  it("refuses --anonymous-auth beside an anonymous section, in Kubernetes' words", () => {
    expect(() => anonymousConfigFrom({ value: true, set: true }, parse("anonymous:\n  enabled: true\n"))).toThrow(
      "anonymous: Forbidden: --anonymous-auth flag cannot be set when anonymous field is configured in authentication configuration file",
    );
  });

  it("refuses bad files with a clear error", () => {
    expect(() => parse("anonymous:\n  enabled: false\n  conditions:\n  - path: /livez\n")).toThrow("invalid authentication configuration: anonymous.conditions: Invalid value: enabled should be set to true when conditions are defined");
    expect(() => parse("anonymous:\n  enabled: true\n  condition:\n  - path: /livez\n")).toThrow('strict decoding error: unknown field "anonymous.condition"');
    expect(() => parse("anonymous:\n  enabled: yes please\n")).toThrow('field "anonymous.enabled": expected a boolean');
    expect(() => parse("jwt:\n- issuer: {url: https://example.com}\n")).toThrow("JWT authenticators are not supported");
    expect(() => parseAuthenticationConfig("apiVersion: v1\nkind: ConfigMap\n", "f")).toThrow('no kind "ConfigMap" is registered for version "v1"');
    expect(() => parseAuthenticationConfig("a: [", "f")).toThrow('failed to decode authentication-config file "f"');
  });
});
