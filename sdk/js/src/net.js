// Requests to a wallet the shopper named: never to a private, loopback, link-local, unique-local
// or unspecified address (outside development), and always to the address that was checked.
//
// Node's `fetch` resolves the host name itself when it connects, so a name that resolved to a
// public address for the check could resolve to 127.0.0.1 a moment later (DNS rebinding). This
// `fetch` resolves once, checks every address, and connects to the checked one through
// `node:http`/`node:https` with a `lookup` that returns it: TLS still verifies the certificate
// for the host name, and no second resolution happens.

import { promises as dns } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { sdkError } from './errors.js';

/** Answers larger than this are refused unread (`response_too_large`). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
]) BLOCKED.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (ULA)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
]) BLOCKED.addSubnet(network, prefix, 'ipv6');

/** The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) IPv6 address. */
function embeddedIpv4(address) {
  const groups = expandIpv6(address);
  if (!groups) return null;
  const v4 = (hi, lo) => [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  const zero = (from, to) => groups.slice(from, to).every((g) => g === 0);
  if (zero(0, 5) && groups[5] === 0xffff) return v4(groups[6], groups[7]);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6)) return v4(groups[6], groups[7]);
  if (groups[0] === 0x2002) return v4(groups[1], groups[2]);
  return null;
}

/** Eight 16-bit groups of an IPv6 address (with a dotted IPv4 tail or not), or null. */
function expandIpv6(address) {
  let text = address.split('%')[0].toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const part = (s) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array(Math.max(fill, 0)).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * True for an address a wallet must not be at: private, loopback, link-local, unique-local,
 * unspecified, multicast, documentation or other special-purpose ranges, also when written as
 * an IPv4-mapped, NAT64 or 6to4 IPv6 address. Anything that is not an IP address counts as
 * private too.
 */
export function isPrivateAddress(address) {
  const text = String(address).replace(/^\[|\]$/g, '');
  const family = isIP(text.split('%')[0]);
  if (family === 4) return BLOCKED.check(text, 'ipv4');
  if (family !== 6) return true;
  const bare = text.split('%')[0];
  if (BLOCKED.check(bare, 'ipv6')) return true;
  const v4 = embeddedIpv4(bare);
  return v4 !== null && BLOCKED.check(v4, 'ipv4');
}

/** Resolves `hostname` once: every address, checked unless `development`. */
export async function resolveChecked(hostname, { development = false, lookup = dns.lookup } = {}) {
  const bare = hostname.replace(/^\[|\]$/g, '');
  let addresses;
  if (isIP(bare)) {
    addresses = [{ address: bare, family: isIP(bare) }];
  } else {
    try {
      addresses = await lookup(bare, { all: true, verbatim: true });
    } catch (err) {
      throw new TypeError('fetch failed', { cause: err });
    }
    if (!Array.isArray(addresses) || addresses.length === 0) {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error(`${bare} has no address`), { code: 'ENOTFOUND' }) });
    }
  }
  if (!development) {
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused) {
      throw sdkError('private_address', `${bare} resolves to a private, loopback or otherwise non-public address (${refused.address}): a wallet must be on the public internet`);
    }
  }
  return addresses;
}

function headerEntries(headers) {
  if (!headers) return [];
  if (typeof headers.entries === 'function' && !(headers instanceof Map) && !Array.isArray(headers)) return [...headers.entries()];
  if (Array.isArray(headers)) return headers;
  return Object.entries(headers);
}

async function bodyBytes(body) {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof Blob !== 'undefined' && body instanceof Blob) return Buffer.from(await body.arrayBuffer());
  throw new TypeError('unsupported request body');
}

/**
 * A `fetch` (the subset the SDK and its libraries use: method, headers, a string, form or
 * bytes body, `signal`) that checks the address of every request's host and connects to that
 * address. Redirects are never followed: a 3xx comes back as it is. Bodies over `maxBytes` are
 * refused with `response_too_large`. Call `close()` to drop kept-alive connections.
 */
export function guardedFetch({ development = false, lookup, maxBytes = DEFAULT_MAX_RESPONSE_BYTES } = {}) {
  const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
  const guarded = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.protocol !== 'https:' && !(development && url.protocol === 'http:')) {
      throw sdkError('insecure_wallet', `refusing ${url.protocol}// for ${url.host}: a wallet is reached over https (http only in development)`);
    }
    const signal = init.signal ?? null;
    signal?.throwIfAborted();
    const [{ address, family }] = await resolveChecked(url.hostname, { development, lookup });
    signal?.throwIfAborted();
    const limit = init.maxBytes ?? maxBytes;
    const body = await bodyBytes(init.body);
    const headers = {};
    for (const [name, value] of headerEntries(init.headers)) headers[name.toLowerCase()] = value;
    if (body && init.body instanceof URLSearchParams && !headers['content-type']) headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
    if (body) headers['content-length'] = String(body.length);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err) => {
        if (settled) return;
        settled = true;
        if (signal?.aborted) return reject(signal.reason);
        reject(err instanceof TypeError || err?.name === 'SaifuError' ? err : new TypeError('fetch failed', { cause: err }));
      };
      const req = transport.request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: (init.method ?? 'GET').toUpperCase(),
        headers,
        agent: agents[url.protocol],
        // The connection goes to the address checked above, whatever the name resolves to now.
        lookup: (_host, options, callback) => (options?.all ? callback(null, [{ address, family }]) : callback(null, address, family)),
        signal: signal ?? undefined,
      }, (res) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > limit) {
          fail(sdkError('response_too_large', `the answer from ${url.host} is larger than ${limit} bytes`));
          return res.destroy();
        }
        const chunks = [];
        let size = 0;
        res.on('data', (chunk) => {
          size += chunk.length;
          if (size > limit) {
            fail(sdkError('response_too_large', `the answer from ${url.host} is larger than ${limit} bytes`));
            res.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('the connection closed early')));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          const responseHeaders = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
          const noBody = [204, 205, 304].includes(res.statusCode) || req.method === 'HEAD';
          resolve(new Response(noBody ? null : Buffer.concat(chunks), { status: res.statusCode, statusText: res.statusMessage, headers: responseHeaders }));
        });
      });
      req.on('error', fail);
      req.end(body ?? undefined);
    });
  };
  guarded.close = () => {
    for (const agent of Object.values(agents)) agent.destroy();
  };
  return guarded;
}
