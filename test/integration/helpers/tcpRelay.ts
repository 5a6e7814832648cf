// A TCP relay on loopback between a client and a server, for fault injection: it can
// flip one byte of what the server sends, or hold the server's bytes for a while.
import { createServer, type Server, type Socket, connect } from 'node:net';

export interface TcpRelay {
  address: string;
  /** Bytes relayed from the server to clients so far. */
  readonly bytesToClient: number;
  /** XORs the byte at this offset of the server→client bytes (counted over all connections) with 0xff. */
  corruptAt(offset: number): void;
  /** Holds the server's bytes for `ms` (the client sees a stall), then lets them through. */
  freeze(ms: number): void;
  close(): Promise<void>;
}

export async function startTcpRelay(target: string): Promise<TcpRelay> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let bytesToClient = 0;
  let corruptOffset = -1;
  let frozenUntil = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    const forward = (chunk: Buffer) => {
      if (corruptOffset >= bytesToClient && corruptOffset < bytesToClient + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[corruptOffset - bytesToClient]! ^= 0xff;
        corruptOffset = -1;
      }
      bytesToClient += chunk.length;
      client.write(chunk);
    };
    upstream.on('data', (chunk: Buffer) => {
      const wait = frozenUntil - Date.now();
      if (wait > 0) {
        upstream.pause();
        setTimeout(() => {
          upstream.resume();
          forward(chunk);
        }, wait);
      } else forward(chunk);
    });
    client.pipe(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: relayPort } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${relayPort}`,
    get bytesToClient() {
      return bytesToClient;
    },
    corruptAt: (offset) => (corruptOffset = offset),
    freeze: (ms) => (frozenUntil = Date.now() + ms),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
