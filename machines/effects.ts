/**
 * An effect action: it does nothing inside the machine. The host writes it to the outbox with its
 * params and an adapter (chain/, alpaca/) performs it; the result comes back as one of the machine's
 * events. Declaring a machine's effects as `{ name: effect<Params>() }` names each one once: the
 * object is spread into `setup({ actions })` and its keys are the adapters the host must provide.
 */
export const effect =
  <P>() =>
  (_: unknown, _params: P): undefined =>
    undefined;

/** The names of a machine's effects, from its effects object. */
export type EffectName<TEffects> = keyof TEffects & string;

/** The effect names at run time (the keys of the effects object), for the host to check its adapters against. */
export const effectNames = <TEffects extends object>(effects: TEffects): EffectName<TEffects>[] => Object.keys(effects) as EffectName<TEffects>[];
