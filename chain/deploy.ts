// Deploys our test vault (authorizer, vault, receipt) for sandbox mode and tests.
import { ContractFactory, getAddress, id, type Signer } from 'ethers';
import { loadArtifact } from './contracts/artifacts';

/** Role ids as the authorizer computes them: keccak256 of the role name. */
export const ROLES = {
  DEPOSIT: id('DEPOSIT'),
  WITHDRAW: id('WITHDRAW'),
  CERTIFY: id('CERTIFY'),
} as const;
export type RoleName = keyof typeof ROLES;

export interface DeployVaultOptions {
  name: string;
  symbol: string;
  /** Gets DEPOSIT, WITHDRAW and CERTIFY; defaults to the deploying signer. */
  issuer?: string;
  /** Unix seconds; defaults to about 100 years after the latest block. */
  certifyUntil?: bigint;
}

export interface DeployedVault {
  vault: string;
  receipt: string;
  authorizer: string;
  /** Block of the vault deployment: where a log poller should start. */
  deployBlock: number;
}

const HUNDRED_YEARS = 100n * 365n * 24n * 3600n;

async function mined(tx: Promise<{ wait(): Promise<unknown> }>): Promise<void> {
  await (await tx).wait();
}

export async function deployVault(signer: Signer, opts: DeployVaultOptions): Promise<DeployedVault> {
  const admin = await signer.getAddress();
  const issuer = getAddress(opts.issuer ?? admin);
  const authArtifact = loadArtifact('Authorizer');
  const vaultArtifact = loadArtifact('ReceiptVault');

  const authorizer = await new ContractFactory(authArtifact.abi, authArtifact.bytecode, signer).deploy(admin);
  await authorizer.waitForDeployment();
  const authorizerAddress = await authorizer.getAddress();

  const vault = await new ContractFactory(vaultArtifact.abi, vaultArtifact.bytecode, signer).deploy(
    opts.name,
    opts.symbol,
    admin,
    authorizerAddress,
  );
  const deployTx = vault.deploymentTransaction();
  const deployReceipt = deployTx ? await deployTx.wait() : null;
  if (!deployReceipt) throw new Error('vault deployment was not mined');
  const vaultAddress = await vault.getAddress();

  for (const role of Object.values(ROLES)) await mined(authorizer.getFunction('grantRole')(role, issuer));

  let certifyUntil = opts.certifyUntil;
  if (certifyUntil === undefined) {
    const latest = await signer.provider?.getBlock('latest');
    if (!latest) throw new Error('signer has no provider to read the latest block');
    certifyUntil = BigInt(latest.timestamp) + HUNDRED_YEARS;
  }
  // Certifying needs CERTIFY; when the issuer is someone else the admin holds it just for this call.
  const borrowCertify = issuer !== admin;
  if (borrowCertify) await mined(authorizer.getFunction('grantRole')(ROLES.CERTIFY, admin));
  await mined(vault.getFunction('certify')(certifyUntil, true, '0x'));
  if (borrowCertify) await mined(authorizer.getFunction('renounceRole')(ROLES.CERTIFY, admin));

  const receipt = getAddress(await vault.getFunction('receipt')());
  return { vault: vaultAddress, receipt, authorizer: authorizerAddress, deployBlock: deployReceipt.blockNumber };
}
