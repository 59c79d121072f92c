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
 * The build tools live in `dist/.npm-build/` (and `dist/.npm-build-<package>/`) (git-ignored), installed there with `npm`, never
 * dependencies of the package. The type packages the sources are compiled against are the
 * versions deno.lock locked for the tests.
 *
 * Then the same for each other package of the workspace listed in {@linkcode PACKAGES}
 * (`packages/effect4` → `dist/npm-effect4/`): its own modules only, its workspace dependencies
 * (`@nomyo/client`) as npm dependencies on their version, compiled against the tarball of the
 * package built before it.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-run .ci/npm/build.ts [package dir…]
 *
 * @module
 */

/** The build-time tools, pinned for a reproducible build. */
const TOOLS: Readonly<Record<string, string>> = {
  typescript: "5.9.3",
  "@types/node": "20.19.43",
};

/** How one package of the workspace becomes an npm package. */
interface PackageSpec {
  /** Output folder, relative to the repository. */
  readonly outDir: string;
  /** npm packages of the import map that are `dependencies` (never bundled). */
  readonly dependencies: ReadonlyArray<string>;
  /** npm packages of the import map that are optional `peerDependencies`. */
  readonly optionalPeers: ReadonlyArray<string>;
  /** Workspace packages it imports by name: `dependencies` on their version. */
  readonly workspaceDependencies: ReadonlyArray<string>;
  /** Whether to add the single-file browser build of its main entry point. */
  readonly browser: boolean;
  readonly description: string;
  readonly keywords: ReadonlyArray<string>;
}

/** The workspace's packages, by folder; built in this order (a dependency first). */
const PACKAGES: Readonly<Record<string, PackageSpec>> = {
  ".": {
    outDir: "dist/npm",
    dependencies: ["effect", "@effect/platform"],
    optionalPeers: ["@effect/ai"],
    workspaceDependencies: [],
    browser: true,
    description:
      "OpenAI-compatible chat completions, end-to-end encrypted (AES-256-GCM, RSA-OAEP-SHA256) for NOMYO secure inference routers; Effect services and a Promise API",
    keywords: ["nomyo", "openai", "encryption", "e2ee", "effect", "llm", "webcrypto"],
  },
  "packages/effect4": {
    outDir: "dist/npm-effect4",
    dependencies: ["effect"],
    optionalPeers: [],
    workspaceDependencies: ["@nomyo/client"],
    browser: false,
    description:
      "The end-to-end encrypted NOMYO client (@nomyo/client) as an Effect 4 service: create, a Stream of chunks, scoped disposal, typed errors",
    keywords: ["nomyo", "openai", "encryption", "e2ee", "effect", "effect4", "llm"],
  },
};

/** Oldest Node.js the package runs on (CI runs 20 and 24). */
const NODE_ENGINE = ">=20";

const INSTALL_TIMEOUT_MS = 300_000;
const COMPILE_TIMEOUT_MS = 300_000;
const BUNDLE_TIMEOUT_MS = 180_000;

const root = new URL("../../", import.meta.url);
const rootPath = decodeURIComponent(root.pathname).replace(/\/$/, "");

interface DenoJson {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly exports: string | Readonly<Record<string, string>>;
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

/** The version deno.lock resolved for `name` at `range` (the tests ran against it). */
const lockedVersion = (
  lock: { specifiers?: Record<string, string> },
  name: string,
  range: string,
): string => {
  const specifiers = lock.specifiers ?? {};
  // Deno writes `^0.97.0` as `0.97`: the exact key first, then the same major.minor.
  const exact = specifiers[`npm:${name}@${range}`];
  if (exact !== undefined) return exact.split("_")[0]!;
  const wanted = /^\^?(\d+)\.(\d+)/.exec(range);
  for (const [specifier, resolved] of Object.entries(specifiers)) {
    if (!specifier.startsWith(`npm:${name}@`)) continue;
    const version = resolved.split("_")[0]!;
    const [major, minor] = version.split(".");
    if (wanted !== null && major === wanted[1] && (major !== "0" || minor === wanted[2])) {
      return version;
    }
  }
  return fail(`Cannot build: deno.lock has no version of ${name}@${range}`);
};

/** Installs the tools and the type packages in `buildDir`, unless already there. */
const installToolchain = async (
  buildDir: string,
  versions: Readonly<Record<string, string>>,
  fingerprint = "",
): Promise<void> => {
  await Deno.mkdir(buildDir, { recursive: true });
  const manifest = JSON.stringify(
    { private: true, type: "module", dependencies: versions },
    null,
    2,
  ) + "\n";
  const stamp = `${buildDir}/node_modules/.nomyo-toolchain.json`;
  const installed = await Deno.readTextFile(stamp).catch(() => "");
  if (installed === manifest + fingerprint) return;
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
  await Deno.writeTextFile(stamp, manifest + fingerprint);
};

/**
 * The modules of `entry`'s module graph inside `packageDir`, as paths relative to it. Modules
 * elsewhere in the repository belong to a workspace dependency, imported by name.
 */
const localModules = async (
  packageDir: string,
  entry: string,
): Promise<ReadonlyArray<string>> => {
  const info = JSON.parse(
    await run(Deno.execPath(), ["info", "--json", entry], {
      cwd: packageDir,
      timeoutMs: COMPILE_TIMEOUT_MS,
    }),
  ) as { modules?: ReadonlyArray<{ specifier?: string }> };
  const prefix = `file://${encodeURI(packageDir)}/`;
  const nested = Object.keys(PACKAGES).filter((dir) => dir !== ".").map((dir) =>
    `file://${encodeURI(`${rootPath}/${dir}`)}/`
  ).filter((other) => other !== prefix);
  return (info.modules ?? [])
    .map((m) => m.specifier ?? "")
    .filter((s) => s.startsWith(prefix) && !nested.some((other) => s.startsWith(other)))
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

/** deno.json's `exports`, as a map (a string is the `"."` entry). */
const exportsOf = (deno: DenoJson): ReadonlyArray<[string, string]> =>
  typeof deno.exports === "string" ? [[".", deno.exports]] : Object.entries(deno.exports);

/** `npm pack` of a built package into `dir`; returns the tarball's path. */
const pack = async (packageOut: string, dir: string): Promise<string> => {
  const name = (await run("npm", ["pack", "--silent", "--pack-destination", dir, packageOut], {
    cwd: rootPath,
    timeoutMs: INSTALL_TIMEOUT_MS,
  })).trim().split("\n").at(-1) ?? "";
  return name === ""
    ? fail(`Cannot build: npm pack ${packageOut} named no tarball`)
    : `${dir}/${name}`;
};

/** Builds the package in `dir` (a key of {@linkcode PACKAGES}) into its `outDir`. */
const buildPackage = async (dir: string, lock: LockJson): Promise<void> => {
  const spec = PACKAGES[dir] ?? fail(`Cannot build: no npm package is described for ${dir}`);
  const packageDir = dir === "." ? rootPath : `${rootPath}/${dir}`;
  const outDir = `${rootPath}/${spec.outDir}`;
  const buildDir = `${rootPath}/dist/.npm-build${dir === "." ? "" : `-${dir.split("/").at(-1)}`}`;
  const stageDir = `${buildDir}/stage`;
  const deno = await readJson(`${packageDir}/deno.json`) as DenoJson;

  // The workspace dependencies, by name: their npm version and the tarball to compile against.
  const workspace: Record<string, string> = {};
  const tarballs: Record<string, string> = {};
  let fingerprint = "";
  for (const name of spec.workspaceDependencies) {
    const other = await workspacePackage(name);
    const built = await readJson(`${rootPath}/${other.outDir}/package.json`).catch(() =>
      fail(`Cannot build ${dir}: ${name} is not built yet (${other.outDir}/)`)
    ) as { version: string };
    workspace[name] = `^${built.version}`;
    await Deno.mkdir(buildDir, { recursive: true });
    const tarball = await pack(`./${other.outDir}`, buildDir);
    tarballs[name] = `file:${tarball}`;
    // A rebuilt dependency is installed again, though its path is the same.
    const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(tarball));
    fingerprint += `${name} ${
      Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("")
    }\n`;
  }
  const typeVersions = Object.fromEntries(
    [...spec.dependencies, ...spec.optionalPeers].map((
      name,
    ) => [name, lockedVersion(lock, name, rangeOf(deno, name))]),
  );
  await installToolchain(buildDir, { ...TOOLS, ...typeVersions, ...tarballs }, fingerprint);

  // Stage the entry points' own modules, keeping their paths.
  const entries = exportsOf(deno);
  const modules = new Set<string>();
  for (const [, path] of entries) {
    for (const module of await localModules(packageDir, path)) modules.add(module);
  }
  await Deno.remove(stageDir, { recursive: true }).catch(() => {});
  for (const module of modules) {
    const target = `${stageDir}/${module}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(`${packageDir}/${module}`, target);
  }

  // tsc, with deno.json's strictness; the Node types are for ./testing and ./proxy (node:http).
  const rootDeno = await readJson(`${rootPath}/deno.json`) as DenoJson;
  const tsconfig = {
    compilerOptions: {
      ...rootDeno.compilerOptions,
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

  // package.json: the exports map mirrors deno.json's.
  const exportsMap: Record<string, unknown> = {};
  for (const [key, path] of entries) {
    exportsMap[key] = { types: `${stem(path)}.d.ts`, import: `${stem(path)}.js` };
  }
  if (spec.browser) {
    // The single-file browser build of the main entry point, Effect inside.
    const mainEntry = entries.find(([key]) => key === ".")?.[1] ??
      fail(`Cannot build: ${dir}/deno.json exports no "."`);
    await Deno.mkdir(`${outDir}/browser`, { recursive: true });
    await run(Deno.execPath(), [
      "bundle",
      "--platform",
      "browser",
      "--minify",
      "-o",
      `${outDir}/browser/nomyo.mjs`,
      mainEntry,
    ], { cwd: packageDir, timeoutMs: BUNDLE_TIMEOUT_MS });
    await Deno.writeTextFile(
      `${outDir}/browser/nomyo.d.mts`,
      `/** Types of browser/nomyo.mjs: the main entry point's (Effect's come from \`effect\`). */\n` +
        `export * from "../${stem(mainEntry).replace(/^\.\//, "")}.js";\n`,
    );
    exportsMap["./browser"] = { types: "./browser/nomyo.d.mts", import: "./browser/nomyo.mjs" };
  }
  exportsMap["./package.json"] = "./package.json";
  const optional = spec.optionalPeers.length > 0;
  const packageJson = {
    name: deno.name,
    version: deno.version,
    description: spec.description,
    license: deno.license,
    type: "module",
    exports: exportsMap,
    // No module runs code on import beyond its own definitions.
    sideEffects: false,
    engines: { node: NODE_ENGINE },
    dependencies: {
      ...workspace,
      ...Object.fromEntries(spec.dependencies.map((name) => [name, rangeOf(deno, name)])),
    },
    ...(optional
      ? {
        peerDependencies: Object.fromEntries(
          spec.optionalPeers.map((name) => [name, rangeOf(deno, name)]),
        ),
        peerDependenciesMeta: Object.fromEntries(
          spec.optionalPeers.map((name) => [name, { optional: true }]),
        ),
      }
      : {}),
    keywords: spec.keywords,
  };
  await Deno.writeTextFile(`${outDir}/package.json`, JSON.stringify(packageJson, null, 2) + "\n");
  await Deno.copyFile(`${packageDir}/README.md`, `${outDir}/README.md`);
  await Deno.copyFile(`${packageDir}/LICENSE`, `${outDir}/LICENSE`);

  const files = await walk(outDir);
  let total = 0;
  for (const file of files) total += (await Deno.stat(file)).size;
  console.log(
    `build:npm: ${spec.outDir}/ ${deno.name}@${deno.version}: ${modules.size} modules, ${files.length} files, ${
      kib(total)
    }`,
  );
  if (spec.browser) {
    const browser = await Deno.readFile(`${outDir}/browser/nomyo.mjs`);
    console.log(
      `build:npm: browser/nomyo.mjs ${kib(browser.length)}, ${
        kib(await gzipSize(browser))
      } gzipped`,
    );
  }
};

/** The spec of the workspace package named `name` in its deno.json. */
const workspacePackage = async (name: string): Promise<PackageSpec> => {
  for (const [dir, spec] of Object.entries(PACKAGES)) {
    const deno = await readJson(`${rootPath}/${dir}/deno.json`) as DenoJson;
    if (deno.name === name) return spec;
  }
  return fail(`Cannot build: ${name} is no package of the workspace`);
};

type LockJson = { readonly specifiers?: Record<string, string> };

const main = async (): Promise<void> => {
  const lock = await readJson(`${rootPath}/deno.lock`) as LockJson;
  // No argument: every package, in PACKAGES' order (a workspace dependency first).
  const wanted = Deno.args.length > 0
    ? Deno.args.map((a) => a.replace(/\/+$/, "").replace(/^\.\/(?=.)/, ""))
    : Object.keys(PACKAGES);
  for (const dir of wanted) await buildPackage(dir, lock);
};

try {
  await main();
} catch (e) {
  console.error(`build:npm: FAILED: ${e instanceof Error ? e.message : String(e)}`);
  Deno.exit(1);
}
