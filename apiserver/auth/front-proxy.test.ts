import { describe, expect, it } from "vitest";
import { createCertificateAuthority } from "../../component-base/pki/certificates.js";
import { extensionAuthenticationData } from "./front-proxy.js";

const HEADERS = { usernameHeaders: ["X-Remote-User"], groupHeaders: ["X-Remote-Group"], extraHeadersPrefixes: ["X-Remote-Extra-"] };

describe("extension-apiserver-authentication's data", () => {
  it("writes the client CA, and the requestheader settings as JSON arrays only with a requestheader CA", async () => {
    const [cluster, proxy] = await Promise.all([createCertificateAuthority("kubernetes"), createCertificateAuthority("front-proxy-ca")]);
    expect(extensionAuthenticationData({}, { clientCaPem: cluster.certPem })).toEqual({ "client-ca-file": cluster.certPem });
    expect(extensionAuthenticationData({}, { clientCaPem: cluster.certPem, requestHeader: { clientCaPem: proxy.certPem, allowedNames: [], ...HEADERS } })).toEqual({
      "client-ca-file": cluster.certPem,
      "requestheader-client-ca-file": proxy.certPem,
      "requestheader-allowed-names": "[]",
      "requestheader-username-headers": '["X-Remote-User"]',
      "requestheader-group-headers": '["X-Remote-Group"]',
      "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
    });
  });

  it("merges with what another apiserver wrote: CAs once each, lists as a union in order", async () => {
    const [mine, theirs, proxy] = await Promise.all([createCertificateAuthority("a"), createCertificateAuthority("b"), createCertificateAuthority("front-proxy-ca")]);
    const existing = { "client-ca-file": theirs.certPem + mine.certPem, "requestheader-client-ca-file": proxy.certPem, "requestheader-allowed-names": '["aggregator"]', "requestheader-username-headers": '["X-Remote-User"]' };
    const data = extensionAuthenticationData(existing, { clientCaPem: mine.certPem, requestHeader: { clientCaPem: proxy.certPem, allowedNames: ["front-proxy-client"], ...HEADERS } });
    expect(data["client-ca-file"]).toBe(theirs.certPem + mine.certPem);
    expect(data["requestheader-client-ca-file"]).toBe(proxy.certPem);
    expect(data["requestheader-allowed-names"]).toBe('["aggregator","front-proxy-client"]');
    expect(data["requestheader-username-headers"]).toBe('["X-Remote-User"]');
  });
});
