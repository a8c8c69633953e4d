// The yaml package, loaded on first use: most requests and most processes never read or write YAML, and loading it
// costs ~35 ms and a few MB at start. The same module instance an ES import would give (its Node entry is CommonJS).
import { createRequire } from "node:module";
import type * as Yaml from "yaml";

let loaded: typeof Yaml | undefined;

export function yaml(): typeof Yaml {
  loaded ??= createRequire(import.meta.url)("yaml") as typeof Yaml;
  return loaded;
}
