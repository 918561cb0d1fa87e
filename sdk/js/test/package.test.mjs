// Offline checks: the README's SRI hash, the packed file list, and webhook verification with
// the Standard Webhooks test vector and signed Saifu events.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { inspect, promisify } from 'node:util';
import standardwebhooks from 'standardwebhooks';
import { SaifuError, verifyWebhook } from '../src/index.js';
import { PACKAGE_ROOT } from './helpers.mjs';

describe('package', () => {
  it('the README publishes the SRI hash of the button as it is', async () => {
    const js = await readFile(path.join(PACKAGE_ROOT, 'browser', 'saifu-pay-button.js'));
    const expected = `sha384-${createHash('sha384').update(js).digest('base64')}`;
    const readme = await readFile(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const published = [...readme.matchAll(/sha384-[A-Za-z0-9+/=]{64}/g)].map((m) => m[0]);
    assert.ok(published.length >= 1, 'the README has an SRI hash');
    for (const hash of published) assert.equal(hash, expected, 'README.md SRI hash is stale: recompute it');
  });

  it('npm pack ships the code, the types and the README, and no tests', async () => {
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE_ROOT });
    const files = JSON.parse(stdout)[0].files.map((f) => f.path).sort();
    for (const f of ['README.md', 'package.json', 'src/index.js', 'src/index.d.ts', 'browser/saifu-pay-button.js', 'browser/saifu-pay-button.d.ts', 'examples/shop.mjs', 'examples/any-wallet-shop.mjs']) {
      assert.ok(files.includes(f), `${f} is packed: ${files}`);
    }
    assert.deepEqual(files.filter((f) => f.startsWith('test/') || /\.test\./.test(f) || f.startsWith('node_modules/')), []);
  });
});

describe('verifyWebhook', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const signer = new standardwebhooks.Webhook(secret);
  const sign = (body, { id = 'evt_1', at = new Date() } = {}) => ({
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signer.sign(id, at, body),
  });
  const body = JSON.stringify({ id: 'evt_1', type: 'payment.captured', timestamp: '2026-11-21T09:30:00Z', data: { id: 'pay_1', status: 'captured', order_reference: 'A-1' } });

  it('accepts a signed event and returns it typed', () => {
    const event = verifyWebhook(Buffer.from(body), sign(body), secret);
    assert.equal(event.type, 'payment.captured');
    assert.equal(event.data.order_reference, 'A-1');
  });

  it('the Standard Webhooks test vector verifies but is not a Saifu event', () => {
    // Its timestamp is from 2021: only the signature is checked here, through the library.
    const at = new Date(1614265330 * 1000);
    assert.equal(signer.sign('msg_p5jXN8AQM9LWM0D4loKWxJek', at, '{"test": 2432232314}'), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    const now = new Date();
    const headers = sign('{"test": 2432232314}', { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', at: now });
    assert.throws(() => verifyWebhook('{"test": 2432232314}', headers, secret), (e) => e instanceof SaifuError && e.code === 'webhook_invalid_body');
  });

  it('refuses a mismatched id, a future timestamp, a bad timestamp and an empty secret list', () => {
    const other = sign(body, { id: 'evt_2' });
    assert.throws(() => verifyWebhook(body, other, secret), (e) => e.code === 'webhook_id_mismatch');
    const future = sign(body, { at: new Date(Date.now() + 600_000) });
    assert.throws(() => verifyWebhook(body, future, secret), (e) => e.code === 'webhook_timestamp_out_of_tolerance');
    assert.throws(() => verifyWebhook(body, { ...sign(body), 'webhook-timestamp': '12a' }, secret), (e) => e.code === 'webhook_invalid_timestamp');
    assert.throws(() => verifyWebhook(body, sign(body), []), (e) => e.code === 'webhook_no_secret');
  });

  it('errors show no secret', () => {
    try {
      verifyWebhook(body, { ...sign(body), 'webhook-signature': 'v1,AAAA' }, secret);
      assert.fail('expected a refusal');
    } catch (e) {
      assert.equal(e.code, 'webhook_signature_invalid');
      for (const shown of [e.message, inspect(e), JSON.stringify(e)]) assert.ok(!shown.includes(secret.slice(6)));
    }
  });
});
