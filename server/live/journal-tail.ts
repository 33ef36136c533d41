import type { Logger } from 'pino';
import type { AnyMachineSnapshot } from 'xstate';
import { type FlowDefinition, NEEDS_OPERATOR_TAG, stateName } from '../../persistence/flow-definition';
import { applyEntry } from '../../persistence/fold';
import type { Database } from '../../persistence/database';
import type { JournalEntry } from '../../persistence/journal';
import { JournalReader } from '../../persistence/journal-reader';

/** One committed journal entry as the live stream carries it. */
export interface LiveEntry {
  position: number;
  event_id: string;
  flow_id: string;
  flow_type: string;
  seq: number;
  type: string;
  /** The flow's state after this event; null for registry entities (assets, APs, effects), which have no machine. */
  state: string | null;
  status: string | null;
  needs_operator: boolean | null;
  /** The tags of the flow's state after this event (machines/tags.ts); null for registry entities. */
  tags: string[] | null;
  /** The operator who sent the event, when a person did. */
  operator: string | null;
  recorded_at: string;
}

export interface JournalTailOptions {
  pollMs?: number;
  /** Rows read per query; a full batch is followed at once by the next. */
  batchSize?: number;
  /**
   * How long a missing position is waited for. On PostgreSQL positions come from a sequence taken at
   * insert time, so a transaction may commit after one with a higher position; a rolled-back one
   * leaves its number unused for ever. Past this wait the hole is given up on.
   */
  gapGraceMs?: number;
  /** Flows whose latest snapshot is kept, so the state after the next event is one transition away. */
  foldCacheSize?: number;
}

export type TailListener = (entries: LiveEntry[]) => void;

export interface TailSubscription {
  /** The journal position the subscriber starts after (entries committed later are delivered). */
  ready: Promise<number>;
  close(): void;
}

/** Positions just below the head read when the tail starts, so transactions still committing then are not missed. */
const START_LOOKBACK = 200;
/** Emitted positions kept above a hole; past this many the hole is given up on at once. */
const MAX_TRACKED = 20_000;

/**
 * Follows the journal table for every open console stream of this process: one poll, however many
 * subscribers. The journal is the source (not this process's own transitions), so commits made by
 * other instances on the same database are seen too. Polls run only while someone listens.
 */
export class JournalTail {
  private readonly listeners = new Set<TailListener>();
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly gapGraceMs: number;
  private readonly foldCacheSize: number;
  /** Bumped on stop, so a poll in flight when the last subscriber left delivers nothing. */
  private generation = 0;
  private started?: Promise<number>;
  private timer?: NodeJS.Timeout;
  /** Every position at or below `low` has been delivered or given up on. */
  private low = 0;
  /** The highest position delivered. */
  private high = 0;
  /** Delivered positions above `low`. */
  private readonly delivered = new Set<number>();
  /** When `low + 1` was first found missing (wall-clock ms). */
  private holeSince?: number;
  private readonly folds = new Map<string, { seq: number; snapshot: AnyMachineSnapshot }>();
  private readonly journal: JournalReader;

  constructor(
    db: Database,
    private readonly definitions: () => FlowDefinition[],
    options: JournalTailOptions = {},
    private readonly log?: Logger,
  ) {
    this.journal = new JournalReader(db);
    this.pollMs = options.pollMs ?? 300;
    this.batchSize = options.batchSize ?? 500;
    this.gapGraceMs = options.gapGraceMs ?? 10_000;
    this.foldCacheSize = options.foldCacheSize ?? 2_000;
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** Whether a poll is scheduled (false once the last subscriber has left). */
  get polling(): boolean {
    return this.started !== undefined;
  }

  subscribe(listener: TailListener): TailSubscription {
    this.listeners.add(listener);
    if (!this.started) {
      const starting: Promise<number> = this.start().catch((err) => {
        // The subscribers waiting on this start are told (their streams end); the next one tries again.
        if (this.started === starting) this.started = undefined;
        throw err;
      });
      this.started = starting;
    }
    return {
      // A subscriber joining a running tail starts after what has been delivered so far.
      ready: this.started.then(() => this.high),
      close: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.stop();
      },
    };
  }

  private async start(): Promise<number> {
    const generation = this.generation;
    const head = await this.journal.head();
    const from = Math.max(0, head - START_LOOKBACK);
    const present = await this.journal.positionsBetween(from, head);
    if (generation !== this.generation) return head;
    this.low = from;
    this.high = head;
    this.delivered.clear();
    for (const p of present) this.delivered.add(p);
    this.advance(Date.now());
    this.schedule(generation, this.pollMs);
    return head;
  }

  private stop(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.started = undefined;
    this.delivered.clear();
    this.folds.clear();
    this.holeSince = undefined;
  }

  private schedule(generation: number, delayMs: number): void {
    if (generation !== this.generation) return;
    this.timer = setTimeout(() => {
      this.poll(generation).then(
        (more) => this.schedule(generation, more ? 0 : this.pollMs),
        (err) => {
          // The database may be closing with the service, or briefly unreachable: the next poll tries again.
          if (generation === this.generation) this.log?.warn({ err: (err as Error).message }, 'journal tail poll failed');
          this.schedule(generation, this.pollMs * 3);
        },
      );
    }, delayMs);
    this.timer.unref();
  }

  /** Reads what was committed since the last poll; true when a full batch suggests there is more. */
  private async poll(generation: number): Promise<boolean> {
    const fresh = await this.journal.after(this.high, this.batchSize);
    let late: JournalEntry[] = [];
    if (this.low < this.high) {
      // A hole below the head: look for rows that have committed into it since.
      const below = await this.journal.positionsBetween(this.low, this.high);
      const missing = below.filter((p) => !this.delivered.has(p));
      if (missing.length) late = await this.journal.atPositions(missing.slice(0, this.batchSize));
    }
    if (generation !== this.generation) return false;
    const entries: LiveEntry[] = [];
    for (const entry of [...late, ...fresh]) {
      const position = entry.position ?? 0;
      if (position <= this.low || this.delivered.has(position)) continue;
      this.delivered.add(position);
      if (position > this.high) this.high = position;
      entries.push(await this.describe(entry));
      if (generation !== this.generation) return false;
    }
    this.advance(Date.now());
    if (entries.length) {
      for (const listener of [...this.listeners]) {
        try {
          listener(entries);
        } catch (err) {
          this.log?.warn({ err: (err as Error).message }, 'journal tail listener failed');
        }
      }
    }
    return fresh.length === this.batchSize;
  }

  /** Moves `low` over delivered positions, and over a hole once it has been waited for long enough. */
  private advance(now: number): void {
    for (;;) {
      if (this.delivered.delete(this.low + 1)) {
        this.low++;
        this.holeSince = undefined;
        continue;
      }
      if (this.low >= this.high) {
        this.holeSince = undefined;
        return;
      }
      this.holeSince ??= now;
      if (now - this.holeSince < this.gapGraceMs && this.delivered.size < MAX_TRACKED) return;
      // Give up on the run of missing positions up to the next delivered one.
      let next = this.high;
      for (const p of this.delivered) if (p < next) next = p;
      this.low = next - 1;
      this.holeSince = undefined;
    }
  }

  private async describe(e: JournalEntry): Promise<LiveEntry> {
    const base = {
      position: e.position ?? 0,
      event_id: e.eventId,
      flow_id: e.flowId,
      flow_type: e.flowType,
      seq: e.seq,
      type: e.type,
      operator: typeof e.payload.operator === 'string' ? e.payload.operator : null,
      recorded_at: e.recordedAt,
    };
    const def = this.definitions().find((d) => d.type === e.flowType);
    const snapshot = def ? await this.stateAfter(def, e) : undefined;
    if (!snapshot) return { ...base, state: null, status: null, needs_operator: null, tags: null };
    return { ...base, state: stateName(snapshot.value), status: snapshot.status, needs_operator: snapshot.hasTag(NEEDS_OPERATOR_TAG), tags: [...snapshot.tags].sort() };
  }

  /**
   * The journal holds events, not states: the state after an event is the flow's journal folded
   * through its machine up to it, exactly as the host computed it. The last snapshot of each recent
   * flow is kept, so the usual case (the next event of a flow just seen) is one transition.
   */
  private async stateAfter(def: FlowDefinition, e: JournalEntry): Promise<AnyMachineSnapshot | undefined> {
    try {
      const cached = this.folds.get(e.flowId);
      let snapshot: AnyMachineSnapshot | undefined;
      if (cached && cached.seq === e.seq - 1) {
        snapshot = applyEntry(def, cached.snapshot, e);
      } else {
        for (const entry of await this.journal.flowUpTo(e.flowId, e.seq)) snapshot = applyEntry(def, snapshot, entry);
      }
      this.folds.delete(e.flowId);
      if (snapshot && snapshot.status === 'active') {
        this.folds.set(e.flowId, { seq: e.seq, snapshot });
        if (this.folds.size > this.foldCacheSize) this.folds.delete(this.folds.keys().next().value!);
      }
      return snapshot;
    } catch (err) {
      // A journal this build's machine cannot fold (another machine version): the entry still goes out, stateless.
      this.log?.warn({ err: (err as Error).message, flowId: e.flowId, seq: e.seq }, 'journal tail could not fold a flow');
      return undefined;
    }
  }
}
