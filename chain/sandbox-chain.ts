import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { JsonRpcProvider, Wallet, encryptKeystoreJson, toBeHex } from 'ethers';
import { type DeployedVault, deployVault } from './deploy';
import { type Devnet, startDevnet } from './devnet';

export interface SandboxChain {
  devnet: Devnet;
  vault: DeployedVault;
  issuerAddress: string;
  keystoreFile: string;
  keystorePasswordFile: string;
  /** DEVNET ONLY: funded accounts the sandbox's authorized participant uses. */
  apAccount: { address: string; privateKey: string };
}

/**
 * A local devnet with our vault deployed and a freshly generated issuer key, stored the way production
 * stores it (an encrypted JSON keystore plus a password file), and funded for gas.
 */
export async function startSandboxChain(dir: string, options: { blockTime?: number; statePath?: string } = {}): Promise<SandboxChain> {
  fs.mkdirSync(dir, { recursive: true });
  // Deploy on automine (fast), then switch to interval mining if asked.
  const devnet = await startDevnet({ statePath: options.statePath });
  try {
    const provider = new JsonRpcProvider(devnet.rpcUrl, devnet.chainId, { staticNetwork: true, cacheTimeout: -1 });
    const issuer = Wallet.createRandom();
    const password = crypto.randomBytes(24).toString('hex');
    // Light scrypt: a throwaway sandbox key, opened at every start. Production keystores use ethers' defaults.
    const json = await encryptKeystoreJson({ address: issuer.address, privateKey: issuer.privateKey }, password, { scrypt: { N: 1 << 12 } });
    const keystoreFile = path.join(dir, 'issuer-keystore.json');
    const keystorePasswordFile = path.join(dir, 'issuer-keystore.password');
    fs.writeFileSync(keystoreFile, json, { mode: 0o600 });
    fs.writeFileSync(keystorePasswordFile, password, { mode: 0o600 });
    await provider.send('anvil_setBalance', [issuer.address, toBeHex(10n ** 20n)]);
    const deployer = new Wallet(devnet.accounts[0]!.privateKey, provider);
    const vault = await deployVault(deployer, { name: 'Sandbox Apple Inc. tokenized share', symbol: 'tAAPL', issuer: issuer.address });
    if (options.blockTime) await provider.send('evm_setIntervalMining', [options.blockTime]);
    provider.destroy();
    return { devnet, vault, issuerAddress: issuer.address.toLowerCase(), keystoreFile, keystorePasswordFile, apAccount: devnet.accounts[1]! };
  } catch (err) {
    await devnet.stop();
    throw err;
  }
}
