import fs from 'node:fs';
import type { Command } from 'commander';
import { CliFailure } from '../errors';
import { print, printJson } from '../output';
import type { CommandContext } from '../context';

const PRIVATE_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

export function keystoreCommands(program: Command, context: CommandContext): void {
  program
    .command('keystore')
    .description("the issuer's encrypted signing key")
    .command('create')
    .description('write a new encrypted keystore (a fresh key, or one imported from a file); prints only the address')
    .requiredOption('--out <file>', 'keystore file to write (must not exist)')
    .requiredOption('--password-file <file>', 'file holding the password (at least 12 characters)')
    .option('--import-key-file <file>', 'file holding an existing private key (hex) to encrypt instead of a fresh one')
    .action(async (o, cmd: Command) => {
      const password = readSecret(o.passwordFile, '--password-file');
      let privateKey: string | undefined;
      if (o.importKeyFile !== undefined) {
        privateKey = readSecret(o.importKeyFile, '--import-key-file');
        // Checked here so that no library error message can carry the key.
        if (!PRIVATE_KEY.test(privateKey)) throw new CliFailure(`${o.importKeyFile} does not hold a private key (64 hex digits, optionally 0x-prefixed)`);
        if (!privateKey.startsWith('0x')) privateKey = `0x${privateKey}`;
      }
      // Loaded on use: ethers is not needed by the other commands.
      const { createKeystoreFile } = require('../../chain/keystore') as typeof import('../../chain/keystore');
      let created: { address: string };
      try {
        created = await createKeystoreFile({ file: o.out, password, privateKey });
      } catch (err) {
        const message = String((err as Error).message ?? err);
        throw new CliFailure(privateKey !== undefined && message.includes(privateKey.slice(2)) ? 'the key could not be encrypted' : message.split('\n')[0]!);
      }
      if (context.json(cmd)) printJson({ file: o.out, address: created.address });
      else print(`wrote ${o.out} (mode 0600) for issuer address ${created.address}`);
    });
}

/** A secret from a file, without its trailing newline (as the service reads the password). */
function readSecret(file: string, flag: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new CliFailure(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!text) throw new CliFailure(`${flag} ${file} is empty`);
  return text;
}
