import type { Clock } from '../../core/clock';
import { DomainError } from '../../core/errors';
import { billionths, quantityOf } from '../../core/quantities';
import { utcDay } from '../../persistence/controls/daily-usage';
import { RiskControls } from '../../persistence/controls/risk-controls';
import type { Database } from '../../persistence/database';
import type { Tx } from '../../persistence/transaction';
import type { MintInput } from '../../machines/mint';

/**
 * A mint request the risk controls refuse. Alpaca documents reasons only for its own checks; these
 * answer in the same shape (400, a stable code, a `Reason: detail` message like `Asset Halted: …`).
 */
export class MintRefusedByControls extends DomainError {
  constructor(code: 'issuance_paused' | 'quantity_above_limit' | 'daily_mint_cap_exceeded', message: string) {
    super(code, message);
  }
}

const pausedRefusal = () => new MintRefusedByControls('issuance_paused', `${CONTROL_REASONS.paused}the issuer is not accepting mint requests at the moment`);

/** The reason prefixes, documented with the mint endpoints. */
export const CONTROL_REASONS = {
  paused: 'Issuance Paused: ',
  aboveLimit: 'Quantity Above Limit: ',
  dailyCap: 'Daily Mint Cap Exceeded: ',
} as const;

/**
 * The risk controls a mint request meets at accept time: the emergency pause, the asset's per-request
 * maximum and its daily mint cap (the quantity of the asset's mints accepted in the current UTC day,
 * rejected ones aside). The pause's reason stays internal: Alpaca is told only that issuance is paused.
 */
export class MintAdmission {
  private readonly controls: RiskControls;
  /** The early pause check reads here; the accepting transaction checks again on the writer. */
  private readonly readerControls: RiskControls;

  constructor(db: Database, private readonly clock: Clock, reader: Database = db) {
    this.controls = new RiskControls(db, clock);
    this.readerControls = reader === db ? this.controls : new RiskControls(reader, clock);
  }

  /** A paused issuer refuses a new request before looking any further at it. */
  async refuseWhilePaused(): Promise<void> {
    if (await this.readerControls.isPaused()) throw pausedRefusal();
  }

  /**
   * Runs inside the transaction that accepts the mint, before the mint is in `mint_view`: the daily cap's
   * lock (see `limitsForAccept`) makes requests of a capped asset take turns. Throwing rolls the
   * acceptance back, so a refused request writes nothing.
   */
  async admit(tx: Tx, mint: MintInput): Promise<void> {
    const { qty } = mint;
    const { paused, limits } = await this.controls.limitsForAccept(tx, mint.assetId);
    if (paused) throw pausedRefusal();
    if (limits.maxRequestQty !== null && billionths(qty) > billionths(limits.maxRequestQty)) {
      throw new MintRefusedByControls('quantity_above_limit', `${CONTROL_REASONS.aboveLimit}${qty} is above the maximum of ${limits.maxRequestQty} ${mint.underlyingSymbol} per mint request`);
    }
    if (limits.dailyMintCap !== null) {
      const day = utcDay(this.clock.now());
      const minted = await this.controls.mintedOn(tx, mint, day);
      if (minted + billionths(qty) > billionths(limits.dailyMintCap)) {
        const left = billionths(limits.dailyMintCap) - minted;
        throw new MintRefusedByControls(
          'daily_mint_cap_exceeded',
          `${CONTROL_REASONS.dailyCap}${qty} would exceed the daily mint cap of ${limits.dailyMintCap} ${mint.underlyingSymbol} for ${day.date} (UTC); ${left > 0n ? quantityOf(left) : '0'} left`,
        );
      }
    }
  }

  /** The approval threshold of the asset now, if one is set: a confirmed mint above it waits for two operators. */
  async approvalThreshold(assetId: string): Promise<string | undefined> {
    return (await this.controls.limits(assetId)).approvalThreshold ?? undefined;
  }
}
