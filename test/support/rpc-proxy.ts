import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A switchable JSON-RPC proxy in front of the devnet: "down" makes the node unreachable (connections reset). */
export interface RpcProxy {
  url: string;
  /** The node behind the proxy; may be changed (a node restarted on another port). */
  target: string;
  down: boolean;
  requests: number;
  close(): Promise<void>;
}

export async function startRpcProxy(target: string): Promise<RpcProxy> {
  const proxy: RpcProxy = { url: '', target, down: false, requests: 0, close: async () => undefined };
  const server = http.createServer(async (req, res) => {
    proxy.requests++;
    if (proxy.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      const upstream = await fetch(proxy.target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) });
      res.writeHead(upstream.status, { 'content-type': 'application/json' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    } catch {
      req.socket.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return proxy;
}
