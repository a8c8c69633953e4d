import { defineConfig } from "vitest/config";

// Two projects: fast unit tests (fakes only) and integration tests against real etcd, real processes, real kubectl.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "node_modules/**", "dist/**"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["**/*.int.test.ts"],
          exclude: ["node_modules/**", "dist/**"],
          // The test run's PKI (test/support/pki.ts): every test apiserver serves HTTPS with its certificates.
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
