// Writes proto/k8s/<group>-<version>.proto, kubelab's protobuf schema of every built-in kind, from the Go types of a
// k8s.io checkout (a folder holding api/, kube-aggregator/ and apiextensions-apiserver/, as Kubernetes' vendor/k8s.io
// does): `node dist/proto/generate-k8s.js <k8s.io dir> [proto dir] [group/version ...]` (all group versions unless
// some are named).
//
// The Go types carry the wire format as facts in their struct tags (`protobuf:"bytes,3,opt,name=spec"`): field
// numbers, repetition, the embedded structs whose JSON is inlined, and which fields are pointers (written only when
// set, so a zero is meaningful). From them this emits proto2 messages named as the JSON fields are, with the
// (pointer) and (embedded) options apiserver/http/protobuf.ts reads. Each group version gets its own package,
// kubelab.k8s.<group's first label>.<version>; the apimachinery types (ObjectMeta, Time, Quantity ...) are the
// hand-written ones in proto/k8s.proto. A field whose type is outside what is generated is left out with a comment
// (decoding skips unknown fields), so a newer k8s.io/api than the apiserver serves is harmless.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The group versions generated: each is a k8s.io/api folder and the package its messages live in. */
const API_GROUP_VERSIONS: readonly string[] = [
  "core/v1",
  "apps/v1",
  "batch/v1",
  "autoscaling/v1",
  "autoscaling/v2",
  "policy/v1",
  "networking/v1",
  "rbac/v1",
  "certificates/v1",
  "authentication/v1",
  "authorization/v1",
  "scheduling/v1",
  "storage/v1",
  "node/v1",
  "coordination/v1",
  "discovery/v1",
  "events/v1",
  "admissionregistration/v1",
];

/** Group versions whose types live outside k8s.io/api: folder (as the package is named) → source under the k8s.io dir. */
const OTHER_SOURCES: Readonly<Record<string, string>> = {
  "apiregistration/v1": "kube-aggregator/pkg/apis/apiregistration/v1",
  "apiextensions/v1": "apiextensions-apiserver/pkg/apis/apiextensions/v1",
};

const GROUP_VERSIONS: readonly string[] = [...API_GROUP_VERSIONS, ...Object.keys(OTHER_SOURCES)];

/** A proto field name: JSON names that are not identifiers ($ref, x-kubernetes-*) keep the Go tag's name. */
const IDENTIFIER = /^[A-Za-z_]\w*$/;

/** apimachinery types by their Go name, as proto/k8s.proto names them (package kubelab.k8s). */
const META_TYPES: Readonly<Record<string, string>> = {
  "metav1.ObjectMeta": ".kubelab.k8s.ObjectMeta",
  "metav1.Time": ".kubelab.k8s.Time",
  "metav1.MicroTime": ".kubelab.k8s.MicroTime",
  "metav1.LabelSelector": ".kubelab.k8s.LabelSelector",
  "metav1.LabelSelectorRequirement": ".kubelab.k8s.LabelSelectorRequirement",
  "metav1.OwnerReference": ".kubelab.k8s.OwnerReference",
  "metav1.DeleteOptions": ".kubelab.k8s.DeleteOptions",
  "metav1.Condition": ".kubelab.k8s.Condition",
  "resource.Quantity": ".kubelab.k8s.Quantity",
  "intstr.IntOrString": ".kubelab.k8s.IntOrString",
  "runtime.RawExtension": ".kubelab.k8s.RawExtension",
};

const SCALARS: Readonly<Record<string, string>> = {
  string: "string",
  bool: "bool",
  int32: "int32",
  int64: "int64",
  int: "int64",
  uint32: "uint32",
  uint64: "uint64",
  float64: "double",
  float32: "float",
  "[]byte": "bytes",
  "types.UID": "string",
  "types.NodeName": "string",
  "metav1.StatusReason": "string",
};

interface GoField {
  goName: string;
  goType: string;
  json: string;
  protobuf: string;
  embedded: boolean;
}

interface GoPackage {
  folder: string;
  protoPackage: string;
  structs: Map<string, GoField[]>;
  /** `type X <not a struct>` declarations: X → its Go type. */
  aliases: Map<string, string>;
  /** Go import aliases of the other k8s.io/api packages, alias → folder. */
  imports: Map<string, string>;
}

function main(argv: readonly string[]): void {
  const k8sDir = argv[0];
  if (k8sDir === undefined) throw new Error("usage: generate-k8s.js <k8s.io dir> [proto dir] [group/version ...]");
  const outDir = join(argv[1] ?? "proto", "k8s");
  const only = argv.slice(2);
  const packages = new Map(GROUP_VERSIONS.map((gv) => [gv, parsePackage(k8sDir, gv)]));
  mkdirSync(outDir, { recursive: true });
  for (const pkg of packages.values()) {
    if (only.length > 0 && !only.includes(pkg.folder)) continue;
    writeFileSync(join(outDir, `${pkg.folder.replace("/", "-")}.proto`), renderPackage(pkg, packages));
  }
}

function protoPackageOf(folder: string): string {
  const [group, version] = folder.split("/");
  return `kubelab.k8s.${group}.${version}`;
}

// ---- parsing the Go types ----

function parsePackage(k8sDir: string, folder: string): GoPackage {
  const pkg: GoPackage = { folder, protoPackage: protoPackageOf(folder), structs: new Map(), aliases: new Map(), imports: new Map() };
  const dir = join(k8sDir, OTHER_SOURCES[folder] ?? join("api", folder));
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".go") || file.endsWith("_test.go") || file.startsWith("zz_generated") || file.endsWith(".pb.go")) continue;
    parseFile(readFileSync(join(dir, file), "utf8"), pkg);
  }
  return pkg;
}

function parseFile(source: string, pkg: GoPackage): void {
  for (const m of source.matchAll(/^\s*(\w+)?\s*"k8s\.io\/api\/([\w]+\/v\w+)"/gm)) {
    const folder = m[2] ?? "";
    const alias = m[1] ?? folder.split("/")[1] ?? "";
    pkg.imports.set(alias, folder);
  }
  const lines = source.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const empty = /^type (\w+) struct\s*\{\s*\}/.exec(line);
    if (empty !== null) {
      pkg.structs.set(empty[1] ?? "", []);
      continue;
    }
    const struct = /^type (\w+) struct \{\s*$/.exec(line);
    if (struct !== null) {
      const fields: GoField[] = [];
      let depth = 1;
      for (i++; i < lines.length && depth > 0; i++) {
        const body = (lines[i] ?? "").trim();
        if (body.startsWith("//") || body === "") continue;
        if (body.endsWith("{")) depth++;
        if (body === "}") {
          depth--;
          continue;
        }
        if (depth === 1) {
          const field = parseField(body);
          if (field !== undefined) fields.push(field);
        }
      }
      i--;
      pkg.structs.set(struct[1] ?? "", fields);
      continue;
    }
    const alias = /^type (\w+) ([^\s{]+.*?)\s*(\/\/.*)?$/.exec(line);
    if (alias !== null && !alias[2]?.startsWith("struct") && !alias[2]?.startsWith("interface")) pkg.aliases.set(alias[1] ?? "", (alias[2] ?? "").trim());
  }
}

function parseField(line: string): GoField | undefined {
  const tagStart = line.indexOf("`");
  if (tagStart < 0) return undefined;
  const declaration = line.slice(0, tagStart).trim().split(/\s+/);
  const tags = new Map([...line.slice(tagStart).matchAll(/(\w+):"([^"]*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]));
  const protobuf = tags.get("protobuf");
  if (protobuf === undefined) return undefined;
  const json = (tags.get("json") ?? "").split(",")[0] ?? "";
  if (json === "-") return undefined;
  // An embedded Go struct is inlined in JSON only when it has no JSON name of its own (`json:",inline"`).
  const anonymous = declaration.length === 1;
  const goType = anonymous ? (declaration[0] ?? "") : (declaration[1] ?? "");
  return { goName: anonymous ? "" : (declaration[0] ?? ""), goType, json, protobuf, embedded: anonymous && json === "" };
}

// ---- rendering ----

interface ProtoType {
  repeated: boolean;
  map?: { key: string; value: string };
  /** A scalar or a fully qualified message name. */
  type: string;
  pointer: boolean;
}

function renderPackage(pkg: GoPackage, all: ReadonlyMap<string, GoPackage>): string {
  const out: string[] = [
    `// Generated by proto/generate-k8s.ts from k8s.io/${OTHER_SOURCES[pkg.folder] ?? `api ${pkg.folder}`}: do not edit. The wire format of kubelab's`,
    "// protobuf bodies for this group version (see proto/k8s.proto for the conventions).",
    'syntax = "proto2";',
    "",
    `package ${pkg.protoPackage};`,
    "",
  ];
  const wrappers = new Set<string>();
  for (const [name, fields] of [...pkg.structs].sort(([a], [b]) => a.localeCompare(b))) {
    // Lists are never request bodies. An empty struct is a message too (CustomResourceSubresourceStatus: `status: {}`).
    if (name.endsWith("List") && fields[0]?.goType === "metav1.ListMeta") continue;
    out.push(`message ${name} {`);
    for (const field of fields) {
      const number = Number(field.protobuf.split(",")[1]);
      const protoName = /name=(\w+)/.exec(field.protobuf)?.[1] ?? (field.json || lowerFirst(field.goType));
      const wanted = field.embedded ? protoName : field.json || protoName;
      const jsonName = IDENTIFIER.test(wanted) ? wanted : protoName;
      const resolved = resolveType(field.goType, pkg, all, wrappers);
      if (resolved === undefined) {
        out.push(`  // ${jsonName} = ${number}: ${field.goType} is not generated`);
        continue;
      }
      const options: string[] = [];
      if (resolved.pointer) options.push("(pointer) = true");
      if (field.embedded) options.push("(embedded) = true");
      if (jsonName !== wanted) options.push(`(json) = "${wanted}"`);
      const suffix = options.length > 0 ? ` [${options.join(", ")}]` : "";
      if (resolved.map !== undefined) out.push(`  map<${resolved.map.key}, ${resolved.map.value}> ${jsonName} = ${number};`);
      else out.push(`  ${resolved.repeated ? "repeated" : "optional"} ${resolved.type} ${jsonName} = ${number}${suffix};`);
    }
    out.push("}", "");
  }
  for (const wrapper of [...wrappers].sort()) {
    const [name, item] = wrapper.split(" ");
    out.push(`// A named list (Go's ${name}): its JSON is the list itself.`, `message ${name} {`, "  option (list) = true;", `  repeated ${item} items = 1;`, "}", "");
  }
  return out.join("\n");
}

/** The proto type of a Go type as written in a struct of `pkg`; undefined when it is outside what is generated. */
function resolveType(goType: string, pkg: GoPackage, all: ReadonlyMap<string, GoPackage>, wrappers: Set<string>, depth = 0): ProtoType | undefined {
  if (depth > 8) return undefined;
  if (goType.startsWith("*")) {
    const inner = resolveType(goType.slice(1), pkg, all, wrappers, depth + 1);
    return inner === undefined ? undefined : { ...inner, pointer: true };
  }
  const scalar = SCALARS[goType];
  if (scalar !== undefined) return { repeated: false, type: scalar, pointer: false };
  if (goType.startsWith("[]")) {
    const inner = resolveType(goType.slice(2), pkg, all, wrappers, depth + 1);
    if (inner === undefined || inner.repeated || inner.map !== undefined) return undefined;
    return { repeated: true, type: inner.type, pointer: false };
  }
  const map = /^map\[([\w.]+)\](.+)$/.exec(goType);
  if (map !== null) {
    const key = resolveType(map[1] ?? "", pkg, all, wrappers, depth + 1);
    const value = resolveType(map[2] ?? "", pkg, all, wrappers, depth + 1);
    if (key === undefined || value === undefined || key.repeated || value.map !== undefined) return undefined;
    if (value.repeated) {
      // proto maps cannot hold lists: Go names such a list (ExtraValue) and it becomes a wrapper message.
      const named = /^map\[[\w.]+\](\w+)$/.exec(goType)?.[1];
      if (named === undefined) return undefined;
      wrappers.add(`${named} ${value.type}`);
      return { repeated: false, map: { key: key.type, value: `.${pkg.protoPackage}.${named}` }, type: "", pointer: false };
    }
    return { repeated: false, map: { key: key.type, value: value.type }, type: "", pointer: false };
  }
  const meta = META_TYPES[goType];
  if (meta !== undefined) return { repeated: false, type: meta, pointer: false };
  const dot = goType.indexOf(".");
  if (dot >= 0) {
    const folder = pkg.imports.get(goType.slice(0, dot));
    const other = folder === undefined ? undefined : all.get(folder);
    return other === undefined ? undefined : resolveType(goType.slice(dot + 1), other, all, wrappers, depth + 1);
  }
  if (pkg.structs.has(goType)) return { repeated: false, type: `.${pkg.protoPackage}.${goType}`, pointer: false };
  const alias = pkg.aliases.get(goType);
  if (alias !== undefined) {
    const resolved = resolveType(alias, pkg, all, wrappers, depth + 1);
    if (resolved?.repeated === true && !resolved.map) {
      // A named list used as a field (not in a map) is written as the list itself.
      return resolved;
    }
    return resolved;
  }
  return undefined;
}

function lowerFirst(goType: string): string {
  const name = goType.slice(goType.lastIndexOf(".") + 1);
  return name.charAt(0).toLowerCase() + name.slice(1);
}

main(process.argv.slice(2));
