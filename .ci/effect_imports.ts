/**
 * Finds, or rewrites, imports from the `effect` barrel in library code:
 *
 *   deno run --allow-read .ci/effect_imports.ts --check mod.ts src/        # list them, exit 1 if any
 *   deno run --allow-read --allow-write .ci/effect_imports.ts mod.ts src/  # rewrite them
 *
 * `import { Effect, type Scope } from "effect"` becomes
 * `import * as Effect from "effect/Effect"` and `import type * as Scope from "effect/Scope"`:
 * the same names with the same meaning, so no other line changes. Why: a bundler cannot drop the
 * unused parts of a namespace re-exported by the barrel (`export * as Schema from "./Schema.js"`),
 * so one barrel import keeps every export of that module (Schema keeps fast-check); with the
 * submodule, unused exports are tree-shaken. For the browser page: 207 KiB gzipped with the
 * barrel, 107 KiB with submodules (deno bundle --platform browser --minify).
 * Doc examples (inside comments) are left alone: they show users the barrel.
 */
const BARREL_IMPORT = /^import (type )?\{([^}]*)\} from "effect";\n/gm;

/** The submodule imports that replace one barrel import. */
export const splitImport = (typeOnly: string | undefined, names: string): string =>
  names.split(",").map((n) => n.trim()).filter((n) => n.length > 0).map((name) => {
    const isType = typeOnly !== undefined || name.startsWith("type ");
    const bare = name.replace(/^type\s+/, "");
    if (!/^[A-Z][A-Za-z]*$/.test(bare)) {
      throw new Error(`Cannot split import: ${bare} is not an effect module name`);
    }
    return `import ${isType ? "type " : ""}* as ${bare} from "effect/${bare}";\n`;
  }).join("");

const files = async (path: string): Promise<string[]> => {
  const info = await Deno.stat(path);
  if (info.isFile) return path.endsWith(".ts") ? [path] : [];
  const out: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    out.push(...await files(`${path.replace(/\/+$/, "")}/${entry.name}`));
  }
  return out.sort();
};

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const paths = Deno.args.filter((a) => a !== "--check");
  let found = 0;
  for (const root of paths.length === 0 ? ["mod.ts", "src"] : paths) {
    for (const file of await files(root)) {
      const text = await Deno.readTextFile(file);
      const matches = [...text.matchAll(BARREL_IMPORT)];
      if (matches.length === 0) continue;
      found += matches.length;
      if (check) {
        console.log(`${file}: ${matches.length} import(s) from the effect barrel`);
      } else {
        await Deno.writeTextFile(
          file,
          text.replace(BARREL_IMPORT, (_, typeOnly, names) => splitImport(typeOnly, names)),
        );
        console.log(`${file}: rewrote ${matches.length} import(s)`);
      }
    }
  }
  if (check && found > 0) {
    console.log(`${found} barrel import(s): run .ci/effect_imports.ts without --check`);
    Deno.exit(1);
  }
}
