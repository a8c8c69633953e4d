// The integration project's globalSetup: the test run's PKI, made once before the workers start (they find it by
// KUBELAB_TEST_PKI) and removed when the run ends. The workers also trust its CA by NODE_EXTRA_CA_CERTS, so that
// global fetch (which takes no CA per call) can reach the test apiservers too, with fetchHeaders' bearer token.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestPki, TEST_PKI_ENV } from "./pki.js";

export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), "kubelab-test-pki-"));
  const pki = await makeTestPki(dir);
  process.env[TEST_PKI_ENV] = dir;
  process.env.NODE_EXTRA_CA_CERTS = pki.paths.caCert;
  return () => {
    delete process.env.NODE_EXTRA_CA_CERTS;
    delete process.env.KUBELAB_TEST_PKI;
    // Removed at exit, not now: vitest starts one more worker while tearing down, whose Node reads the CA file.
    process.once("exit", () => {
      rmSync(dir, { recursive: true, force: true });
    });
  };
}
