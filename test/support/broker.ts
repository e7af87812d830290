import net from 'node:net';
import { Aedes } from 'aedes';

export interface TestBroker {
  port: number;
  close(): Promise<void>;
}

/** An in-process MQTT broker (aedes) on an ephemeral loopback port, or on `port` (to restart one in its place). */
export async function startBroker(port = 0): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    // As Mosquitto with `set_tcp_nodelay true` (docs/PERFORMANCE.md): without it, Nagle's algorithm holds back each
    // message until the client acknowledges the one before, some 40 ms a hop.
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
