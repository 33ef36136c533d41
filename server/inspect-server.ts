import { loadConfig } from './config';

/**
 * `npm run inspect`: a local bridge between the service and the Stately inspector UI. Start it, then
 * start the service with `STATELY_INSPECT_URL=ws://localhost:8090`, and open the printed page.
 */
async function main(): Promise<void> {
  loadConfig(); // same environment checks as the service
  const { createInspectorServer } = await import('@statelyai/inspect/server');
  const port = Number(process.env.INSPECT_PORT ?? 8090);
  createInspectorServer({ port, autoOpen: false });
  process.stdout.write(`Stately inspector bridge on ws://localhost:${port}; open http://localhost:${port} in a browser\n`);
}

void main();
