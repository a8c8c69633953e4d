// Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion), used for env values, command, args and
// subPathExpr: `$(NAME)` becomes the variable's value, `$$` becomes a literal `$`, and a reference to an unknown
// variable (or an unterminated `$(`) stays as written, so a typo is visible in the container instead of vanishing.

/** Looks a variable up; undefined when it does not exist. */
export type VariableLookup = (name: string) => string | undefined;

/** A lookup over several maps, the first holding the name wins (MappingFuncFor). */
export function lookupIn(...maps: readonly ReadonlyMap<string, string>[]): VariableLookup {
  return (name) => {
    for (const map of maps) {
      const value = map.get(name);
      if (value !== undefined) return value;
    }
    return undefined;
  };
}

/** Expands every `$(NAME)` in input; see the file comment for the escaping rules. */
export function expand(input: string, lookup: VariableLookup): string {
  let out = "";
  let i = 0;
  while (i < input.length) {
    const c = input.charAt(i);
    // A `$` as the last character has nothing after it to form an expression: it is kept.
    if (c !== "$" || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const next = input.charAt(i + 1);
    if (next === "$") {
      out += "$";
      i += 2;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close === -1) {
        // Incomplete: the `$(` is kept and scanning goes on after it.
        out += "$(";
        i += 2;
      } else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close + 1;
      }
    } else {
      out += `$${next}`;
      i += 2;
    }
  }
  return out;
}
