// Vault adapter: encodes the issuer's mint/burn calls, decodes the vault's
// events and errors, reads balances. No persistence and no signing: the
// transaction manager sends what this builds.
import {
  Interface,
  ZeroAddress,
  dataSlice,
  getAddress,
  hexlify,
  id,
  isHexString,
  toUtf8Bytes,
  toUtf8String,
  type BytesLike,
  type Log,
} from 'ethers';

/** Share ratio passed to deposit: Rain's offchain-asset vault is always 1:1. */
export const SHARE_RATIO = 10n ** 18n;

// Only what we call and listen to, written out so the dependency on the
// vault's shape is explicit. Shapes follow Rain's OffchainAssetReceiptVault.
export const VAULT_ABI = [
  'function deposit(uint256 assets, address receiver, uint256 depositMinShareRatio, bytes receiptInformation) returns (uint256 shares)',
  'function redeem(uint256 shares, address receiver, address owner, uint256 id, bytes receiptInformation) returns (uint256 assets)',
  'function withdraw(uint256 assets, address receiver, address owner, uint256 id, bytes receiptInformation) returns (uint256 shares)',
  'function multicall(bytes[] data) returns (bytes[] results)',
  'function transfer(address to, uint256 value) returns (bool)',
  'function balanceOf(address account) view returns (uint256)',
  'function totalSupply() view returns (uint256)',
  'function receipt() view returns (address)',
  'function highwaterId() view returns (uint256)',
  'function isCertificationExpired() view returns (bool)',
  'function ownerFrozenUntil() view returns (uint256)',
  'function certify(uint256 certifyUntil, bool forceUntil, bytes data)',
  'function ownerFreezeUntil(uint256 freezeUntil)',
  // Not indexed in Rain: match on address + topic0 and decode everything from data.
  'event Deposit(address sender, address owner, uint256 assets, uint256 shares, uint256 id, bytes receiptInformation)',
  'event Withdraw(address sender, address receiver, address owner, uint256 assets, uint256 shares, uint256 id, bytes receiptInformation)',
] as const;

export const RECEIPT_ABI = [
  'function balanceOf(address account, uint256 id) view returns (uint256)',
  'event ReceiptInformation(address sender, uint256 id, bytes information)',
] as const;

// Errors we turn into operator states. Two shapes for some, because Rain's
// versions differ; the selector tells them apart.
const ERROR_ABI = [
  'error Unauthorized(address user, bytes32 permission, bytes data)',
  'error Unauthorized(address user, bytes32 permission)',
  'error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)',
  'error OwnableUnauthorizedAccount(address account)',
  'error CertificationExpired(address from, address to, uint256 certifiedUntil, uint256 timestamp)',
  'error CertificationExpired(address from, address to)',
  'error OwnerFrozen(uint256 freezeUntil, address from, address to)',
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
  'error ERC1155InsufficientBalance(address sender, uint256 balance, uint256 needed, uint256 tokenId)',
  // Known but not operator states: decoded only so the message names them.
  'error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)',
  'error ERC20InvalidReceiver(address receiver)',
  'error MinShareRatio(uint256 minShareRatio, uint256 actualShareRatio)',
  'error ZeroAssetsAmount()',
  'error InvalidId(uint256 id)',
] as const;

const vaultIface = new Interface(VAULT_ABI);
const receiptIface = new Interface(RECEIPT_ABI);
const errorIface = new Interface(ERROR_ABI);

const DEPOSIT_TOPIC = vaultIface.getEvent('Deposit')!.topicHash;
const WITHDRAW_TOPIC = vaultIface.getEvent('Withdraw')!.topicHash;

// ---------------------------------------------------------------- receipt information

export interface ReceiptInformation {
  tokenization_request_id: string;
}

/** JSON bytes stored with each receipt so on-chain history links back to Alpaca's request. */
export function encodeReceiptInformation(tokenizationRequestId: string): string {
  if (!tokenizationRequestId) throw new Error('tokenization request id is empty');
  const info: ReceiptInformation = { tokenization_request_id: tokenizationRequestId };
  return hexlify(toUtf8Bytes(JSON.stringify(info)));
}

/** Null when the bytes are not ours (other issuers, empty, not JSON). */
export function decodeReceiptInformation(bytes: BytesLike): ReceiptInformation | null {
  try {
    const parsed: unknown = JSON.parse(toUtf8String(bytes));
    if (parsed && typeof parsed === 'object' && typeof (parsed as ReceiptInformation).tokenization_request_id === 'string') {
      return { tokenization_request_id: (parsed as ReceiptInformation).tokenization_request_id };
    }
  } catch {
    // not UTF-8 JSON: foreign data
  }
  return null;
}

// ---------------------------------------------------------------- calldata

export interface MintParams {
  vault: string;
  issuer: string;
  recipient: string;
  amount: bigint;
  receiptInformation: BytesLike;
}

export interface BurnPart {
  receiptId: bigint;
  amount: bigint;
}

export interface BurnParams {
  issuer: string;
  parts: readonly BurnPart[];
  info: BytesLike;
}

function nonZeroAddress(label: string, value: string): string {
  const address = getAddress(value); // throws on malformed or bad checksum
  if (address === ZeroAddress) throw new Error(`${label} is the zero address`);
  return address;
}

/**
 * Calldata for the vault: multicall([deposit(amount, issuer, 1e18, info), transfer(recipient, amount)]).
 * The issuer keeps the receipt (needed to burn later) and the AP gets the shares, atomically.
 */
export function encodeMint(p: MintParams): string {
  const vault = nonZeroAddress('vault', p.vault);
  const issuer = nonZeroAddress('issuer', p.issuer);
  const recipient = nonZeroAddress('recipient', p.recipient);
  if (recipient === vault) throw new Error('recipient is the vault itself; shares sent there are lost');
  if (p.amount <= 0n) throw new Error(`mint amount must be positive, got ${p.amount}`);
  return vaultIface.encodeFunctionData('multicall', [
    [
      vaultIface.encodeFunctionData('deposit', [p.amount, issuer, SHARE_RATIO, p.receiptInformation]),
      vaultIface.encodeFunctionData('transfer', [recipient, p.amount]),
    ],
  ]);
}

/** Calldata for the vault: multicall([redeem(nᵢ, issuer, issuer, idᵢ, info), …]), one part per receipt id. */
export function encodeBurn(p: BurnParams): string {
  const issuer = nonZeroAddress('issuer', p.issuer);
  if (p.parts.length === 0) throw new Error('burn has no parts');
  const seen = new Set<bigint>();
  const calls = p.parts.map(({ receiptId, amount }) => {
    if (receiptId <= 0n) throw new Error(`receipt id must be positive, got ${receiptId}`);
    if (amount <= 0n) throw new Error(`burn amount for receipt ${receiptId} must be positive, got ${amount}`);
    // Two parts on one id mean the inventory split went wrong; fail loudly here.
    if (seen.has(receiptId)) throw new Error(`receipt id ${receiptId} appears twice in one burn`);
    seen.add(receiptId);
    return vaultIface.encodeFunctionData('redeem', [amount, issuer, issuer, receiptId, p.info]);
  });
  return vaultIface.encodeFunctionData('multicall', [calls]);
}

// ---------------------------------------------------------------- events

export type LogLike = Pick<Log, 'address' | 'topics' | 'data' | 'index' | 'transactionHash' | 'blockNumber'>;

export interface DepositEvent {
  sender: string;
  owner: string;
  assets: bigint;
  shares: bigint;
  id: bigint;
  receiptInformation: string;
  txHash: string;
  blockNumber: number;
  logIndex: number;
}

export interface WithdrawEvent {
  sender: string;
  receiver: string;
  owner: string;
  assets: bigint;
  shares: bigint;
  id: bigint;
  receiptInformation: string;
  txHash: string;
  blockNumber: number;
  logIndex: number;
}

function fromVault(log: LogLike, vault: string, topic: string): boolean {
  // Exactly one topic: a same-named event with indexed fields is a different event.
  return log.topics.length === 1 && log.topics[0] === topic && getAddress(log.address) === getAddress(vault);
}

function position(log: LogLike) {
  return { txHash: log.transactionHash, blockNumber: log.blockNumber, logIndex: log.index };
}

/** Every named field of the event (addresses as checksummed strings, uint256 as bigint, bytes as hex), plus where it was logged. */
function decodeFields<E>(name: 'Deposit' | 'Withdraw', log: LogLike): E {
  const fields = vaultIface.decodeEventLog(name, log.data, log.topics).toObject();
  return { ...fields, ...position(log) } as E;
}

/** The vault's Deposit event in one log, or null if the log is something else. */
export function decodeDepositLog(log: LogLike, vault: string): DepositEvent | null {
  if (!fromVault(log, vault, DEPOSIT_TOPIC)) return null;
  return decodeFields('Deposit', log);
}

export function decodeWithdrawLog(log: LogLike, vault: string): WithdrawEvent | null {
  if (!fromVault(log, vault, WITHDRAW_TOPIC)) return null;
  return decodeFields('Withdraw', log);
}

/** Deposits in a transaction receipt, in log order; the new receipt ids come from here. */
export function parseDeposits(receipt: { logs: readonly LogLike[] }, vault: string): DepositEvent[] {
  return receipt.logs.flatMap((log) => decodeDepositLog(log, vault) ?? []);
}

export function parseWithdrawals(receipt: { logs: readonly LogLike[] }, vault: string): WithdrawEvent[] {
  return receipt.logs.flatMap((log) => decodeWithdrawLog(log, vault) ?? []);
}

// ---------------------------------------------------------------- errors

export type VaultErrorCode =
  | 'unauthorized'
  | 'certification_expired'
  | 'owner_frozen'
  | 'insufficient_shares'
  | 'insufficient_receipt'
  | 'unknown';

export interface VaultError {
  code: VaultErrorCode;
  message: string;
}

const ROLE_NAMES = new Map<string, string>(['DEPOSIT', 'WITHDRAW', 'CERTIFY'].map((name) => [id(name), name]));

function roleName(hash: string): string {
  return ROLE_NAMES.get(hash.toLowerCase()) ?? hash;
}

function isoTime(seconds: bigint): string {
  const ms = Number(seconds) * 1000;
  return Number.isFinite(ms) && ms < 8.64e15 ? new Date(ms).toISOString() : `${seconds}`;
}

/** The first revert payload found in an ethers error, JSON-RPC error or raw hex. */
function findRevertData(err: unknown, depth = 0): string | null {
  if (depth > 5 || err == null) return null;
  if (typeof err === 'string') return isHexString(err) && err.length >= 10 ? err : null;
  if (typeof err !== 'object') return null;
  // Only follow fields that carry revert data; `transaction.data` is our own calldata.
  for (const key of ['data', 'error', 'info', 'cause'] as const) {
    const found = findRevertData((err as Record<string, unknown>)[key], depth + 1);
    if (found) return found;
  }
  return null;
}

function fallbackMessage(err: unknown): string {
  // ethers' shortMessage omits the request dump (which may include an RPC URL with a key).
  if (err && typeof err === 'object') {
    const e = err as { shortMessage?: unknown; message?: unknown };
    const text = typeof e.shortMessage === 'string' ? e.shortMessage : typeof e.message === 'string' ? e.message : '';
    if (text) return text.split('\n')[0]!.slice(0, 300);
  }
  return 'unknown failure';
}

/** Maps a failed vault call or transaction to a stable code an operator state can use. */
export function decodeVaultError(err: unknown): VaultError {
  const data = findRevertData(err);
  if (!data) return { code: 'unknown', message: fallbackMessage(err) };
  let parsed: ReturnType<Interface['parseError']> = null;
  try {
    parsed = errorIface.parseError(data);
  } catch {
    parsed = null; // a known selector with malformed arguments
  }
  if (!parsed) return { code: 'unknown', message: `vault reverted with selector ${dataSlice(data, 0, 4)}` };
  const a = parsed.args;
  switch (parsed.name) {
    case 'Unauthorized':
    case 'AccessControlUnauthorizedAccount':
      return { code: 'unauthorized', message: `${a[0]} lacks the ${roleName(a[1] as string)} permission` };
    case 'OwnableUnauthorizedAccount':
      return { code: 'unauthorized', message: `${a[0]} is not the vault owner` };
    case 'CertificationExpired': {
      const until = a.length >= 3 ? ` (certified until ${isoTime(a[2] as bigint)})` : '';
      return { code: 'certification_expired', message: `vault certification expired${until}; movement ${a[0]} -> ${a[1]} refused` };
    }
    case 'OwnerFrozen':
      return { code: 'owner_frozen', message: `vault frozen by its owner until ${isoTime(a[0] as bigint)}; movement ${a[1]} -> ${a[2]} refused` };
    case 'ERC20InsufficientBalance':
      return { code: 'insufficient_shares', message: `${a[0]} holds ${a[1]} shares, needs ${a[2]}` };
    case 'ERC1155InsufficientBalance':
      return { code: 'insufficient_receipt', message: `${a[0]} holds ${a[1]} of receipt ${a[3]}, needs ${a[2]}` };
    default:
      return { code: 'unknown', message: `vault reverted: ${parsed.name}(${a.map(String).join(', ')})`.slice(0, 300) };
  }
}

// ---------------------------------------------------------------- reads

/** Anything with eth_call, e.g. an ethers Provider; blockTag pins reads for reconciliation. */
export interface CallRunner {
  call(tx: { to: string; data: string; blockTag?: number | string }): Promise<string>;
}
export type BlockTag = number | 'latest' | 'safe' | 'finalized';

async function read(runner: CallRunner, iface: Interface, to: string, fn: string, args: unknown[], blockTag?: BlockTag) {
  const data = iface.encodeFunctionData(fn, args);
  const result = await runner.call(blockTag === undefined ? { to, data } : { to, data, blockTag });
  return iface.decodeFunctionResult(fn, result)[0] as unknown;
}

export async function readShareBalance(runner: CallRunner, vault: string, account: string, blockTag?: BlockTag): Promise<bigint> {
  return (await read(runner, vaultIface, vault, 'balanceOf', [account], blockTag)) as bigint;
}

export async function readTotalSupply(runner: CallRunner, vault: string, blockTag?: BlockTag): Promise<bigint> {
  return (await read(runner, vaultIface, vault, 'totalSupply', [], blockTag)) as bigint;
}

export async function readReceiptBalance(
  runner: CallRunner,
  receipt: string,
  account: string,
  receiptId: bigint,
  blockTag?: BlockTag,
): Promise<bigint> {
  return (await read(runner, receiptIface, receipt, 'balanceOf', [account, receiptId], blockTag)) as bigint;
}

export async function readReceiptAddress(runner: CallRunner, vault: string): Promise<string> {
  return getAddress((await read(runner, vaultIface, vault, 'receipt', [])) as string);
}

export async function readHighwaterId(runner: CallRunner, vault: string, blockTag?: BlockTag): Promise<bigint> {
  return (await read(runner, vaultIface, vault, 'highwaterId', [], blockTag)) as bigint;
}

/** Health inputs: an expired certification blocks AP transfers; a freeze blocks everything. */
export async function readVaultStatus(
  runner: CallRunner,
  vault: string,
): Promise<{ certificationExpired: boolean; ownerFrozenUntil: bigint }> {
  const [certificationExpired, ownerFrozenUntil] = await Promise.all([
    read(runner, vaultIface, vault, 'isCertificationExpired', []),
    read(runner, vaultIface, vault, 'ownerFrozenUntil', []),
  ]);
  return { certificationExpired: certificationExpired as boolean, ownerFrozenUntil: ownerFrozenUntil as bigint };
}
