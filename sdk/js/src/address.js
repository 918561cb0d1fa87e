// A wallet address, as a shopper types it at checkout: `wallet.example.jp`,
// `name@wallet.example.jp`, either with a port (`wallet.example.jp:8443`), or the issuer URL
// itself (`https://wallet.example.jp`). It names the wallet's issuer, `https://host[:port]/`.

import { isIP } from 'node:net';
import { sdkError } from './errors.js';
import { isPrivateAddress } from './net.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);
const MAX_LENGTH = 320;

const invalid = (why) => sdkError('invalid_wallet_address', `not a wallet address: ${why}`);

/**
 * Parses a wallet address into `{ issuer, host, account }`: `issuer` is the wallet's issuer
 * URL (`https://wallet.example.jp/`, with a port when one was given), `host` its host (and
 * port), `account` the part before `@` (or null). `http://localhost:PORT` (and `localhost:PORT`
 * typed without a scheme) is accepted in development only; outside development the wallet is
 * reached over https and an IP address in a private or loopback range is refused
 * (`private_address`).
 */
export function parseWalletAddress(address, { development = false } = {}) {
  if (typeof address !== 'string') throw invalid('it is not a string');
  const text = address.trim();
  if (!text) throw invalid('it is empty');
  if (text.length > MAX_LENGTH) throw invalid('it is too long');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme && !['https', 'http'].includes(scheme[1].toLowerCase())) throw invalid(`${scheme[1].toLowerCase()}:// is not a wallet's scheme`);
  if (/[\s/\\?#]/.test(text.replace(/^https?:\/\//i, '').replace(/\/$/, ''))) throw invalid('it may hold no spaces, path, query or fragment');

  let account = null;
  let rest = text;
  if (scheme) {
    rest = text.slice(scheme[0].length).replace(/\/$/, '');
    if (rest.includes('@')) throw invalid('an issuer URL carries no user name');
  } else {
    const at = text.lastIndexOf('@');
    if (at >= 0) {
      account = text.slice(0, at);
      rest = text.slice(at + 1);
      if (!account || /[@:]/.test(account)) throw invalid('the part before @ is not a name');
    }
  }
  if (!rest) throw invalid('it has no host');

  let url;
  try {
    url = new URL(`https://${rest}`);
  } catch {
    throw invalid(`${rest} is not a host name`);
  }
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) throw invalid(`${rest} is not a host name`);
  const hostname = url.hostname;
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (!isIP(bare)) {
    if (hostname.length > 253 || !hostname.split('.').every((label) => /^(?!-)[a-z0-9-]{1,63}(?<!-)$/.test(label))) {
      throw invalid(`${hostname} is not a host name`);
    }
    if (!hostname.includes('.') && hostname !== 'localhost') throw invalid(`${hostname} is not a full domain name`);
  }

  const loopback = LOOPBACK_NAMES.has(hostname);
  let protocol = 'https:';
  if (scheme?.[1].toLowerCase() === 'http' || (!scheme && loopback && development)) {
    if (!(development && loopback)) throw invalid('a wallet is reached over https (http://localhost only in development)');
    protocol = 'http:';
  }
  if (!development && (hostname === 'localhost' || hostname.endsWith('.localhost') || (isIP(bare) && isPrivateAddress(bare)))) {
    throw sdkError('private_address', `${hostname} is a private or loopback address: a wallet must be on the public internet`);
  }
  const issuer = new URL(`${protocol}//${url.host}/`).href;
  return { issuer, host: url.host, account };
}
