// @ts-check
import eslint from "@eslint/js";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

// ---------------------------------------------------------------------------------------------------------------
// The folder boundaries. Imports flow one way: a process → client/ → api/, and anything may use component-base/.
// A process never imports another process; a shared folder never imports a process. A folder may import only the
// folders listed for it (and itself); the table is enforced on resolved file paths, so a name that merely
// contains a folder's name cannot slip through or be caught by mistake.
// ---------------------------------------------------------------------------------------------------------------

/** Each binary's own code. Folders not yet written are listed so the rule is in place when they land. */
const PROCESS_FOLDERS = ["apiserver", "scheduler", "controller-manager", "lab", "kubelet", "kube-proxy", "container-runtime", "kube-state-metrics", "cluster-dns", "metrics-server", "live-view"];

/** The folders every process may build on. */
const SHARED_FOLDERS = ["api", "client", "component-base", "proto"];

/** What the code (not the tests) in each folder may import besides itself. @type {Record<string, string[]>} */
const MAY_IMPORT = {
  // Types, validation and pure helpers for API objects: no I/O, no client.
  api: ["proto"],
  // Logging, metrics, flags, serving, shutdown, clocks: a leaf every folder may use.
  "component-base": [],
  proto: [],
  client: ["api", "component-base", "proto"],
  ...Object.fromEntries(PROCESS_FOLDERS.map((process) => [process, SHARED_FOLDERS])),
  // Tests and benchmarks drive whole processes; a benchmark does not depend on the test suite.
  test: [...SHARED_FOLDERS, ...PROCESS_FOLDERS],
  bench: [...SHARED_FOLDERS, ...PROCESS_FOLDERS],
};

/** Test files (beside the code or under test/) may also use the shared test support in test/. */
const TESTS_MAY_ALSO_IMPORT = ["test"];

const TEST_FILES = ["**/*.test.ts"];

const ALL_FOLDERS = Object.keys(MAY_IMPORT);

/** @param {string} folder @param {string} other */
function whyNot(folder, other) {
  if (PROCESS_FOLDERS.includes(folder) && PROCESS_FOLDERS.includes(other)) return "a process must not import another process";
  if (PROCESS_FOLDERS.includes(other)) return "shared code must not import a process folder";
  if (other === "test") return "only tests may import the test support in test/";
  if (other === "bench") return "nothing imports the benchmarks";
  return `${folder}/ must not import ${other}/: imports flow process → client/ → api/, and component-base/ is a leaf`;
}

/** One no-restricted-paths zone per (folder, folder it must not import). @param {string[]} extraAllowed */
function folderZones(extraAllowed) {
  return ALL_FOLDERS.flatMap((folder) =>
    ALL_FOLDERS.filter((other) => other !== folder && !(MAY_IMPORT[folder] ?? []).includes(other) && !extraAllowed.includes(other)).map((other) => ({
      target: `./${folder}`,
      from: `./${other}`,
      message: whyNot(folder, other),
    })),
  );
}

/** The scheduling framework is the plugins' contract: it depends on nothing else in the scheduler. */
const FRAMEWORK_ZONE = {
  target: "./scheduler/framework",
  from: "./scheduler",
  except: ["./framework"],
  message: "the scheduling framework must not import the scheduler around it; move what it needs into framework/",
};

// ---------------------------------------------------------------------------------------------------------------
// Packages. prom-client is reached only through component-base/ (metrics.ts), so every process exposes metrics
// the same way. api/ stays free of I/O so that any folder can use it.
// ---------------------------------------------------------------------------------------------------------------

const THROUGH_COMPONENT_BASE = [
  { name: "prom-client", message: "use component-base/metrics.ts" },
];

const NO_IO = "api/ holds no I/O: do this in client/, component-base/ or a process";
const IO_MODULES = [
  ...["node:fs", "node:fs/promises", "node:http", "node:https", "node:http2", "node:child_process", "node:dgram", "node:dns", "node:tls", "etcd3", "express", "ws", "@grpc/grpc-js"].map((name) => ({ name, message: NO_IO })),
  { name: "node:net", allowImportNames: ["isIP", "isIPv4", "isIPv6"], message: NO_IO },
];

/**
 * @param {{ name: string, message: string, allowImportNames?: string[] }[]} extraPaths
 * @returns {import("eslint").Linter.RuleEntry}
 */
function restrictedImports(extraPaths) {
  return ["error", { paths: [...THROUGH_COMPONENT_BASE, ...extraPaths], patterns: [{ group: ["prom-client/*"], message: "use component-base/" }] }];
}

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "proto/gen/**", "eslint.config.js", "images/**"] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: `${import.meta.dirname}/tsconfig.json` })],
      "import-x/extensions": [".ts"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/explicit-module-boundary-types": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unnecessary-condition": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      // Type-only imports are erased at run time and are not counted; packages are not followed.
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-restricted-paths": ["error", { basePath: import.meta.dirname, zones: [...folderZones([]), FRAMEWORK_ZONE] }],
      "no-restricted-imports": restrictedImports([]),
    },
  },
  {
    files: TEST_FILES,
    rules: { "import-x/no-restricted-paths": ["error", { basePath: import.meta.dirname, zones: folderZones(TESTS_MAY_ALSO_IMPORT) }] },
  },
  {
    files: ["api/**"],
    ignores: TEST_FILES,
    rules: { "no-restricted-imports": restrictedImports(IO_MODULES) },
  },
  {
    files: ["component-base/**"],
    rules: { "no-restricted-imports": "off" },
  },
);
