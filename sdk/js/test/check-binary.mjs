// Run before the tests: they start a real wallet from the built binary and drive headless
// Chromium, and build or install nothing themselves.
import { accessSync, constants } from 'node:fs';
import { CHROMIUM, SAIFU_BIN } from './helpers.mjs';

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

if (!executable(SAIFU_BIN)) {
  console.error(`The JS SDK tests need the wallet binary at ${SAIFU_BIN}, and it is missing.\n` +
    'Build it first from the repository root with:  cargo build --bin saifu\n' +
    '(or point SAIFU_BIN at a built saifu binary).');
  process.exit(1);
}
if (!executable(CHROMIUM)) {
  console.error(`The JS SDK tests need Chromium at ${CHROMIUM}, and it is missing.\n` +
    'Install it with:  apt-get install -y chromium   (or point CHROMIUM_PATH at a Chromium binary).');
  process.exit(1);
}
