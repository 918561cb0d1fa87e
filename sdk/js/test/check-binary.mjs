// Run before the tests: they start a real wallet from the built binary and build nothing.
import { accessSync, constants } from 'node:fs';
import { SAIFU_BIN } from './helpers.mjs';

try {
  accessSync(SAIFU_BIN, constants.X_OK);
} catch {
  console.error(`The JS SDK tests need the wallet binary at ${SAIFU_BIN}, and it is missing.\n` +
    'Build it first from the repository root with:  cargo build --bin saifu\n' +
    '(or point SAIFU_BIN at a built saifu binary).');
  process.exit(1);
}
