import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Database } from '../../persistence/database';
import { z } from 'zod';
import { type Clock, iso, systemClock } from '../../core/clock';
import { exportJournal } from '../../persistence/audit/export';
import { CONTENT_TYPES } from '../../persistence/audit/export-format';
import { verifyJournalChains } from '../../persistence/audit/verify-journal';
import { parse } from '../validate';

const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

/** Unknown parameters are refused: a misspelt filter must not export the whole journal. */
export const auditExportQuery = z
  .object({
    from: instant.optional(),
    to: instant.optional(),
    flow: z.string().min(1).max(200).optional(),
    format: z.enum(['jsonl', 'csv']).default('jsonl'),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: 'from must be before to', path: ['from'] });

/** The journal for auditors: a hash-chained export, and the check of every flow's chain in the database. */
export function auditRoutes(deps: { db: Database; clock?: Clock }): Router {
  const clock = deps.clock ?? systemClock;
  const router = new Router({ prefix: '/operator/audit' });

  /** Streamed a page of rows at a time: a cut-off download lacks its end record, which the verifier reports. */
  router.get('/export', async (ctx) => {
    const q = parse(auditExportQuery, ctx.query);
    const generatedAt = iso(clock.now());
    const { lines } = exportJournal(deps.db, { from: q.from, to: q.to, flow: q.flow }, q.format, generatedAt);
    ctx.type = CONTENT_TYPES[q.format];
    ctx.set('Content-Disposition', `attachment; filename="journal-${generatedAt.replace(/[:.]/g, '-')}.${q.format}"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = Readable.from(lines);
  });

  /** Recomputes every flow's chain from the stored rows (a full read of the journal). */
  router.get('/verify', async (ctx) => {
    const result = await verifyJournalChains(deps.db);
    ctx.body = {
      ok: result.ok,
      flows: result.flows,
      events: result.events,
      problem_count: result.problemCount,
      problems: result.problems.map((p) => ({ position: p.position, event_id: p.eventId, flow_id: p.flowId, seq: p.seq, problem: p.problem })),
    };
  });

  return router;
}
