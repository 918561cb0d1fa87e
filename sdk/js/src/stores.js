// Where a shop keeps its registrations, one per wallet issuer. A registration holds secrets
// (the client secret, the registration access token, the webhook secret): a store keeps them
// as a database keeps passwords, and nothing else should read them.
//
// A store is any object with these four methods (see `RegistrationStore` in index.d.ts):
//   get(issuer) → the record or null;  set(issuer, record);  delete(issuer);  list() → records.
// Records are plain JSON objects.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { sdkError } from './errors.js';

const clone = (record) => (record == null ? null : structuredClone(record));
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Registrations in memory, for tests and a single short-lived process: lost on restart. */
export class MemoryRegistrationStore {
  #records = new Map();

  async get(issuer) {
    return clone(this.#records.get(issuer));
  }

  async set(issuer, record) {
    this.#records.set(issuer, clone(record));
  }

  async delete(issuer) {
    this.#records.delete(issuer);
  }

  async list() {
    return [...this.#records.values()].map(clone);
  }

  [INSPECT]() {
    return `MemoryRegistrationStore { ${this.#records.size} registration(s) }`;
  }
}

/**
 * Registrations in one JSON file, readable by its owner only (mode 0o600). Each change writes
 * a temporary file beside it (also 0o600), flushes it to disk and renames it over the file, so
 * a crash leaves the old file or the new one, never half of one. Changes made through one store
 * object are applied one after the other; don't share the file between processes.
 */
export class FileRegistrationStore {
  #file;
  #queue = Promise.resolve();

  constructor(file) {
    if (typeof file !== 'string' || !file) throw sdkError('invalid_config', 'FileRegistrationStore needs a file path');
    this.#file = path.resolve(file);
  }

  get file() {
    return this.#file;
  }

  async #read() {
    let text;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT') return {};
      throw err;
    }
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      throw sdkError('invalid_store', `the registration store ${this.#file} is not valid JSON`);
    }
    if (!data || typeof data !== 'object' || data.version !== 1 || typeof data.registrations !== 'object' || data.registrations === null) {
      throw sdkError('invalid_store', `the registration store ${this.#file} is not a Saifu registration file (version 1)`);
    }
    return data.registrations;
  }

  async #write(registrations) {
    await mkdir(path.dirname(this.#file), { recursive: true, mode: 0o700 });
    const temp = `${this.#file}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify({ version: 1, registrations }, null, 2)}\n`, 'utf8');
      await handle.chmod(0o600);
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => {});
      await rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    try {
      await rename(temp, this.#file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** Runs `change` after every change queued before it. */
  #serial(change) {
    const run = this.#queue.then(change);
    this.#queue = run.catch(() => {});
    return run;
  }

  async get(issuer) {
    await this.#queue;
    return clone((await this.#read())[issuer]);
  }

  set(issuer, record) {
    return this.#serial(async () => {
      const registrations = await this.#read();
      registrations[issuer] = clone(record);
      await this.#write(registrations);
    });
  }

  delete(issuer) {
    return this.#serial(async () => {
      const registrations = await this.#read();
      if (!(issuer in registrations)) return;
      delete registrations[issuer];
      await this.#write(registrations);
    });
  }

  async list() {
    await this.#queue;
    return Object.values(await this.#read()).map(clone);
  }

  [INSPECT]() {
    return `FileRegistrationStore { file: ${JSON.stringify(this.#file)} }`;
  }
}
