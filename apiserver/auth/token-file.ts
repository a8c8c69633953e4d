// --token-auth-file: static bearer tokens, Kubernetes' CSV format, one user a line:
//   token,user,uid[,"group1,group2"]
// Fields follow CSV quoting (a quoted field may hold commas and "" for a quote). Lines with an empty token are
// skipped and a repeated token keeps its last line, as Kubernetes does; a line with fewer than 3 fields or broken
// quoting stops the apiserver at start with an error naming the file and line.
import { readFileSync } from "node:fs";
import type { UserInfo } from "../../api/types/index.js";

export interface TokenFile {
  users: Map<string, UserInfo>;
  /** Lines skipped or overridden, for the start-up log (they never contain the token). */
  warnings: string[];
}

export function loadTokenFile(path: string): TokenFile {
  return parseTokenFile(readFileSync(path, "utf8"), path);
}

export function parseTokenFile(text: string, path: string): TokenFile {
  const users = new Map<string, UserInfo>();
  const warnings: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line.trim() === "") return;
    const fields = csvFields(line);
    if (fields === undefined) throw new Error(`token file '${path}' line ${lineNo}: bare or unterminated " in a field`);
    if (fields.length < 3) throw new Error(`token file '${path}' line ${lineNo}: must have at least 3 columns (token, user name, user uid), found ${fields.length}`);
    const [token = "", name = "", uid = "", groups] = fields;
    if (token === "") {
      warnings.push(`empty token has been found in token file '${path}', line ${lineNo}`);
      return;
    }
    if (users.has(token)) warnings.push(`duplicate token has been found in token file '${path}', line ${lineNo}`);
    const user: UserInfo = { username: name, uid };
    if (groups !== undefined) user.groups = groups.split(",");
    users.set(token, user);
  });
  return { users, warnings };
}

/** One CSV record's fields (RFC 4180 quoting), or undefined when its quoting is broken. */
function csvFields(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line.charAt(i);
        i++;
      }
      if (i < line.length && line[i] !== ",") return undefined;
    } else {
      const end = line.indexOf(",", i);
      field = end < 0 ? line.slice(i) : line.slice(i, end);
      if (field.includes('"')) return undefined;
      i = end < 0 ? line.length : end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}
