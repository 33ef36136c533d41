import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { appendToJournal, type JournalEntry } from '../persistence/journal';
import { GENESIS_HASH } from '../persistence/journal-hash';
import { type Database, isPostgres } from '../persistence/database';
import { GroupCommit } from '../persistence/group-commit';
import { isUniqueViolation, isWriteContention } from '../persistence/errors';
import { type Clock, iso, systemClock } from '../core/clock';
import { ConcurrencyConflictError, EventNotAcceptedError, FlowAlreadyExistsError, FlowNotFoundError } from '../core/errors';
import { FLOW_STARTED, type FlowDefinition, type FlowEvent, type StoredFlow } from '../persistence/flow-definition';
import { FlowStore, toStoredFlow } from '../persistence/flow-store';
import { OutboxStore } from '../persistence/outbox-store';
import { TimerStore } from '../persistence/timer-store';
import { asTx, type Tx } from '../persistence/transaction';
import { KeyedQueue } from './keyed-queue';
import { failpoint } from '../core/failpoints';
import { type RestoreSummary, restoreActiveFlows } from './restore';

export interface SendOptions {
  correlationId?: string;
  causationId?: string;
  /** Extra writes that must commit with this event (an idempotency row, marking an outbox row done). */
  within?: (tx: Tx) => Promise<void>;
}

/** What a commit left for the runners: outbox rows to perform, the earliest timer it set. */
export interface CommitNotice {
  effects: boolean;
  timerDueAt?: number;
}

/** What happened to one flow, told after the commit (live inspection, metrics). */
export interface CommittedTransition {
  flowId: string;
  definition: FlowDefinition;
  event: FlowEvent;
  flow: StoredFlow;
}

/**
 * Owns every flow: computes the next state with XState's pure `transition()`, and commits the journal
 * row, the snapshot (optimistic seq check), the outbox rows and timer rows in one transaction.
 * Transitions of different flows arriving together share that transaction (group commit), each in its
 * own savepoint; callers are answered only after the commit.
 */
export class FlowHost {
  private readonly definitions = new Map<string, FlowDefinition>();
  private readonly queue = new KeyedQueue();
  private readonly committedListeners: Array<(notice: CommitNotice) => void> = [];
  private readonly transitionListeners: Array<(t: CommittedTransition) => void> = [];
  /** Concurrent transitions of different flows share one commit (group commit). */
  readonly commits: GroupCommit;
  private readonly flows: FlowStore;
  private readonly outbox: OutboxStore;
  private readonly timers: TimerStore;

  constructor(
    db: Database,
    definitions: FlowDefinition[],
    private readonly clock: Clock = systemClock,
  ) {
    for (const d of definitions) this.definitions.set(d.type, d);
    this.commits = new GroupCommit(db, { maxConcurrent: isPostgres(db) ? 4 : 1 });
    this.flows = new FlowStore(db);
    this.outbox = new OutboxStore(db);
    this.timers = new TimerStore(db);
  }

  definition(flowType: string): FlowDefinition {
    const d = this.definitions.get(flowType);
    if (!d) throw new Error(`Unknown flow type ${flowType}`);
    return d;
  }

  allDefinitions(): FlowDefinition[] {
    return [...this.definitions.values()];
  }

  /** Called after every commit, saying whether it wrote outbox rows and the earliest timer it set. */
  onCommitted(listener: (notice: CommitNotice) => void): void {
    this.committedListeners.push(listener);
  }

  /** Called after each committed event with the flow as stored; a listener's failure never reaches the caller. */
  onTransition(listener: (t: CommittedTransition) => void): void {
    this.transitionListeners.push(listener);
  }

  private tell(t: CommittedTransition): void {
    for (const l of this.transitionListeners) {
      try {
        l(t);
      } catch {
        // observers must not break flows
      }
    }
  }

  async start(flowType: string, flowId: string, input: object, options: SendOptions = {}): Promise<StoredFlow> {
    const def = this.definition(flowType);
    return this.queue.run(flowId, async () => {
      const now = iso(this.clock.now());
      const [snapshot, actions] = initialTransition(def.machine, input);
      let stored!: StoredFlow;
      let notice!: CommitNotice;
      try {
        await this.commits.run(async (trx) => {
          const tx = asTx(trx);
          // No read first: a flow that exists already fails the journal's unique (flow_id, seq) key.
          const entry = await appendToJournal(trx, {
            flowId,
            flowType,
            seq: 1,
            type: FLOW_STARTED,
            payload: { input },
            correlationId: options.correlationId ?? flowId,
            causationId: options.causationId ?? null,
            recordedAt: now,
            machineVersion: def.version,
          }, GENESIS_HASH);
          stored = toStoredFlow(def, flowId, 1, snapshot, now, now);
          await this.flows.insert(tx, stored, entry.hash);
          await options.within?.(tx);
          notice = await this.writeEffects(tx, flowId, entry, actions, stored.state);
          await def.project?.(trx, stored, now);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new FlowAlreadyExistsError(flowId);
        throw err;
      }
      this.notifyCommitted(notice);
      this.tell({ flowId, definition: def, event: { type: FLOW_STARTED }, flow: stored });
      return stored;
    });
  }

  async send(flowId: string, event: FlowEvent, options: SendOptions = {}): Promise<StoredFlow> {
    return this.queue.run(flowId, async () => {
      // The in-process queue serializes this instance; the seq check catches another instance.
      for (let attempt = 1; ; attempt++) {
        try {
          const { stored, notice } = await this.sendOnce(flowId, event, options);
          this.notifyCommitted(notice);
          this.tell({ flowId, definition: this.definition(stored.flowType), event, flow: stored });
          return stored;
        } catch (err) {
          const conflict = err instanceof ConcurrencyConflictError || isUniqueViolation(err) || isWriteContention(err);
          if (!conflict || attempt >= 10) throw err;
          await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
        }
      }
    });
  }

  /** The flow as last committed; `reader` is a read pool to use instead of the writer (the request path). */
  get(flowId: string, reader?: Database): Promise<StoredFlow | undefined> {
    return this.flows.get(flowId, reader);
  }

  async require(flowId: string): Promise<StoredFlow> {
    const flow = await this.get(flowId);
    if (!flow) throw new FlowNotFoundError(flowId);
    return flow;
  }

  /** Whether the flow's current state would take this event (guards included); reads only. */
  async accepts(flowId: string, event: FlowEvent): Promise<boolean> {
    const flow = await this.require(flowId);
    const def = this.definition(flow.flowType);
    return this.restoreSnapshot(def.machine, flow).can(event);
  }

  /**
   * After a restart: every non-final flow is still in `flows`, and its effects and timers are still
   * in `outbox` and `timers`, so restoring means checking each one can be resumed by this build.
   */
  async restoreAll(): Promise<RestoreSummary> {
    const summary = await restoreActiveFlows({ flows: this.flows, outbox: this.outbox, timers: this.timers }, (flowType) => this.definition(flowType));
    this.notifyCommitted({ effects: true, timerDueAt: 0 });
    return summary;
  }

  restoreSnapshot(machine: AnyStateMachine, flow: Pick<StoredFlow, 'snapshot'>): AnyMachineSnapshot {
    return machine.resolveState(flow.snapshot as any);
  }

  private async sendOnce(flowId: string, event: FlowEvent, options: SendOptions): Promise<{ stored: StoredFlow; notice: CommitNotice }> {
    let stored!: StoredFlow;
    let notice!: CommitNotice;
    await this.commits.run(async (trx) => {
      const tx = asTx(trx);
      const read = await this.flows.readForUpdate(tx, flowId);
      if (!read) throw new FlowNotFoundError(flowId);
      const current = read.flow;
      const def = this.definition(current.flowType);
      const snapshot = this.restoreSnapshot(def.machine, current);
      if (snapshot.status !== 'active' || !snapshot.can(event)) {
        throw (snapshot.status === 'active' ? def.explainRefusal?.(snapshot, event) : undefined) ?? new EventNotAcceptedError(flowId, event.type, current.state);
      }
      const [next, actions] = transition(def.machine, snapshot, event);
      const now = iso(this.clock.now());
      const entry = await appendToJournal(trx, {
        flowId,
        flowType: current.flowType,
        seq: current.seq + 1,
        type: event.type,
        payload: event,
        correlationId: options.correlationId ?? flowId,
        causationId: options.causationId ?? null,
        recordedAt: now,
        machineVersion: def.version,
      }, read.journalHash);
      stored = toStoredFlow(def, flowId, current.seq + 1, next, current.createdAt, now);
      if (!(await this.flows.update(tx, stored, entry.hash, current.seq))) throw new ConcurrencyConflictError(flowId);
      await options.within?.(tx);
      // An effect belongs to the state that asked for it. Once the flow has left that state (an operator
      // decision, a reorg), an effect not yet performed must not be: a burn asked for before a transfer was
      // orphaned, say. One already running finishes, and its result is refused by the flow.
      await this.outbox.supersede(tx, flowId, stored.state, this.clock.now());
      notice = await this.writeEffects(tx, flowId, entry, actions, stored.state);
      await def.project?.(trx, stored, now);
      await failpoint('host.beforeCommit');
    });
    return { stored, notice };
  }

  /** Named actions become outbox rows; delayed raises become timer rows; cancels delete them. */
  private async writeEffects(tx: Tx, flowId: string, cause: JournalEntry, actions: Array<{ type: string; params?: unknown }>, state: string): Promise<CommitNotice> {
    const nowMs = this.clock.now();
    const notice: CommitNotice = { effects: false };
    for (const action of actions) {
      const params = (action.params ?? {}) as Record<string, any>;
      if (action.type === 'xstate.raise' && params.delay !== undefined) {
        const sendId = String(params.id ?? params.event?.type);
        // A flow's first transition has no timers to replace.
        if (cause.seq > 1) await this.timers.cancel(tx, flowId, sendId);
        const dueAt = nowMs + Number(params.delay);
        notice.timerDueAt = Math.min(notice.timerDueAt ?? dueAt, dueAt);
        await this.timers.set(tx, { flowId, sendId, event: params.event, dueAt }, nowMs);
      } else if (action.type === 'xstate.cancel') {
        await this.timers.cancel(tx, flowId, String(params.sendId));
      } else if (action.type.startsWith('xstate.')) {
        continue; // assign, raise without delay and the like are applied inside transition()
      } else {
        notice.effects = true;
        await this.outbox.issue(tx, { flowId, type: action.type, params, causedBy: cause.eventId, issuedIn: state }, nowMs);
      }
    }
    return notice;
  }

  private notifyCommitted(notice: CommitNotice): void {
    for (const l of this.committedListeners) l(notice);
  }
}
