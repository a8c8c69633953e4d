// Where the .proto schemas are at run time. They are read from the repository's proto/ folder, not compiled into
// dist/: from the source tree this module sits beside them; from a build (dist/proto/locate.js) they are two folders
// up. KUBELAB_PROTO_DIR overrides both, for an installation that keeps the schemas elsewhere.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The path of `proto/<file>` (e.g. "k8s.proto", "cri.proto"); throws naming every place it looked. */
export function protoFilePath(file: string): string {
  const override = process.env.KUBELAB_PROTO_DIR;
  const candidates = [
    ...(override ? [`${override.replace(/\/$/, "")}/${file}`] : []),
    fileURLToPath(new URL(`./${file}`, import.meta.url)),
    fileURLToPath(new URL(`../../proto/${file}`, import.meta.url)),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`proto/${file} not found; looked in: ${candidates.join(", ")}`);
  return found;
}
