/**
 * `deno task build:npm`: writes the npm package of @nomyo/client to `dist/npm/`.
 *
 * - ESM JavaScript and `.d.ts` for every entry point of deno.json's `exports`, one output file per
 *   source module, compiled by `tsc` (TypeScript, pinned below) with
 *   `rewriteRelativeImportExtensions`, so `./x.ts` imports become `./x.js`. The sources are the
 *   local modules of the entry points' module graphs (`deno info --json`), never a list of files.
 * - `effect` and `@effect/platform` are `dependencies` (not bundled: the app and the client share
 *   one Effect), `@effect/ai` an optional peer (only `./effect-ai` imports it), with the ranges of
 *   deno.json's import map; name, version and license from deno.json.
 * - `browser/nomyo.mjs`: the main entry point as one minified ESM file with Effect inside
 *   (`deno bundle --platform browser`), for pages without a bundler; `browser/nomyo.d.mts` gives
 *   it the types of the main entry point.
 * - README.md and LICENSE copied in.
 *
 * The build tools live in `dist/.npm-build/` (git-ignored), installed there with `npm`, never
 * dependencies of the package. The type packages the sources are compiled against are the
 * versions deno.lock locked for the tests.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-run .ci/npm/build.ts
 *
 * @module
 */

/** The build-time tools, pinned for a reproducible build. */
const TOOLS: Readonly<Record<string, string>> = {
  typescript: "5.9.3",
  "@types/node": "20.19.43",
};

/** The npm packages the sources import, each with its import-map key. */
const DEPENDENCIES = ["effect", "@effect/platform"] as const;
const OPTIONAL_PEERS = ["@effect/ai"] as const;

/** Oldest Node.js the package runs on (CI runs 20 and 24). */
const NODE_ENGINE = ">=20";

const INSTALL_TIMEOUT_MS = 300_000;
const COMPILE_TIMEOUT_MS = 300_000;
const BUNDLE_TIMEOUT_MS = 180_000;

const root = new URL("../../", import.meta.url);
const rootPath = decodeURIComponent(root.pathname).replace(/\/$/, "");
const outDir = `${rootPath}/dist/npm`;
const buildDir = `${rootPath}/dist/.npm-build`;
const stageDir = `${buildDir}/stage`;

interface DenoJson {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly exports: Readonly<Record<string, string>>;
  readonly imports: Readonly<Record<string, string>>;
  readonly compilerOptions?: Readonly<Record<string, unknown>>;
}

const fail = (message: string): never => {
  throw new Error(message);
};

const readJson = async (path: string): Promise<unknown> =>
  JSON.parse(await Deno.readTextFile(path));

/** Runs a command; fails with its output when it fails or runs out of time. */
const run = async (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly timeoutMs: number },
): Promise<string> => {
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(command, {
      args: [...args],
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(options.timeoutMs),
    }).output();
  } catch (e) {
    return fail(`Cannot run ${command} ${args.join(" ")}: ${(e as Error).message}`);
  }
  const stdout = new TextDecoder().decode(result.stdout);
  if (!result.success) {
    const stderr = new TextDecoder().decode(result.stderr);
    const how = result.signal === null ? `exit code ${result.code}` : `signal ${result.signal}`;
    return fail(`${command} ${args.join(" ")} failed (${how}):\n${stdout}${stderr}`);
  }
  return stdout;
};

/** `npm:effect@^3.22.0` → `^3.22.0`, for the import-map entry of `name`. */
const rangeOf = (deno: DenoJson, name: string): string => {
  const target = deno.imports[name] ?? fail(`Cannot build: deno.json imports no "${name}"`);
  const match = /^npm:(@?[^@]+)@(.+)$/.exec(target);
  if (match === null || match[1] !== name) {
    return fail(`Cannot build: deno.json maps "${name}" to ${target}, not an npm range`);
  }
  return match[2]!;
};

/** The version deno.lock resolved for `name` (the tests ran against it). */
const lockedVersion = (lock: { specifiers?: Record<string, string> }, name: string): string => {
  for (const [specifier, resolved] of Object.entries(lock.specifiers ?? {})) {
    if (specifier.startsWith(`npm:${name}@`)) return resolved.split("_")[0]!;
  }
  return fail(`Cannot build: deno.lock has no version of ${name}`);
};

/** Installs the tools and the type packages in `dist/.npm-build/`, unless already there. */
const installToolchain = async (versions: Readonly<Record<string, string>>): Promise<void> => {
  await Deno.mkdir(buildDir, { recursive: true });
  const manifest = JSON.stringify(
    { private: true, type: "module", dependencies: versions },
    null,
    2,
  ) + "\n";
  const stamp = `${buildDir}/node_modules/.nomyo-toolchain.json`;
  const installed = await Deno.readTextFile(stamp).catch(() => "");
  if (installed === manifest) return;
  await Deno.writeTextFile(`${buildDir}/package.json`, manifest);
  console.log(
    `build:npm: installing ${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(" ")}`,
  );
  // No install scripts: only types and the compiler are needed, nothing native.
  await run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock"],
    {
      cwd: buildDir,
      timeoutMs: INSTALL_TIMEOUT_MS,
    },
  );
  await Deno.writeTextFile(stamp, manifest);
};

/** The local modules of `entry`'s module graph, as paths relative to the repository. */
const localModules = async (entry: string): Promise<ReadonlyArray<string>> => {
  const info = JSON.parse(
    await run(Deno.execPath(), ["info", "--json", entry], {
      cwd: rootPath,
      timeoutMs: COMPILE_TIMEOUT_MS,
    }),
  ) as { modules?: ReadonlyArray<{ specifier?: string }> };
  const prefix = root.href;
  return (info.modules ?? [])
    .map((m) => m.specifier ?? "")
    .filter((s) => s.startsWith(prefix))
    .map((s) => decodeURIComponent(s.slice(prefix.length)));
};

/** `./src/testing/mod.ts` → `./src/testing/mod` (the output path without extension). */
const stem = (path: string): string =>
  path.endsWith(".ts") ? path.slice(0, -3) : fail(`Cannot build: export ${path} is not a .ts file`);

/** Every file under `dir`, recursively, as absolute paths. */
const walk = async (dir: string): Promise<string[]> => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await walk(path));
    else if (entry.isFile) files.push(path);
  }
  return files;
};

// A relative module specifier ending in .ts, in `from "…"`, `import("…")` or `import "…"`.
const RELATIVE_TS = /((?:\bfrom|\bimport)\s*\(?\s*)(["'])(\.\.?\/[^"'\n]*)\.ts\2/g;

/** tsc keeps `.ts` in declaration files' specifiers: point them at the `.d.ts`' `.js` twins. */
const rewriteDeclarations = async (files: ReadonlyArray<string>): Promise<void> => {
  for (const file of files.filter((f) => f.endsWith(".d.ts"))) {
    const text = await Deno.readTextFile(file);
    const rewritten = text.replace(RELATIVE_TS, "$1$2$3.js$2");
    if (rewritten !== text) await Deno.writeTextFile(file, rewritten);
  }
};

/** Fails when an output file still imports a relative `.ts` module (it would not resolve). */
const assertNoTsSpecifiers = async (files: ReadonlyArray<string>): Promise<void> => {
  for (const file of files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
    const text = await Deno.readTextFile(file);
    // JSDoc examples may name .ts files; only code lines count.
    const code = text.split("\n").filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
    const found = code.match(RELATIVE_TS);
    if (found !== null) fail(`Cannot build: ${file} still imports ${found[0]}`);
  }
};

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

const gzipSize = async (bytes: Uint8Array<ArrayBuffer>): Promise<number> => {
  const zipped = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(zipped).arrayBuffer()).byteLength;
};

const main = async (): Promise<void> => {
  const deno = await readJson(`${rootPath}/deno.json`) as DenoJson;
  const lock = await readJson(`${rootPath}/deno.lock`) as { specifiers?: Record<string, string> };
  const typeVersions = Object.fromEntries(
    [...DEPENDENCIES, ...OPTIONAL_PEERS].map((name) => [name, lockedVersion(lock, name)]),
  );
  await installToolchain({ ...TOOLS, ...typeVersions });

  // Stage the entry points' local modules, keeping their paths.
  const entries = Object.entries(deno.exports);
  const modules = new Set<string>();
  for (const [, path] of entries) {
    for (const module of await localModules(path)) modules.add(module);
  }
  await Deno.remove(stageDir, { recursive: true }).catch(() => {});
  for (const module of modules) {
    const target = `${stageDir}/${module}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(`${rootPath}/${module}`, target);
  }

  // tsc, with deno.json's strictness; the Node types are for ./testing and ./proxy (node:http).
  const tsconfig = {
    compilerOptions: {
      ...deno.compilerOptions,
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      lib: ["ES2023", "ESNext.Disposable", "DOM", "DOM.Iterable"],
      types: ["node"],
      strict: true,
      declaration: true,
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      // The dependencies' own declarations are theirs to check; ours are checked in full.
      skipLibCheck: true,
      rootDir: "stage",
      outDir,
      newLine: "lf",
    },
    files: entries.map(([, path]) => `stage/${path.replace(/^\.\//, "")}`),
  };
  await Deno.writeTextFile(`${buildDir}/tsconfig.json`, JSON.stringify(tsconfig, null, 2) + "\n");
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await run("node", [`${buildDir}/node_modules/typescript/bin/tsc`, "-p", "tsconfig.json"], {
    cwd: buildDir,
    timeoutMs: COMPILE_TIMEOUT_MS,
  });
  const emitted = await walk(outDir);
  await rewriteDeclarations(emitted);
  await assertNoTsSpecifiers(emitted);

  // The single-file browser build of the main entry point, Effect inside.
  const mainEntry = deno.exports["."] ?? fail('Cannot build: deno.json exports no "."');
  await Deno.mkdir(`${outDir}/browser`, { recursive: true });
  await run(Deno.execPath(), [
    "bundle",
    "--platform",
    "browser",
    "--minify",
    "-o",
    `${outDir}/browser/nomyo.mjs`,
    mainEntry,
  ], { cwd: rootPath, timeoutMs: BUNDLE_TIMEOUT_MS });
  await Deno.writeTextFile(
    `${outDir}/browser/nomyo.d.mts`,
    `/** Types of browser/nomyo.mjs: the main entry point's (Effect's come from \`effect\`). */\n` +
      `export * from "../${stem(mainEntry).replace(/^\.\//, "")}.js";\n`,
  );

  // package.json: the exports map mirrors deno.json's.
  const exportsMap: Record<string, unknown> = {};
  for (const [key, path] of entries) {
    exportsMap[key] = { types: `${stem(path)}.d.ts`, import: `${stem(path)}.js` };
  }
  exportsMap["./browser"] = { types: "./browser/nomyo.d.mts", import: "./browser/nomyo.mjs" };
  exportsMap["./package.json"] = "./package.json";
  const packageJson = {
    name: deno.name,
    version: deno.version,
    description:
      "OpenAI-compatible chat completions, end-to-end encrypted (AES-256-GCM, RSA-OAEP-SHA256) for NOMYO secure inference routers; Effect services and a Promise API",
    license: deno.license,
    type: "module",
    exports: exportsMap,
    // No module runs code on import beyond its own definitions.
    sideEffects: false,
    engines: { node: NODE_ENGINE },
    dependencies: Object.fromEntries(DEPENDENCIES.map((name) => [name, rangeOf(deno, name)])),
    peerDependencies: Object.fromEntries(OPTIONAL_PEERS.map((name) => [name, rangeOf(deno, name)])),
    peerDependenciesMeta: Object.fromEntries(
      OPTIONAL_PEERS.map((name) => [name, { optional: true }]),
    ),
    keywords: ["nomyo", "openai", "encryption", "e2ee", "effect", "llm", "webcrypto"],
  };
  await Deno.writeTextFile(`${outDir}/package.json`, JSON.stringify(packageJson, null, 2) + "\n");
  await Deno.copyFile(`${rootPath}/README.md`, `${outDir}/README.md`);
  await Deno.copyFile(`${rootPath}/LICENSE`, `${outDir}/LICENSE`);

  const files = await walk(outDir);
  let total = 0;
  for (const file of files) total += (await Deno.stat(file)).size;
  const browser = await Deno.readFile(`${outDir}/browser/nomyo.mjs`);
  console.log(
    `build:npm: dist/npm/ ${deno.name}@${deno.version}: ${modules.size} modules, ${files.length} files, ${
      kib(total)
    }`,
  );
  console.log(
    `build:npm: browser/nomyo.mjs ${kib(browser.length)}, ${kib(await gzipSize(browser))} gzipped`,
  );
};

try {
  await main();
} catch (e) {
  console.error(`build:npm: FAILED: ${e instanceof Error ? e.message : String(e)}`);
  Deno.exit(1);
}
