import type { Server } from 'node:http';
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on loopback (chosen by the OS, then released for the caller to bind). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once something accepts connections on the port, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`${what} did not open port ${port} within ${timeoutMs} ms`);
}

/**
 * Starts `server` on loopback (`port`, or a free one): its endpoint, and a stop that resolves once
 * it is closed. For the small JSON/XML stand-ins (Secrets Manager, STS, KMS).
 */
export async function listenOnLoopback(server: Server, port?: number): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const chosen = port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(chosen, '127.0.0.1', () => resolve());
  });
  return { endpoint: `http://127.0.0.1:${chosen}`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
