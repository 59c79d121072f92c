/**
 * The key files take their file system from context (`KeyFileSystem`): fakes built on the real
 * one fail a rename, fill the disk, or record every call, and the key files must show it.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import type { SecureBytes } from "../../src/crypto/secure_bytes.ts";
import { type KeyFileHandle, KeyFileSystem } from "../../src/keys/file_system.ts";
import {
  loadKeyPair,
  loadOrCreateKeyPair,
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  saveKeyPair,
} from "../../src/keys/key_files.ts";
import { importNodeFileSystem, KeyFileSystemLive } from "../../src/keys/node_file_system.ts";
import { failWith, live, names, succeed, twoKeyPairs, withTempDir } from "./_helpers.ts";

const FAST = { password: "fake-fs-password", iterations: 1000 } as const;

const run = <A, E>(
  eff: Effect.Effect<A, E, SecureBytes>,
  fs?: KeyFileSystem,
): Effect.Effect<A, E> => {
  const withBytes = live(eff);
  return fs === undefined ? withBytes : Effect.provideService(withBytes, KeyFileSystem, fs);
};

const nodeError = (code: string): Error => Object.assign(new Error(code), { code });

/** A handle that forwards to `handle`, except for the calls in `overrides`. */
const forwarding = (handle: KeyFileHandle, overrides: Partial<KeyFileHandle>): KeyFileHandle => ({
  chmod: (m) => handle.chmod(m),
  stat: () => handle.stat(),
  read: (buf, off, len, pos) => handle.read(buf, off, len, pos),
  write: (buf, off, len, pos) => handle.write(buf, off, len, pos),
  sync: () => handle.sync(),
  close: () => handle.close(),
  ...overrides,
});

Deno.test("saveKeyPair() through a file system whose rename fails replaces nothing and leaves no temp", async () => {
  const real = await importNodeFileSystem();
  const [a, b] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    await succeed(run(saveKeyPair(a, dir, FAST)));
    let renames = 0;
    const failingRename: KeyFileSystem = {
      ...real,
      rename: () => {
        renames++;
        return Promise.reject(nodeError("EACCES"));
      },
    };
    const e = await failWith(run(saveKeyPair(b, dir, FAST), failingRename), "Io");
    assert.equal(renames, 1, "the first rename failed, the second was not tried");
    assert.equal(e.message, `Cannot save key pair: ${dir}/${PRIVATE_KEY_FILE}: permission denied`);
    assert.deepEqual(await names(dir), [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE], "temps removed");
    const still = await succeed(run(loadOrCreateKeyPair(dir, FAST)));
    assert.equal(still.publicKey.fingerprint, a.publicKey.fingerprint, "the old pair stays");
  });
});

Deno.test("saveKeyPair() through a file system that is full fails with Io before any rename", async () => {
  const real = await importNodeFileSystem();
  const [a] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    let renames = 0;
    const full: KeyFileSystem = {
      ...real,
      open: async (path, flags, mode) => {
        const handle = await real.open(path, flags, mode);
        return forwarding(handle, { write: () => Promise.reject(nodeError("ENOSPC")) });
      },
      rename: (from, to) => {
        renames++;
        return real.rename(from, to);
      },
    };
    const e = await failWith(run(saveKeyPair(a, `${dir}/keys`, FAST), full), "Io");
    assert.match(e.message, /private_key\.pem: no space left on device$/);
    assert.equal(renames, 0);
    assert.deepEqual(await names(`${dir}/keys`), [], "the temporary file was removed");
  });
});

Deno.test("saveKeyPair() writes through the file system in context: O_EXCL temps, modes, private key renamed first", async () => {
  const real = await importNodeFileSystem();
  const [a] = await twoKeyPairs();
  const calls: string[] = [];
  const opened: { path: string; flags: number; mode: number | undefined }[] = [];
  const recording: KeyFileSystem = {
    ...real,
    open: (path, flags, mode) => {
      opened.push({ path, flags, mode });
      return real.open(path, flags, mode);
    },
    rename: (from, to) => {
      calls.push(`rename ${real.basename(to)}`);
      return real.rename(from, to);
    },
    mkdir: (path, options) => {
      calls.push(`mkdir mode ${options.mode.toString(8)}`);
      return real.mkdir(path, options);
    },
  };
  await withTempDir(async (dir) => {
    await succeed(run(saveKeyPair(a, `${dir}/keys`, FAST), recording));
    assert.deepEqual(calls, [
      "mkdir mode 700",
      `rename ${PRIVATE_KEY_FILE}`,
      `rename ${PUBLIC_KEY_FILE}`,
    ]);
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = real.constants;
    const created = opened.filter((o) => (o.flags & O_CREAT) !== 0);
    assert.deepEqual(
      created.map((o) => [o.flags, o.mode]),
      [
        [O_WRONLY | O_CREAT | O_EXCL | (O_NOFOLLOW ?? 0), 0o600],
        [O_WRONLY | O_CREAT | O_EXCL | (O_NOFOLLOW ?? 0), 0o644],
      ],
    );
    for (
      const [o, target] of created.map((o, i) =>
        [o, [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE][i]!] as const
      )
    ) {
      assert.match(
        real.basename(o.path),
        new RegExp(`^\\.${target.replace(".", "\\.")}\\.\\d+-[0-9a-f]{16}\\.tmp$`),
      );
      assert.equal(real.dirname(o.path), `${dir}/keys`);
    }
  });
});

Deno.test("loadKeyPair() reads through the file system in context", async () => {
  const real = await importNodeFileSystem();
  const [a] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const files = await succeed(run(saveKeyPair(a, dir, FAST)));
    const read: string[] = [];
    const recording: KeyFileSystem = {
      ...real,
      open: (path, flags, mode) => {
        read.push(real.basename(path));
        return real.open(path, flags, mode);
      },
    };
    const loaded = await succeed(run(
      loadKeyPair(files.privateKeyPath, {
        publicKeyPath: files.publicKeyPath,
        password: FAST.password,
      }),
      recording,
    ));
    assert.equal(loaded.publicKey.fingerprint, a.publicKey.fingerprint);
    assert.deepEqual(read, [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE]);
    // A file system that says the private key is group-readable is believed.
    const looseMode: KeyFileSystem = {
      ...real,
      open: async (path, flags, mode) => {
        const handle = await real.open(path, flags, mode);
        return forwarding(handle, {
          stat: async () => {
            const s = await handle.stat();
            return {
              mode: s.mode | 0o040,
              isFile: () => s.isFile(),
              isSymbolicLink: () => s.isSymbolicLink(),
              mtimeMs: s.mtimeMs,
              ino: s.ino,
              size: s.size,
            };
          },
        });
      },
    };
    if (real.platform !== "win32") {
      const e = await failWith(
        run(loadKeyPair(files.privateKeyPath, { password: FAST.password }), looseMode),
        "InsecurePermissions",
      );
      assert.match(e.message, /chmod 600/);
    }
  });
});

Deno.test("KeyFileSystemLive provides the runtime's file system", async () => {
  const [a] = await twoKeyPairs();
  await withTempDir(async (dir) => {
    const program = Effect.flatMap(
      saveKeyPair(a, dir, FAST),
      (files) => loadKeyPair(files.privateKeyPath, { password: FAST.password }),
    ).pipe(Effect.provide(KeyFileSystemLive));
    const loaded = await succeed(run(program));
    assert.equal(loaded.publicKey.fingerprint, a.publicKey.fingerprint);
    assert.deepEqual(await names(dir), [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE]);
  });
});
