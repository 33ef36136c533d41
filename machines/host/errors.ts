/**
 * Errors a caller may see. Each carries a stable `code` and the HTTP status the server answers with;
 * the message is safe to show (no secrets, no internals).
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class FlowNotFoundError extends DomainError {
  constructor(flowId: string) {
    super(404, 'flow_not_found', `No flow ${flowId}`);
  }
}

export class FlowAlreadyExistsError extends DomainError {
  constructor(flowId: string) {
    super(409, 'flow_already_exists', `Flow ${flowId} already exists`);
  }
}

/** The flow's current state does not accept this event; nothing was written. */
export class EventNotAcceptedError extends DomainError {
  constructor(flowId: string, eventType: string, state: string) {
    super(409, 'event_not_accepted', `Flow ${flowId} in state ${state} does not accept ${eventType}`, { state, event: eventType });
  }
}

/** Another writer advanced the flow between our read and our write; the host retries. */
export class ConcurrencyConflictError extends Error {
  constructor(readonly flowId: string) {
    super(`Concurrent write to flow ${flowId}`);
  }
}
