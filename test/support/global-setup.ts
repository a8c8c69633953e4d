// The integration project's globalSetup: the test run's PKI, made once before the workers start (they find it by
// KUBELAB_TEST_PKI) and removed when the run ends.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestPki, TEST_PKI_ENV } from "./pki.js";

export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), "kubelab-test-pki-"));
  await makeTestPki(dir);
  process.env[TEST_PKI_ENV] = dir;
  return () => {
    rmSync(dir, { recursive: true, force: true });
  };
}
