import knex, { type Knex } from 'knex';
import type { ChildService } from './child-service';
import type { CrashHarness } from './crash-harness';
import { type LoadBalancer, startLoadBalancer } from './load-balancer';
import { schemaFor, TEST_DATABASE_URL } from './test-database';

/**
 * Several service processes on one PostgreSQL schema behind a round-robin balancer, with the fake
 * Alpaca calling the balancer: a deployment of N instances, for the scale test and the scale bench.
 */
export interface Cluster {
  instances: Map<string, ChildService>;
  lb: LoadBalancer;
  /** The shared database, read directly for checks. */
  db: Knex;
  add(id: string): Promise<ChildService>;
  kill(id: string): Promise<void>;
  pollerHolder(): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function startCluster(h: CrashHarness, dataDir: string, ids: string[]): Promise<Cluster> {
  if (!TEST_DATABASE_URL) throw new Error('a cluster needs TEST_DATABASE_URL (PostgreSQL)');
  const env = (id: string) => ({ INSTANCE_ID: id, OUTBOX_LEASE_MS: '5000', TRANSFER_POLL_MS: '200', LOG_LEVEL: 'warn' });
  const instances = new Map<string, ChildService>();
  for (const id of ids) instances.set(id, await h.spawn(dataDir, undefined, env(id)));
  const lb = await startLoadBalancer([...instances.values()].map((s) => s.url));
  h.alpaca.issuerBaseUrl = lb.url;
  const db = knex({ client: 'pg', connection: TEST_DATABASE_URL, searchPath: [schemaFor(dataDir)], pool: { min: 0, max: 2 } });
  const rotate = () => {
    lb.backends = [...instances.values()].map((s) => s.url);
    h.alpaca.issuerBaseUrl = lb.url;
  };
  return {
    instances,
    lb,
    db,
    async add(id) {
      const svc = await h.spawn(dataDir, undefined, env(id));
      instances.set(id, svc);
      rotate();
      return svc;
    },
    async kill(id) {
      await instances.get(id)?.kill('SIGKILL');
      instances.delete(id);
      rotate();
    },
    async pollerHolder() {
      const row = await db('leases').where({ name: 'transfer-poller' }).first();
      return row && Number(row.expires_at) > Date.now() ? row.holder : undefined;
    },
    async close() {
      for (const s of instances.values()) await s.kill('SIGKILL');
      await lb.close();
      await db.destroy();
    },
  };
}

/** Runs `work` over `items`, `width` at a time. */
export async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (i < items.length) await work(items[i++]!);
    }),
  );
}

export async function countFlows(db: Knex, type: string, state: string): Promise<number> {
  return Number((await db('flows').where({ flow_type: type, state }).count({ n: '*' }))[0]!.n);
}
