import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { loadConfig } from './config';
import { isLoopbackHost } from '../runtime/live-inspection';

/**
 * `npm run inspect`: a local bridge between the service and the Stately inspector UI. Start it, then
 * start the service with `STATELY_INSPECT_URL=ws://127.0.0.1:8090`, and open the printed page.
 *
 * The bridge relays every message to every other client and replays recent ones to newcomers, so
 * anyone who can connect sees the flows. `@statelyai/inspect/server` does the same but listens on
 * every interface; this one listens on 127.0.0.1 only, and takes WebSocket connections only from
 * clients without an `Origin` (the service) or from its own page, so a web page open in the same
 * browser cannot read the stream through a cross-site WebSocket (nor by DNS rebinding: the `Host`
 * must be a loopback name too).
 */

export const BRIDGE_HOST = '127.0.0.1';
const INSPECTOR_UI = 'https://stately.ai/inspect';
/** As many recent messages as `@statelyai/inspect/server` replays to a page opened late. */
const REPLAYED = 200;

export interface InspectorBridge {
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startInspectorBridge(port: number): Promise<InspectorBridge> {
  const httpServer = http.createServer((req, res) => {
    if (!loopbackHostHeader(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(bridgePage(boundPort()));
  });
  const wss = new WebSocketServer({
    server: httpServer,
    verifyClient: ({ req }: { req: http.IncomingMessage }) => loopbackHostHeader(req.headers.host) && allowedOrigin(req.headers.origin, boundPort()),
  });
  const recent: string[] = [];
  wss.on('connection', (ws) => {
    for (const msg of recent) ws.send(msg);
    ws.on('message', (data) => {
      const msg = data.toString();
      recent.push(msg);
      if (recent.length > REPLAYED) recent.shift();
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(msg);
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, BRIDGE_HOST, () => resolve());
  });
  function boundPort(): number {
    return (httpServer.address() as AddressInfo).port;
  }
  // The address actually bound, not the one asked for: what the bridge reports is what it listens on.
  const bound = httpServer.address() as AddressInfo;
  return {
    port: bound.port,
    url: `ws://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        httpServer.close(() => resolve());
      }),
  };
}

/** `127.0.0.1:8090`, `localhost:8090`, `[::1]:8090`: a name that can only mean this machine. */
function loopbackHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.replace(/:\d+$/, '');
  return isLoopbackHost(name);
}

/** No Origin: a non-browser client (the service). Otherwise only the bridge's own page. */
function allowedOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  try {
    const o = new URL(origin);
    return o.protocol === 'http:' && isLoopbackHost(o.hostname) && Number(o.port) === port;
  } catch {
    return false;
  }
}

/** The page that hands the stream to the inspector UI in an iframe (messages go to that origin only). */
function bridgePage(port: number): string {
  const target = new URL(INSPECTOR_UI).origin;
  return `<!DOCTYPE html>
<html>
<head>
  <title>Stately Inspector</title>
  <style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head>
<body>
  <iframe id="inspector" src="${INSPECTOR_UI}"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    const buffer = [];
    let connected = false;
    window.addEventListener('message', (e) => {
      if (e.origin === ${JSON.stringify(target)} && e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        buffer.forEach((event) => iframe.contentWindow.postMessage(event, ${JSON.stringify(target)}));
        buffer.length = 0;
      }
    });
    const ws = new WebSocket('ws://' + location.host);
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (connected) iframe.contentWindow.postMessage(data, ${JSON.stringify(target)});
      else buffer.push(data);
    };
  </script>
</body>
</html>
`;
}

async function main(): Promise<void> {
  loadConfig(); // same environment checks as the service
  const bridge = await startInspectorBridge(Number(process.env.INSPECT_PORT ?? 8090));
  process.stdout.write(`Stately inspector bridge on ${bridge.url} (loopback only); open http://${BRIDGE_HOST}:${bridge.port} in a browser\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`inspector bridge: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
