/**
 * Raw TCP exchanges with a server (node:net, so the same code runs under Deno, Node and Bun):
 * what `fetch` cannot send — a request head never finished, a chunked body that never ends.
 */
import { connect, type Socket } from "node:net";

/** What a raw connection saw. */
export interface RawOutcome {
  /** Whether the server closed the connection before the guard gave up. */
  readonly closedByServer: boolean;
  /** Everything the server sent. */
  readonly received: string;
}

/** A raw connection: write to it, then wait for the server to close it. */
export interface RawConnection {
  /** Writes text (or bytes); resolves once written or the connection broke. */
  write(data: string | Uint8Array): Promise<void>;
  /** Resolves when the server closes the connection, or after `guardMs` (then it is cut). */
  closed(guardMs: number): Promise<RawOutcome>;
  /** Whether the server has closed it by now. */
  readonly isClosed: boolean;
}

/** Opens a TCP connection to 127.0.0.1:`port`. */
export const rawConnect = (port: number): Promise<RawConnection> =>
  new Promise((resolve, reject) => {
    const socket: Socket = connect(port, "127.0.0.1");
    let received = "";
    let isClosed = false;
    const waiters: Array<() => void> = [];
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (received += d));
    socket.on("error", () => undefined); // a reset is a close too
    socket.on("close", () => {
      isClosed = true;
      for (const w of waiters.splice(0)) w();
    });
    socket.once("connect", () =>
      resolve({
        write: (data) =>
          new Promise((done) => {
            if (isClosed) return done();
            socket.write(data, () => done());
          }),
        closed: (guardMs) =>
          new Promise((done) => {
            const finish = (byServer: boolean) => done({ closedByServer: byServer, received });
            if (isClosed) return finish(true);
            const guard = setTimeout(() => {
              socket.destroy();
              finish(false);
            }, guardMs);
            waiters.push(() => {
              clearTimeout(guard);
              finish(true);
            });
          }),
        get isClosed() {
          return isClosed;
        },
      }));
    socket.once("error", reject);
  });

/** The status and the body of a raw HTTP/1.1 answer (`0` when there was none). */
export const parseAnswer = (text: string): { status: number; headers: string; body: string } => {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? "0");
  const split = text.indexOf("\r\n\r\n");
  const headers = split < 0 ? text : text.slice(0, split);
  let body = split < 0 ? "" : text.slice(split + 4);
  if (/\r\ntransfer-encoding: chunked/i.test(headers)) {
    let out = "";
    for (let at = 0;;) {
      const eol = body.indexOf("\r\n", at);
      if (eol < 0) break;
      const size = parseInt(body.slice(at, eol), 16);
      if (!(size > 0)) break;
      out += body.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
    body = out;
  }
  return { status, headers, body };
};
