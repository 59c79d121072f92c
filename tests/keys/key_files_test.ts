/**
 * Tests of the key files: save/load round trips, file modes under any umask, symbolic links,
 * permission and mismatch refusals, error messages without secrets, OpenSSL interoperability,
 * `loadOrCreateKeyPair`, zeroing of the PEM bytes, and the browser (`"Unavailable"`) path.
 */
import assert from "node:assert/strict";
import { Effect, Layer } from "effect";
import {
  SecureBytes,
  type SecureBytes as SecureBytesService,
} from "../../src/crypto/secure_bytes.ts";
import type { KeyError } from "../../src/errors.ts";
import type { KeyFileSystem } from "../../src/keys/file_system.ts";
import { makeFileSystemLoader, UNAVAILABLE_MESSAGE } from "../../src/keys/node_file_system.ts";
import { makeClientObservability } from "../../src/client/observability.ts";
import {
  loadKeyPair,
  loadOrCreateKeyPair,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  saveKeyPair,
} from "../../src/keys/key_files.ts";
import { KEY_DECRYPTION_FAILED_MESSAGE } from "../../src/keys/pkcs8_encrypted.ts";
import type { RsaKeyPair } from "../../src/keys/rsa_key.ts";
import { generateRsaKeyPair } from "../../src/keys/rsa_key_generation.ts";
import {
  assertNoSecrets,
  bodyProbes,
  failWith,
  live,
  openssl,
  succeed,
  twoKeyPairs,
  withTempDir,
} from "./_helpers.ts";
import { OPENSSL_MISSING, testNeeding } from "../_tools.ts";
import { captureConsole } from "../_helpers.ts";

const PASSWORD = "correct horse battery staple";
const WRONG_PASSWORD = "wrong horse battery staple";
/** Low PBKDF2 count for speed (the default is 600,000). */
const ITERATIONS = 10_000;
const FAST = { password: PASSWORD, iterations: ITERATIONS } as const;

/** Permission bits, without following a link. */
const modeOf = async (path: string): Promise<number> => {
  const mode = (await Deno.lstat(path)).mode;
  assert.ok(mode !== null, "no POSIX modes on this platform");
  return mode & 0o777;
};

const umask = (Deno as { umask?: (mask?: number) => number }).umask;

/**
 * Runs `fn` under `mask`; `false` (after a warning) when the runtime cannot set the umask
 * (`Deno.umask` missing, Windows, or no `--allow-sys`).
 */
const withUmask = async (mask: number, fn: () => Promise<void>): Promise<boolean> => {
  const skip = (why: string): false => {
    console.warn(
      `SKIPPED: ${why}; the umask 0o${mask.toString(8).padStart(3, "0")} case did not run`,
    );
    return false;
  };
  if (umask === undefined || Deno.build.os === "windows") return skip("Deno.umask is unavailable");
  let old: number;
  try {
    old = umask(mask);
  } catch (e) {
    assert.ok(e instanceof Deno.errors.NotCapable, `umask failed: ${String(e)}`);
    return skip("setting the umask needs --allow-sys");
  }
  try {
    assert.equal(umask(mask), mask);
    await fn();
  } finally {
    umask(old);
  }
  return true;
};

/** The loaded private key opens what the original public key sealed. */
const assertSameKey = async (original: RsaKeyPair, loaded: RsaKeyPair): Promise<void> => {
  assert.equal(loaded.publicKey.fingerprint, original.publicKey.fingerprint);
  const probe = crypto.getRandomValues(new Uint8Array(32));
  const sealed = await crypto.subtle.encrypt(
    { name: "RSA-OAEP" },
    original.publicKey.key,
    probe,
  );
  const opened = await crypto.subtle.decrypt({ name: "RSA-OAEP" }, loaded.privateKey, sealed);
  assert.deepEqual(new Uint8Array(opened), probe);
};

const listDir = async (dir: string): Promise<string[]> => {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
};

/** Silences and counts `console.warn` while `fn` runs. */
const captureWarnings = (fn: () => Promise<void>): Promise<string[]> =>
  captureConsole(["warn"], fn);

Deno.test("saveKeyPair() then loadKeyPair() round trips a plain PKCS#8 key pair", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const keyDir = `${dir}/nested/keys`;
    const saved = await captureWarnings(async () => {
      const files = await succeed(live(saveKeyPair(pair, keyDir)));
      assert.deepEqual(files, {
        privateKeyPath: `${keyDir}/${PRIVATE_KEY_FILE}`,
        publicKeyPath: `${keyDir}/${PUBLIC_KEY_FILE}`,
      });
    });
    assert.ok(saved.length <= 1);
    const text = await Deno.readTextFile(`${keyDir}/${PRIVATE_KEY_FILE}`);
    assert.match(text, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(await Deno.readTextFile(`${keyDir}/${PUBLIC_KEY_FILE}`), pair.publicKey.pem);
    assert.deepEqual(await listDir(keyDir), [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE]);

    const loaded = await succeed(live(loadKeyPair(`${keyDir}/${PRIVATE_KEY_FILE}`, {
      publicKeyPath: `${keyDir}/${PUBLIC_KEY_FILE}`,
    })));
    await assertSameKey(pair, loaded);
    assert.equal(loaded.privateKey.extractable, false);
    const extractable = await succeed(
      live(loadKeyPair(`${keyDir}/${PRIVATE_KEY_FILE}`, { extractable: true })),
    );
    assert.equal(extractable.privateKey.extractable, true);
  });
});

Deno.test("saveKeyPair() with a password writes encrypted PKCS#8 that loadKeyPair() opens", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const files = await succeed(live(saveKeyPair(pair, dir, FAST)));
    const text = await Deno.readTextFile(files.privateKeyPath);
    assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const loaded = await succeed(live(loadKeyPair(files.privateKeyPath, {
      publicKeyPath: files.publicKeyPath,
      password: PASSWORD,
    })));
    await assertSameKey(pair, loaded);
    const e = await failWith(live(loadKeyPair(files.privateKeyPath)), "PasswordRequired");
    assertNoSecrets(e, [PASSWORD, ...bodyProbes(text)]);
  });
});

Deno.test("saveKeyPair() creates the directory 0700, the private key 0600 and the public key 0644", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const files = await succeed(live(saveKeyPair(pair, `${dir}/a/keys`, FAST)));
    assert.equal(await modeOf(`${dir}/a/keys`), 0o700);
    assert.equal(await modeOf(files.privateKeyPath), 0o600);
    assert.equal(await modeOf(files.publicKeyPath), 0o644);
    // An existing directory keeps its mode.
    await Deno.chmod(`${dir}/a/keys`, 0o750);
    await succeed(live(saveKeyPair(pair, `${dir}/a/keys`, FAST)));
    assert.equal(await modeOf(`${dir}/a/keys`), 0o750);
  });
});

Deno.test("saveKeyPair() over existing 0644 files ends at 0600 and replaces the contents", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const privatePath = `${dir}/${PRIVATE_KEY_FILE}`;
    const publicPath = `${dir}/${PUBLIC_KEY_FILE}`;
    await Deno.writeTextFile(privatePath, "old private\n", { mode: 0o644 });
    await Deno.chmod(privatePath, 0o644);
    await Deno.writeTextFile(publicPath, "old public\n", { mode: 0o600 });
    await Deno.chmod(publicPath, 0o600);
    const before = (await Deno.lstat(privatePath)).ino;
    await succeed(live(saveKeyPair(pair, dir, FAST)));
    assert.equal(await modeOf(privatePath), 0o600);
    assert.equal(await modeOf(publicPath), 0o644);
    // A new file was renamed over the old one (not the old inode rewritten, then narrowed).
    assert.notEqual((await Deno.lstat(privatePath)).ino, before);
    assert.match(await Deno.readTextFile(privatePath), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.equal(await Deno.readTextFile(publicPath), pair.publicKey.pem);
    assert.deepEqual(await listDir(dir), [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE]);
  });
});

Deno.test("saveKeyPair() sets 0700, 0600 and 0644 whatever the umask (0, 077, 0277)", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const ran: boolean[] = [];
    for (const mask of [0, 0o077, 0o277]) {
      ran.push(
        await withUmask(mask, async () => {
          const keyDir = `${dir}/u${mask.toString(8)}`;
          const files = await succeed(live(saveKeyPair(pair, keyDir, FAST)));
          assert.equal(await modeOf(keyDir), 0o700, `directory under umask ${mask.toString(8)}`);
          assert.equal(
            await modeOf(files.privateKeyPath),
            0o600,
            `private, umask ${mask.toString(8)}`,
          );
          assert.equal(
            await modeOf(files.publicKeyPath),
            0o644,
            `public, umask ${mask.toString(8)}`,
          );
        }),
      );
    }
    assert.ok(ran.every((r) => r === ran[0]));
  });
});

Deno.test("loadKeyPair() refuses a private key file group or others can access", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const keyDir = `${dir}/my keys`;
    const files = await succeed(live(saveKeyPair(pair, keyDir, FAST)));
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602, 0o610]) {
      await Deno.chmod(files.privateKeyPath, mode);
      const e = await failWith(
        live(loadKeyPair(files.privateKeyPath, { password: PASSWORD })),
        "InsecurePermissions",
      );
      assert.ok(
        e.message.includes(`chmod 600 '${files.privateKeyPath}'`),
        `no fix in: ${e.message}`,
      );
      assert.ok(e.message.includes(`mode 0${mode.toString(8)}`), e.message);
      assertNoSecrets(e, [PASSWORD]);
    }
    for (const mode of [0o600, 0o400]) {
      await Deno.chmod(files.privateKeyPath, mode);
      await assertSameKey(
        pair,
        await succeed(live(loadKeyPair(files.privateKeyPath, { password: PASSWORD }))),
      );
    }
    // The public key file may be world-readable.
    assert.equal(await modeOf(files.publicKeyPath), 0o644);
  });
});

Deno.test("loadKeyPair() refuses a public key file of another key pair (Mismatch)", async () => {
  const [pair, other] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const files = await succeed(live(saveKeyPair(pair, dir, FAST)));
    const otherPublic = `${dir}/other_public.pem`;
    await Deno.writeTextFile(otherPublic, other.publicKey.pem);
    const e = await failWith(
      live(loadKeyPair(files.privateKeyPath, { publicKeyPath: otherPublic, password: PASSWORD })),
      "Mismatch",
    );
    assert.ok(e.message.includes(otherPublic) && e.message.includes(files.privateKeyPath));
    assertNoSecrets(e, [PASSWORD]);
    // Control: the right public key file loads.
    await succeed(
      live(loadKeyPair(files.privateKeyPath, {
        publicKeyPath: files.publicKeyPath,
        password: PASSWORD,
      })),
    );
  });
});

Deno.test("saveKeyPair() replaces a symbolic link at the target, never writes through it", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const victim = `${dir}/victim.txt`;
    await Deno.writeTextFile(victim, "not yours\n", { mode: 0o644 });
    await Deno.chmod(victim, 0o644);
    await Deno.mkdir(`${dir}/keys`);
    await Deno.symlink(victim, `${dir}/keys/${PRIVATE_KEY_FILE}`);
    await Deno.symlink(victim, `${dir}/keys/${PUBLIC_KEY_FILE}`);
    const files = await succeed(live(saveKeyPair(pair, `${dir}/keys`, FAST)));
    assert.equal(await Deno.readTextFile(victim), "not yours\n");
    assert.equal(await modeOf(victim), 0o644);
    for (
      const [path, mode] of [[files.privateKeyPath, 0o600], [files.publicKeyPath, 0o644]] as const
    ) {
      const stats = await Deno.lstat(path);
      assert.ok(stats.isFile && !stats.isSymlink, `${path} is still a link`);
      assert.equal(await modeOf(path), mode);
    }
    await succeed(live(loadKeyPair(files.privateKeyPath, { password: PASSWORD })));
  });
});

Deno.test("loadKeyPair() refuses a private key file that is a symbolic link", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const files = await succeed(live(saveKeyPair(pair, `${dir}/real`, FAST)));
    const link = `${dir}/link.pem`;
    await Deno.symlink(files.privateKeyPath, link);
    const e = await failWith(
      live(loadKeyPair(link, { password: PASSWORD })),
      "InsecurePermissions",
    );
    assert.ok(e.message.includes(link) && e.message.includes("symbolic link"), e.message);
    // Control: the file itself (0600) loads.
    await succeed(live(loadKeyPair(files.privateKeyPath, { password: PASSWORD })));
    // A symbolic link to the public key is fine: it is public.
    const publicLink = `${dir}/public_link.pem`;
    await Deno.symlink(files.publicKeyPath, publicLink);
    await succeed(
      live(loadKeyPair(files.privateKeyPath, { publicKeyPath: publicLink, password: PASSWORD })),
    );
  });
});

Deno.test("loadKeyPair() gives a wrong password and a corrupted file the same reason and message", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const files = await succeed(live(saveKeyPair(pair, dir, FAST)));
    const wrong = await failWith(
      live(loadKeyPair(files.privateKeyPath, { password: WRONG_PASSWORD })),
      "DecryptionFailed",
    );
    // Corrupt the last ciphertext block (base64 stays valid and canonical).
    const text = await Deno.readTextFile(files.privateKeyPath);
    let i = text.indexOf("\n-----END") - 12;
    while (text[i] === "\n") i--;
    const corrupted = text.slice(0, i) + (text[i] === "A" ? "B" : "A") + text.slice(i + 1);
    assert.notEqual(corrupted, text);
    await Deno.writeTextFile(files.privateKeyPath, corrupted);
    const bad = await failWith(
      live(loadKeyPair(files.privateKeyPath, { password: PASSWORD })),
      "DecryptionFailed",
    );
    assert.equal(bad.message, wrong.message);
    assert.equal(bad.message, KEY_DECRYPTION_FAILED_MESSAGE);
    for (const e of [wrong, bad]) {
      assertNoSecrets(e, [PASSWORD, WRONG_PASSWORD, ...bodyProbes(text)]);
    }
    assert.equal(await modeOf(files.privateKeyPath), 0o600);
  });
});

testNeeding(OPENSSL_MISSING)(
  "saveKeyPair() writes files that `openssl pkey` opens, encrypted and not",
  async () => {
    const [pair] = await twoKeyPairs();
    await withTempDir(async (dir) => {
      const cases = [
        { keyDir: `${dir}/encrypted`, options: FAST },
        { keyDir: `${dir}/plain`, options: {} },
      ];
      for (const { keyDir, options } of cases) {
        await captureWarnings(async () => {
          await succeed(live(saveKeyPair(pair, keyDir, options)));
        });
        const privatePath = `${keyDir}/${PRIVATE_KEY_FILE}`;
        const check = await openssl([
          "pkey",
          "-in",
          privatePath,
          "-passin",
          `pass:${PASSWORD}`,
          "-noout",
        ]);
        assert.equal(check.code, 0, check.stderr);
        // OpenSSL derives the same public key as the public key file.
        const pub = await openssl([
          "pkey",
          "-in",
          privatePath,
          "-passin",
          `pass:${PASSWORD}`,
          "-pubout",
        ]);
        assert.equal(pub.code, 0, pub.stderr);
        assert.equal(pub.stdout, await Deno.readTextFile(`${keyDir}/${PUBLIC_KEY_FILE}`));
      }
      // Control: openssl does refuse the encrypted file with another password.
      const refused = await openssl([
        "pkey",
        "-in",
        `${dir}/encrypted/${PRIVATE_KEY_FILE}`,
        "-passin",
        `pass:${WRONG_PASSWORD}`,
        "-noout",
      ]);
      assert.notEqual(refused.code, 0);
    });
  },
);

Deno.test("loadOrCreateKeyPair() creates a key pair, then loads the same one", async () => {
  await withTempDir(async (dir) => {
    const keyDir = `${dir}/client_keys`;
    const options = { ...FAST, bits: 2048 } as const;
    const first = await succeed(live(loadOrCreateKeyPair(keyDir, options)));
    assert.equal(first.publicKey.bits, 2048);
    assert.equal(first.privateKey.extractable, false);
    assert.equal(await modeOf(keyDir), 0o700);
    assert.equal(await modeOf(`${keyDir}/${PRIVATE_KEY_FILE}`), 0o600);
    assert.equal(await modeOf(`${keyDir}/${PUBLIC_KEY_FILE}`), 0o644);
    const privateText = await Deno.readTextFile(`${keyDir}/${PRIVATE_KEY_FILE}`);
    assert.match(privateText, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.equal(await Deno.readTextFile(`${keyDir}/${PUBLIC_KEY_FILE}`), first.publicKey.pem);

    const second = await succeed(live(loadOrCreateKeyPair(keyDir, options)));
    await assertSameKey(first, second);
    assert.equal(await Deno.readTextFile(`${keyDir}/${PRIVATE_KEY_FILE}`), privateText);

    // Without the public key file, the private key alone is loaded (not replaced).
    await Deno.remove(`${keyDir}/${PUBLIC_KEY_FILE}`);
    const third = await succeed(live(loadOrCreateKeyPair(keyDir, options)));
    assert.equal(third.publicKey.fingerprint, first.publicKey.fingerprint);
    assert.equal(await Deno.readTextFile(`${keyDir}/${PRIVATE_KEY_FILE}`), privateText);
  });
});

Deno.test("loadOrCreateKeyPair() never overwrites an existing private key it cannot load", async () => {
  await withTempDir(async (dir) => {
    const options = { ...FAST, bits: 2048 } as const;
    await succeed(live(loadOrCreateKeyPair(dir, options)));
    const privatePath = `${dir}/${PRIVATE_KEY_FILE}`;
    const before = await Deno.readTextFile(privatePath);
    const wrong = await failWith(
      live(loadOrCreateKeyPair(dir, { ...options, password: WRONG_PASSWORD })),
      "DecryptionFailed",
    );
    assertNoSecrets(wrong, [PASSWORD, WRONG_PASSWORD]);
    await Deno.chmod(privatePath, 0o644);
    await failWith(live(loadOrCreateKeyPair(dir, options)), "InsecurePermissions");
    assert.equal(await Deno.readTextFile(privatePath), before);

    // A dangling symbolic link counts as existing: refused, and its target is not created.
    const linkDir = `${dir}/linked`;
    await Deno.mkdir(linkDir);
    await Deno.symlink(`${dir}/elsewhere.pem`, `${linkDir}/${PRIVATE_KEY_FILE}`);
    await failWith(live(loadOrCreateKeyPair(linkDir, options)), "InsecurePermissions");
    await assert.rejects(Deno.lstat(`${dir}/elsewhere.pem`), Deno.errors.NotFound);
  });
});

Deno.test("saveKeyPair() and loadOrCreateKeyPair() refuse a short password before writing anything", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const short = "s3cr3t!";
    const e1 = await failWith(
      live(saveKeyPair(pair, `${dir}/a`, { password: short, iterations: ITERATIONS })),
      "PasswordTooShort",
    );
    const e2 = await failWith(
      live(
        loadOrCreateKeyPair(`${dir}/b`, { password: short, iterations: ITERATIONS, bits: 2048 }),
      ),
      "PasswordTooShort",
    );
    for (const e of [e1, e2]) assertNoSecrets(e, [short]);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("saveKeyPair() refuses a non-extractable key pair before writing anything", async () => {
  const pair = await Effect.runPromise(generateRsaKeyPair({ bits: 2048, extractable: false }));
  await withTempDir(async (dir) => {
    await failWith(live(saveKeyPair(pair, `${dir}/keys`, FAST)), "NotExtractable");
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("loadKeyPair() and saveKeyPair() report I/O failures as Io, naming the path", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const missing = `${dir}/missing.pem`;
    const e1 = await failWith(live(loadKeyPair(missing)), "Io");
    assert.ok(e1.message.includes(missing) && e1.message.includes("no such file"), e1.message);

    const e2 = await failWith(live(loadKeyPair(dir)), "Io");
    assert.ok(e2.message.includes(dir) && e2.message.includes("not a regular file"), e2.message);

    const files = await succeed(live(saveKeyPair(pair, `${dir}/keys`, FAST)));
    const e3 = await failWith(
      live(loadKeyPair(files.privateKeyPath, { publicKeyPath: missing, password: PASSWORD })),
      "Io",
    );
    assert.ok(e3.message.includes(missing), e3.message);

    const notADir = `${dir}/file`;
    await Deno.writeTextFile(notADir, "x");
    const e4 = await failWith(live(saveKeyPair(pair, notADir, FAST)), "Io");
    assert.ok(e4.message.includes(notADir), e4.message);

    // The public target is a directory: the rename fails, no temporary file is left behind.
    const blocked = `${dir}/blocked`;
    await Deno.mkdir(`${blocked}/${PUBLIC_KEY_FILE}`, { recursive: true });
    await Deno.writeTextFile(`${blocked}/${PUBLIC_KEY_FILE}/x`, "x");
    const e5 = await failWith(live(saveKeyPair(pair, blocked, FAST)), "Io");
    assert.ok(e5.message.includes(`${blocked}/${PUBLIC_KEY_FILE}`), e5.message);
    assert.ok(
      (await listDir(blocked)).every((n) => !n.endsWith(".tmp")),
      "a temporary file is left",
    );
    for (const e of [e1, e2, e3, e4, e5]) assertNoSecrets(e, [PASSWORD]);
  });
});

Deno.test("loadKeyPair() never puts file contents in its errors", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/garbage.pem`;
    const secret = "TOPSECRETPROBEVALUE";
    await Deno.writeTextFile(
      path,
      `-----BEGIN PRIVATE KEY-----\n${secret}AAAA\n-----END PRIVATE KEY-----\n`,
      { mode: 0o600 },
    );
    const e1 = await failWith(live(loadKeyPair(path)), "Malformed");
    await Deno.writeTextFile(path, `${secret}\n`);
    const e2 = await failWith(live(loadKeyPair(path)), "Malformed");
    // Oversized: read up to the PEM limit only, then refused.
    await Deno.writeFile(path, new Uint8Array(1 << 20).fill(0x41));
    const e3 = await failWith(live(loadKeyPair(path)), "Malformed");
    assert.match(e3.message, /larger/);
    for (const e of [e1, e2, e3]) assertNoSecrets(e, [secret, "AAAAAAAAAAAA"]);
  });
});

Deno.test("saveKeyPair() and loadKeyPair() zero the private PEM bytes they held", async () => {
  const [pair] = await twoKeyPairs();
  const lent: Uint8Array[] = [];
  const heldData: boolean[] = [];
  const release = (b: Uint8Array) =>
    Effect.sync(() => {
      heldData.push(b.some((x) => x !== 0));
      b.fill(0);
    });
  const recording: SecureBytesService = {
    acquire: (make) => Effect.acquireRelease(Effect.tap(make, (b) => void lent.push(b)), release),
    lend: (bytes) => recording.acquire(Effect.succeed(bytes)),
    use: (make, use) =>
      Effect.acquireUseRelease(Effect.tap(make, (b) => void lent.push(b)), use, release),
  };
  const layer = Layer.succeed(SecureBytes, recording);
  await withTempDir(async (dir) => {
    const files = await succeed(Effect.provide(saveKeyPair(pair, dir, FAST), layer));
    const size = (await Deno.stat(files.privateKeyPath)).size;
    assert.ok(lent.some((b) => b.length === size), "the written PEM was not lent to a scope");
    const savedCount = lent.length;
    await succeed(
      Effect.provide(loadKeyPair(files.privateKeyPath, { password: PASSWORD }), layer),
    );
    assert.ok(
      lent.slice(savedCount).some((b) => b.length === size),
      "the PEM read was not lent to a scope",
    );
    assert.ok(heldData.every((x) => x), "a lent buffer was empty");
    assert.equal(heldData.length, lent.length, "a lent buffer was never released");
    for (const b of lent) assert.ok(b.every((x) => x === 0), "a PEM buffer was not zeroed");
  });
});

Deno.test("saveKeyPair() warns once per client about an unencrypted private key, to its logger", async () => {
  const [pair] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const lines: string[] = [];
    const logger = {
      error: (m: string) => lines.push(`error ${m}`),
      warn: (m: string) => lines.push(`warn ${m}`),
      info: (m: string) => lines.push(`info ${m}`),
      debug: (m: string) => lines.push(`debug ${m}`),
    };
    const client = makeClientObservability({ logger, logLevel: "warn" });
    const other = makeClientObservability({ logger, logLevel: "warn" });
    const printed = await captureConsole(["log", "warn", "error", "info", "debug"], async () => {
      await succeed(client.within(live(saveKeyPair(pair, `${dir}/e`, FAST))));
      assert.deepEqual(lines, [], "an encrypted key is not warned about");
      await succeed(client.within(live(saveKeyPair(pair, `${dir}/p1`))));
      await succeed(client.within(live(saveKeyPair(pair, `${dir}/p2`))));
      assert.equal(lines.length, 1, "once per client");
      await succeed(other.within(live(saveKeyPair(pair, `${dir}/p3`))));
    });
    assert.deepEqual(printed, [], "nothing reached the console");
    assert.equal(lines.length, 2, "another client warns again");
    assert.ok(lines[0]!.startsWith("warn ") && lines[0]!.includes("unencrypted"), lines[0]);
    assert.ok(lines[0]!.includes(`${dir}/p1`) && lines[1]!.includes(`${dir}/p3`), lines[1]);
  });
});

Deno.test("makeFileSystemLoader() fails with Unavailable when node:fs cannot be imported", async () => {
  let calls = 0;
  const load = makeFileSystemLoader((): Promise<KeyFileSystem> => {
    calls++;
    return Promise.reject(new TypeError('Failed to resolve module specifier "node:fs/promises"'));
  });
  for (let i = 0; i < 2; i++) {
    const e: KeyError = await failWith(load, "Unavailable");
    assert.equal(e.message, UNAVAILABLE_MESSAGE);
    assert.match(e.message, /browsers/);
    assert.match(e.message, /keyDir/);
  }
  assert.equal(calls, 1, "the import is attempted once");
});
