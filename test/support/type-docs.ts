// Reads the project's own type definitions (api/meta.ts, api/types/*.ts) with the TypeScript compiler for what the
// client library's models lack: which fields an interface requires (declared without `?`), the string values a
// field may take (a union of string literals), and the doc comments written on interfaces and fields. The wire-type
// generator (wire-types-schema.ts) joins them to the models by struct name, and the OpenAPI schemas carry them.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "../../lab/components/entries.js";

export interface InterfaceDoc {
  /** The file the interface is declared in, without directory and extension ("core", "apps", "meta"). */
  file: string;
  description?: string;
  required: string[];
  /** Field → allowed values (for a list field, of its items). */
  enums: Record<string, string[]>;
  /** Field → doc comment. */
  fields: Record<string, string>;
}

/** Interface name → its declarations (one per file that declares an interface of that name). */
export function readTypeDocs(): Map<string, InterfaceDoc[]> {
  const typesDir = join(REPO_ROOT, "api", "types");
  const files = [join(REPO_ROOT, "api", "meta.ts"), ...readdirSync(typesDir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).map((f) => join(typesDir, f))];
  const program = ts.createProgram(files, { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext });
  const checker = program.getTypeChecker();
  const out = new Map<string, InterfaceDoc[]>();
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (source === undefined) continue;
    const fileName = file.replace(/^.*\//, "").replace(/\.ts$/, "");
    ts.forEachChild(source, (node) => {
      if (!ts.isInterfaceDeclaration(node)) return;
      const doc: InterfaceDoc = { file: fileName, required: [], enums: {}, fields: {} };
      const description = docOf(node, checker);
      if (description !== undefined) doc.description = description;
      for (const member of node.members) {
        if (!ts.isPropertySignature(member) || member.name === undefined) continue;
        const name = ts.isIdentifier(member.name) || ts.isStringLiteral(member.name) ? member.name.text : undefined;
        if (name === undefined) continue;
        if (member.questionToken === undefined) doc.required.push(name);
        const fieldDoc = docOf(member, checker);
        if (fieldDoc !== undefined) doc.fields[name] = fieldDoc;
        if (member.type !== undefined) {
          const values = stringLiterals(checker.getTypeFromTypeNode(member.type), checker);
          if (values !== undefined) doc.enums[name] = values;
        }
      }
      const list = out.get(node.name.text) ?? [];
      list.push(doc);
      out.set(node.name.text, list);
    });
  }
  return out;
}

function docOf(node: ts.Node, checker: ts.TypeChecker): string | undefined {
  const symbol = ts.isInterfaceDeclaration(node) || ts.isPropertySignature(node) ? checker.getSymbolAtLocation(node.name) : undefined;
  const text = symbol === undefined ? "" : ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  return text === "" ? undefined : text.replace(/\s*\n\s*/g, " ");
}

/** The values of a union of string literals (or an array of one); undefined for any other type. */
function stringLiterals(type: ts.Type, checker: ts.TypeChecker): string[] | undefined {
  if (checker.isArrayType(type)) {
    const element = checker.getTypeArguments(type as ts.TypeReference)[0];
    return element === undefined ? undefined : stringLiterals(element, checker);
  }
  const members = type.isUnion() ? type.types : [type];
  const values: string[] = [];
  for (const member of members) {
    if (!member.isStringLiteral()) return undefined;
    values.push(member.value);
  }
  // A single literal is a constant (kind: "Status"), not a choice.
  return values.length > 1 ? values : undefined;
}
