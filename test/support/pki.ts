// The test run's PKI: one cluster CA and kubeadm's files (lab/pki), made once per vitest run by the integration
// project's globalSetup and shared with every worker through KUBELAB_TEST_PKI. Every test apiserver serves with its
// certificate; tests reach it as the admin (O=system:masters) by client certificate, or by the static admin token for
// tools that cannot present a certificate. A worker started without the globalSetup makes its own copy on first use.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writePemFile, PRIVATE_FILE_MODE } from "../../component-base/pki/files.js";
import { ensureLabPki, labPkiPaths, type LabPkiPaths } from "../../lab/pki/pki.js";

/** The environment variable naming the run's PKI directory. */
export const TEST_PKI_ENV = "KUBELAB_TEST_PKI";

/** The admin token's user and group in the static token file. */
export const TEST_ADMIN_USER = "kubelab-test-admin";

export interface TestPki {
  dir: string;
  paths: LabPkiPaths;
  /** --token-auth-file: the admin token, in system:masters. */
  tokenFile: string;
  adminToken: string;
}

const TOKEN_FILE = "tokens.csv";
const ADMIN_TOKEN_FILE = "admin.token";

/** Makes the run's PKI in `dir` (which must exist): kubeadm's files for an apiserver on loopback, and the token file. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  await ensureLabPki({ dir, serviceIp: "10.96.0.1", apiserverAddresses: ["localhost", "::1"], server: "https://127.0.0.1:6443", nodes: [] });
  const adminToken = randomBytes(24).toString("hex");
  writePemFile(join(dir, ADMIN_TOKEN_FILE), `${adminToken}\n`, PRIVATE_FILE_MODE);
  writePemFile(join(dir, TOKEN_FILE), `${adminToken},${TEST_ADMIN_USER},${TEST_ADMIN_USER},"system:masters"\n`, PRIVATE_FILE_MODE);
  return readTestPki(dir);
}

function readTestPki(dir: string): TestPki {
  return { dir, paths: labPkiPaths(dir), tokenFile: join(dir, TOKEN_FILE), adminToken: readFileSync(join(dir, ADMIN_TOKEN_FILE), "utf8").trim() };
}

let local: Promise<TestPki> | undefined;

/** The run's PKI (KUBELAB_TEST_PKI), or one made for this worker and removed when it exits. */
export function testPki(): Promise<TestPki> {
  const shared = process.env[TEST_PKI_ENV];
  if (shared !== undefined && shared !== "") return Promise.resolve(readTestPki(shared));
  local ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubelab-test-pki-"));
    process.on("exit", () => {
      rmSync(dir, { recursive: true, force: true });
    });
    return makeTestPki(dir);
  })();
  return local;
}
