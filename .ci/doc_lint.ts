/**
 * `deno doc --lint` over the published entry points, with exactly one class of finding
 * filtered: `private-type-ref` reports about types from npm packages (Deno 2.9 flags every
 * `effect` type that way). A `private-type-ref` to one of our own declarations, and every other
 * finding, stays fatal.
 */
const ENTRY_POINTS = [
  "mod.ts",
  "src/testing/mod.ts",
  "src/effect_ai/mod.ts",
  "src/proxy/proxy.ts",
];

const ownNames = new Set<string>();
const ownSources: string[] = [];
const walk = async (dir: string): Promise<void> => {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) await walk(path);
    else if (entry.name.endsWith(".ts")) {
      const text = await Deno.readTextFile(path);
      ownSources.push(text);
      for (
        const m of text.matchAll(
          /export\s+(?:declare\s+)?(?:interface|type|const|class|function|enum)\s+(\w+)/g,
        )
      ) {
        ownNames.add(m[1]!);
      }
    }
  }
};
await walk("src");

const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...ENTRY_POINTS],
  env: { NO_COLOR: "1" },
}).output();
const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
const blocks = text.split(/\n(?=error\[)/).filter((b) => b.startsWith("error["));
const fatal = blocks.filter((block) => {
  if (!block.startsWith("error[private-type-ref]")) return true;
  const referenced = block.match(/references private type '([^']+)'/)?.[1] ?? "";
  if (!ownNames.has(referenced)) return false;
  // A name can be ours and an npm package's too (`Config`): fatal only when the declaration
  // deno doc points at is in our sources.
  const declaration = block.match(/^\s*\d+ \| (.+)\n\s*\| -+ this is the referenced type/m)?.[1];
  return declaration === undefined || ownSources.some((text) => text.includes(declaration));
});
const filtered = blocks.length - fatal.length;
if (fatal.length > 0) {
  console.error(fatal.join("\n"));
  console.error(`doc lint: ${fatal.length} finding(s) (${filtered} npm private-type-ref filtered)`);
  Deno.exit(1);
}
console.log(`doc lint: clean (${filtered} private-type-ref reports on npm types filtered)`);
