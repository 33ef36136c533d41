import fs from 'node:fs';
import { Wallet } from 'ethers';

/**
 * The issuer's key at rest: an encrypted JSON keystore (Web3 Secret Storage, scrypt), opened with a
 * password read from a file. The private key itself is never written anywhere else.
 */
export async function createKeystoreFile(options: { file: string; password: string; privateKey?: string }): Promise<{ address: string }> {
  if (options.password.length < 12) throw new Error('the keystore password must be at least 12 characters');
  if (fs.existsSync(options.file)) throw new Error(`${options.file} already exists; refusing to overwrite a keystore`);
  const wallet = options.privateKey ? new Wallet(options.privateKey) : Wallet.createRandom();
  const json = await wallet.encrypt(options.password);
  fs.writeFileSync(options.file, json, { mode: 0o600, flag: 'wx' });
  return { address: wallet.address.toLowerCase() };
}

/** Opens the keystore; the password comes from a file (a mounted secret), never from the environment or a log. */
export async function openKeystoreFile(keystoreFile: string, passwordFile: string): Promise<Wallet> {
  const json = fs.readFileSync(keystoreFile, 'utf8');
  const password = fs.readFileSync(passwordFile, 'utf8').trim();
  return (await Wallet.fromEncryptedJson(json, password)) as Wallet;
}
