/**
 * Crash safety of the key directory: a process saving key pairs is killed with SIGKILL at
 * seeded random points; a `keyDir` load afterwards must work every time (the public key is
 * repaired from the private one) and leave no temporary file. Plus the crash states made by
 * hand, and the rules of which temporary files are removed.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { Effect } from "effect";
import { removeStaleTemps, STALE_TEMP_MILLIS } from "../../src/keys/atomic_write.ts";
import type { KeyFileSystem } from "../../src/keys/file_system.ts";
import { importNodeFileSystem } from "../../src/keys/node_file_system.ts";
import {
  loadKeyPair,
  loadOrCreateKeyPair,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  saveKeyPair,
} from "../../src/keys/key_files.ts";
import { prng } from "../_helpers.ts";
import {
  assertNoSecrets,
  failWith,
  live,
  names,
  succeed,
  twoKeyPairs,
  withTempDir,
} from "./_helpers.ts";

const PASSWORD = "crash-test-password";
const FAST = { password: PASSWORD, iterations: 1000 } as const;

const temps = async (dir: string): Promise<string[]> =>
  (await names(dir)).filter((n) => n.endsWith(".tmp"));

const utf8 = new TextEncoder();

/** Splits a text stream into lines. */
const splitLines = (): TransformStream<string, string> => {
  let pending = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (pending + chunk).split("\n");
      pending = parts.pop()!;
      for (const part of parts) controller.enqueue(part);
    },
  });
};

/** A pid that is certainly not running (above Linux's pid_max). */
const DEAD_PID = 4_194_305;

Deno.test("loadOrCreateKeyPair() repairs a public key left mismatched or missing by a crash", async () => {
  const [a, b] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    // A save of `b` killed between its renames: b's private key, a's public key.
    const aDir = `${dir}/a`;
    await succeed(live(saveKeyPair(a!, aDir, FAST)));
    await succeed(live(saveKeyPair(b!, dir, FAST)));
    await Deno.copyFile(`${aDir}/${PUBLIC_KEY_FILE}`, `${dir}/${PUBLIC_KEY_FILE}`);
    await Deno.remove(aDir, { recursive: true });
    // The explicit API still refuses the mismatch: there the caller named both files.
    const refused = await failWith(
      live(loadKeyPair(`${dir}/${PRIVATE_KEY_FILE}`, {
        publicKeyPath: `${dir}/${PUBLIC_KEY_FILE}`,
        password: PASSWORD,
      })),
      "Mismatch",
    );
    assertNoSecrets(refused, [PASSWORD, b!.publicKey.pem.slice(30, 90)]);
    const loaded = await succeed(live(loadOrCreateKeyPair(dir, FAST)));
    assert.equal(loaded.publicKey.fingerprint, b!.publicKey.fingerprint);
    assert.equal(await Deno.readTextFile(`${dir}/${PUBLIC_KEY_FILE}`), b!.publicKey.pem);
    assert.equal((await Deno.stat(`${dir}/${PUBLIC_KEY_FILE}`)).mode! & 0o777, 0o644);
    // A first save killed after the private key: no public key at all; or a garbled one.
    for (const broken of [undefined, "not a PEM"]) {
      await Deno.remove(`${dir}/${PUBLIC_KEY_FILE}`);
      if (broken !== undefined) await Deno.writeTextFile(`${dir}/${PUBLIC_KEY_FILE}`, broken);
      await succeed(live(loadOrCreateKeyPair(dir, FAST)));
      assert.equal(await Deno.readTextFile(`${dir}/${PUBLIC_KEY_FILE}`), b!.publicKey.pem);
    }
    assert.deepEqual(await names(dir), [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE]);
  });
});

Deno.test("removeStaleTemps() removes only stale temporary files of the library", async () => {
  const api = await importNodeFileSystem();
  const LIVE_PID = 4_194_306;
  // Which processes run, as the real check would tell (it needs --allow-run under Deno).
  const fs: KeyFileSystem = {
    ...api,
    isProcessAlive: (pid) => pid === LIVE_PID ? true : pid === DEAD_PID ? false : undefined,
  };
  const [a] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    await succeed(live(saveKeyPair(a!, dir, FAST)));
    const hex = "0123456789abcdef";
    const old = new Date(Date.now() - STALE_TEMP_MILLIS - 60_000);
    const files: Record<string, { readonly stale: boolean; readonly old?: boolean }> = {
      [`.private_key.pem.${DEAD_PID}-${hex}.tmp`]: { stale: true }, // its writer is gone
      [`.public_key.pem.${DEAD_PID}-${hex}.tmp`]: { stale: true },
      [`.private_key.pem.${process.pid}-${hex}.tmp`]: { stale: true }, // our pid, not ours
      [`.private_key.pem.${LIVE_PID}-${hex}.tmp`]: { stale: false }, // a live writer
      [`.public_key.pem.${LIVE_PID}-fedcba9876543210.tmp`]: { stale: true, old: true },
      [`.public_key.pem.12345-${hex}.tmp`]: { stale: false }, // cannot tell, fresh
      [`.private_key.pem.12345-${hex}.tmp`]: { stale: true, old: true }, // cannot tell, old
      [`.private_key.pem.${hex}.tmp`]: { stale: false }, // older version, fresh
      [`.public_key.pem.${hex}.tmp`]: { stale: true, old: true }, // older version, old
      [`.private_key.pem.${DEAD_PID}-${hex}.tmp.keep`]: { stale: false }, // not the pattern
      [`private_key.pem.${DEAD_PID}-${hex}.tmp`]: { stale: false },
      [`.other.pem.${DEAD_PID}-${hex}.tmp`]: { stale: false },
    };
    for (const [name, { old: isOld }] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, "key material");
      if (isOld === true) await Deno.utime(`${dir}/${name}`, old, old);
    }
    // A symbolic link with a temporary name is never followed nor removed.
    const outside = `${dir}/outside.txt`;
    await Deno.writeTextFile(outside, "not the library's");
    const link = `.private_key.pem.${DEAD_PID}-aaaaaaaaaaaaaaaa.tmp`;
    await Deno.symlink(outside, `${dir}/${link}`);
    // A directory with a temporary name is left alone too.
    await Deno.mkdir(`${dir}/.public_key.pem.${DEAD_PID}-bbbbbbbbbbbbbbbb.tmp`);

    assert.equal(await Effect.runPromise(removeStaleTemps(fs, dir)), 6);
    const left = new Set(await names(dir));
    for (const [name, { stale }] of Object.entries(files)) {
      assert.equal(left.has(name), !stale, `${name} ${stale ? "was kept" : "was removed"}`);
    }
    assert.ok(left.has(link) && left.has("outside.txt"));
    assert.equal(await Deno.readTextFile(outside), "not the library's");
    assert.ok(left.has(PRIVATE_KEY_FILE) && left.has(PUBLIC_KEY_FILE));
  });
});

Deno.test("a keyDir load after SIGKILL at any point of a save works and leaves no temporary file", async () => {
  const RUNS = 40;
  const next = prng(0x5eed);
  await withTempDir(async (dir) => {
    const pairs = await twoKeyPairs();
    const sources = await Promise.all(pairs.map(async (pair, i) => {
      const source = `${dir}/source${i}`;
      await succeed(live(saveKeyPair(pair, source, {})));
      return source;
    }));
    const fingerprints = new Set(pairs.map((p) => p.publicKey.fingerprint));
    const target = `${dir}/target`;
    // A committed pair is there from the start: a kill before the first save's commit point
    // (likely on a loaded machine) would otherwise leave no pair, and the loader would rightly
    // make a new one, which is not what this test checks.
    await succeed(live(saveKeyPair(pairs[0]!, target, FAST)));
    const loop = new URL("./_save_loop.ts", import.meta.url).pathname;
    const loader = new URL("./_load_dir.ts", import.meta.url).pathname;
    const deadline = Date.now() + 120_000;
    /** `deno run` of a child script that reads `dir` and writes `target`, nothing else. */
    const denoRun = (...args: string[]) => [
      "run",
      "--no-check",
      "--quiet",
      `--allow-read=${dir}`,
      `--allow-write=${target}`,
      ...args,
    ];
    const loaderProcess = new Deno.Command("deno", {
      args: denoRun("--allow-run", loader, PASSWORD),
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const writer = loaderProcess.stdin.getWriter();
    const lines = loaderProcess.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      splitLines(),
    ).getReader();
    let cutMidSave = 0;
    for (let run = 0; run < RUNS && Date.now() < deadline; run++) {
      const child = new Deno.Command("deno", {
        args: denoRun(loop, target, ...sources),
        stdout: "piped",
        stderr: "null",
      }).spawn();
      // Wait for the first save to start, then kill after a seeded delay (0-120 ms: a save
      // with 1,000 PBKDF2 iterations takes a few milliseconds, so every phase is hit).
      const reader = child.stdout.getReader();
      const first = await reader.read();
      assert.ok(!first.done, "the save loop did not start");
      await new Promise((r) => setTimeout(r, Math.floor(next() * 120)));
      child.kill("SIGKILL");
      await reader.cancel();
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL", `run ${run}: the save loop ended by itself`);
      if ((await temps(target)).length > 0) cutMidSave++;

      // A fresh process starts on the directory, as a client with keyDir would.
      await writer.write(utf8.encode(`${target}\n`));
      const line = await lines.read();
      assert.ok(!line.done, "the loader ended");
      const result = JSON.parse(line.value);
      assert.ok(fingerprints.has(result.fingerprint), `run ${run}: ${line.value}`);
      const onDisk = await succeed(live(loadKeyPair(`${target}/${PRIVATE_KEY_FILE}`, {
        publicKeyPath: `${target}/${PUBLIC_KEY_FILE}`,
        password: PASSWORD,
      })));
      assert.equal(onDisk.publicKey.fingerprint, result.fingerprint, `run ${run}: not repaired`);
      assert.deepEqual(await temps(target), [], `run ${run}: temporary files left`);
    }
    await writer.close();
    await lines.cancel();
    await loaderProcess.status;
    // The kills must have landed inside saves, or the test proves nothing.
    assert.ok(cutMidSave > 0, "no kill interrupted a save");
  });
});

Deno.test("removeStaleTemps() of a missing directory removes nothing and does not fail", async () => {
  const fs = await importNodeFileSystem();
  assert.equal(await Effect.runPromise(removeStaleTemps(fs, "/nonexistent/nomyo/dir")), 0);
});
