// saifu-sdk: the merchant's server side of Saifu for Node.js 20+.
export { SaifuClient, Grant, randomToken } from './client.js';
export { SaifuError } from './errors.js';
export { verifyWebhook, EVENT_TYPES, WEBHOOK_TOLERANCE_SECS } from './webhooks.js';
export { parseWalletAddress } from './address.js';
export { isPrivateAddress } from './net.js';
export { MemoryRegistrationStore, FileRegistrationStore } from './stores.js';
export { SaifuWallets, Registration, discoverWallet } from './wallets.js';
