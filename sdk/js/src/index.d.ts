// Types of saifu-sdk (hand-written; the JavaScript is in index.js).

export interface Amount { currency: string; amount: string }
export interface LineItem { name: string; quantity: number; unit_amount: string }
/** One `authorization_details` entry of type `payment`, as it travels. */
export interface PaymentDetails {
  type: 'payment';
  instructed_amount: Amount;
  order_reference: string;
  line_items?: LineItem[];
  /** Points the shopper redeemed at consent; only in granted details. */
  points_redeemed?: number;
  /** `{ required: true }` asks the shopper for an address; granted details carry the one chosen. */
  shipping?: Shipping;
}
/** A shipping address as the merchant receives it: a copy made at approval (Japan only for now). */
export interface ShippingAddress {
  name: string;
  /** `NNN-NNNN`. */
  postal_code: string;
  /** One of the 47 prefectures, in romaji: `Tokyo`, `Hokkaido`, `Osaka`. */
  prefecture: string;
  city: string;
  line1: string;
  line2?: string;
  /** Digits, with a leading `+` when international. */
  phone: string;
  /** ISO 3166-1 alpha-2: `JP`. */
  country: string;
}
export interface Shipping {
  required: boolean;
  /** Only in granted details. */
  address?: ShippingAddress;
}
/** What `startCheckout` takes: JS-style fields, or a wire-style `PaymentDetails`. */
export type CheckoutDetails =
  | { currency: string; amount: string; orderReference: string; lineItems?: { name: string; quantity: number; unitAmount: string }[]; requireShipping?: boolean }
  | PaymentDetails;

/** Plain JSON to keep in the shopper's session between startCheckout and the callback. Holds the PKCE verifier: keep it server-side. */
export interface PendingCheckout { state: string; codeVerifier: string; redirectUri: string; orderReference: string }

export interface GrantClaims {
  iss: string; aud: string; sub: string; client_id: string; iat: number; exp: number; jti: string;
  authorization_details: PaymentDetails[];
  [claim: string]: unknown;
}

export declare class Grant {
  /** The grant JWT (a bearer credential: hidden from inspect and JSON). */
  readonly token: string;
  expiresIn: number;
  authorizationDetails: PaymentDetails[];
  claims: GrantClaims;
  /** The signed payment details. */
  readonly payment: PaymentDetails | null;
  /** The address the shopper chose for this order, when the checkout asked for one (`requireShipping`). */
  readonly shippingAddress: ShippingAddress | null;
}

export interface Payment {
  id: string;
  status: 'authorized' | 'captured' | 'voided' | 'declined';
  amount: string; captured_amount: string; refunded_amount: string; currency: string;
  order_reference: string;
  card: { brand: string; last4: string };
  points_earned: number; points_redeemed: number;
  created_at: string;
}

export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  pushed_authorization_request_endpoint: string;
  jwks_uri: string;
  require_pushed_authorization_requests: boolean;
  code_challenge_methods_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  authorization_details_types_supported: string[];
  authorization_response_iss_parameter_supported: boolean;
  [field: string]: unknown;
}

export interface DiscoverOptions {
  /** The wallet's issuer, e.g. https://wallet.example/ (http only for localhost). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
  /** Retries of a payments API call after a network error or a 5xx (default 2). */
  maxRetries?: number;
  /** Timeout of one request in milliseconds (default 30000). */
  timeoutMs?: number;
}

export interface PostOptions { idempotencyKey?: string }

export declare class Payments {
  create(options: { grant: Grant | string; amount?: Amount; capture?: boolean; idempotencyKey?: string }): Promise<Payment>;
  capture(paymentId: string, options?: { amount?: Amount; idempotencyKey?: string }): Promise<Payment>;
  void(paymentId: string, options?: PostOptions): Promise<Payment>;
  refund(paymentId: string, options: { amount: Amount; idempotencyKey?: string }): Promise<Payment>;
  get(paymentId: string): Promise<Payment>;
  findByOrderReference(orderReference: string): Promise<Payment>;
  /** The receipt the wallet signed at the shopper's approval: a compact JWS. */
  receipt(paymentId: string): Promise<string>;
}

/** What a receipt says (see the wallet's README, "Receipts"). */
export interface ReceiptClaims {
  iss: string;
  iat: number;
  receipt_version: number;
  /** The approval (consent) the receipt is of. */
  payment_reference: string;
  grant_id: string;
  merchant: { client_id: string; name: string; domain: string; status: string };
  order_reference: string;
  amount: Amount;
  line_items: { name: string; quantity: number; unit_amount: string }[];
  points_used: number;
  /** The earn preview shown at approval; points earned are known at capture. */
  points_earned_estimate: number;
  card: { brand: string; last4: string };
  /** base64url SHA-256: the challenge the shopper's passkey signed. */
  confirmation_sha256: string;
}

export type DisputeStatus = 'open' | 'evidence_received' | 'resolving' | 'resolved';
export type DisputeReason = 'not_received' | 'not_as_described' | 'unauthorized' | 'duplicate';

/** A dispute a shopper opened on one of your payments (also the `data` of `dispute.*` events). */
export interface Dispute {
  id: string;
  payment_id: string;
  status: DisputeStatus;
  reason: DisputeReason;
  description: string;
  amount: Amount;
  /** RFC 3339. */
  opened_at: string;
  /** RFC 3339: your answer is accepted until then. */
  respond_by: string;
  evidence: { text: string; carrier?: string | null; tracking_number?: string | null } | null;
  responded_at: string | null;
  decision: 'merchant_accepted' | 'for_shopper' | 'for_merchant' | null;
  decision_reason: string | null;
  outcome: 'refunded' | 'guarantee_paid' | 'rejected' | null;
  refund_id: string | null;
  /** Paid to the shopper from the issuer's guarantee fund, when the refund could not be made. */
  guarantee_paid: Amount | null;
  /** The part of the disputed amount over the guarantee's cap, not paid. */
  unpaid: Amount | null;
  resolved_at: string | null;
}

export type DisputeAnswer =
  | { accept: true }
  | { evidence: { text: string; carrier?: string; trackingNumber?: string } };

export declare class Disputes {
  list(options?: { status?: DisputeStatus }): Promise<Dispute[]>;
  get(disputeId: string): Promise<Dispute>;
  respond(disputeId: string, answer: DisputeAnswer, options?: PostOptions): Promise<Dispute>;
}

/** One currency of a points statement; amounts at the point value of each payment's programme version. */
export interface PointsStatementLine {
  currency: string;
  /** Points issued at your shop that your campaigns fund: earned less taken back by refunds. */
  points_issued: number;
  /** Points redeemed at your shop, which the programme reimburses: redeemed less given back by refunds. */
  points_redeemed: number;
  /** What you owe for `points_issued`. */
  issued_amount: Amount;
  /** What the programme owes you for `points_redeemed`. */
  redeemed_amount: Amount;
  /** `redeemed_amount − issued_amount`: positive, the programme pays you; negative (`"-128"`), you pay. */
  net_amount: Amount;
}

/** Your points statement for one UTC calendar month, `[from, to)`. */
export interface PointsStatement {
  object: 'points_statement';
  client_id: string;
  /** `YYYY-MM`. */
  month: string;
  /** RFC 3339, the month's first instant. */
  from: string;
  /** RFC 3339, the next month's first instant (not included). */
  to: string;
  /** One per currency with activity; empty for a month without any. */
  lines: PointsStatementLine[];
}

export declare class Points {
  /** `GET /v1/points/statements?month=YYYY-MM`. */
  statement(month: string): Promise<PointsStatement>;
}

export declare class SaifuClient {
  private constructor();
  static discover(options: DiscoverOptions): Promise<SaifuClient>;
  readonly issuer: string;
  readonly clientId: string;
  readonly metadata: Readonly<AuthorizationServerMetadata>;
  readonly payments: Payments;
  readonly disputes: Disputes;
  readonly points: Points;
  startCheckout(details: CheckoutDetails, options: { redirectUri: string }): Promise<{ authorizationUrl: string; pending: PendingCheckout }>;
  completeCheckout(callbackUrl: string | URL, pending: PendingCheckout): Promise<Grant>;
  verifyGrant(jwt: string | Grant): Promise<GrantClaims>;
  /** Verifies a receipt against the wallet's JWKS; gives its content. */
  verifyReceipt(jws: string): Promise<ReceiptClaims>;
}

/** An RFC 9457 problem document of the payments API. */
export interface Problem {
  type: string; title: string; status: number; code: string;
  detail?: string; field?: string; decline_code?: string;
  [member: string]: unknown;
}

export type SaifuErrorSource = 'problem' | 'oauth' | 'sdk';

export declare class SaifuError extends Error {
  name: 'SaifuError';
  /** Stable, for programs: a problem code, an RFC 6749 error, or one of the SDK's own. */
  code: string;
  status: number | null;
  detail: string | null;
  decline_code: string | null;
  readonly declineCode: string | null;
  /** The problem document (or the OAuth error body) as the wallet sent it. */
  problem: Problem | { error: string; error_description?: string } | null;
  source: SaifuErrorSource;
  /** Seconds to wait before trying again, for `too_many_requests` (from `Retry-After`). */
  retryAfter?: number | null;
  /**
   * Trying again with the same idempotency key is safe and may succeed: network errors, 5xx
   * (retried automatically first) and 409 `idempotency_key_in_use` (not retried automatically).
   */
  retryable: boolean;
}

export type EventType =
  | 'payment.authorized' | 'payment.captured' | 'payment.voided' | 'payment.refunded'
  | 'dispute.opened' | 'dispute.resolved' | 'merchant.trust_mark_changed';

export interface WebhookEvent<T = Payment> {
  id: string;
  type: EventType | (string & {});
  /** RFC 3339. */
  timestamp: string;
  data: T;
}

/** The `data` of a `merchant.trust_mark_changed` event. */
export interface TrustMarkChange {
  client_id: string;
  status: 'pending' | 'verified' | 'suspended';
  previous_status: 'pending' | 'verified' | 'suspended';
  /** Whether the consent page shows the issuer's trust mark. */
  verified: boolean;
  /** The issuer's reason (always given for a suspension). */
  reason: string | null;
  /** Unix seconds. */
  changed_at: number;
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** Verifies a webhook delivery; throws a SaifuError (answer 400) when it does not verify. */
export declare function verifyWebhook(rawBody: string | Uint8Array, headers: WebhookHeaders, secret: string | string[]): WebhookEvent;
export declare const EVENT_TYPES: readonly EventType[];
export declare const WEBHOOK_TOLERANCE_SECS: number;
/** 32 random bytes, base64url: a fresh idempotency key. */
export declare function randomToken(): string;

// ---- Any Saifu wallet: wallet addresses, discovery, dynamic registration (RFC 7591/7592) ----

/** A wallet address parsed: `issuer` is `https://host[:port]/` (`http://localhost:PORT/` in development). */
export interface WalletAddress {
  issuer: string;
  /** The host, with the port when one was given. */
  host: string;
  /** The part before `@` in `name@wallet.example.jp`, or null. */
  account: string | null;
}

/**
 * Parses `wallet.example.jp`, `name@wallet.example.jp`, either with `:port`, or
 * `https://wallet.example.jp`. Throws `invalid_wallet_address`, or `private_address` for a
 * loopback or private host outside development.
 */
export declare function parseWalletAddress(address: string, options?: { development?: boolean }): WalletAddress;

/** True for private, loopback, link-local, unique-local, unspecified and other non-public addresses (also IPv4-mapped). */
export declare function isPrivateAddress(address: string): boolean;

/** A `dns.promises.lookup` with `{ all: true }`: every address of a host. */
export type LookupAll = (hostname: string, options: { all: true; verbatim?: boolean }) => Promise<{ address: string; family: number }[]>;

export interface DiscoverWalletOptions {
  /** Accept `http://localhost` and private addresses (a wallet on your machine). Default false. */
  development?: boolean;
  /** Timeout of the metadata request in milliseconds (default 10000). */
  timeoutMs?: number;
  /** The resolver (default `dns.promises.lookup`). */
  lookup?: LookupAll;
}

/**
 * Fetches and checks the RFC 8414 metadata of the wallet at `address`: no redirect followed,
 * at most 64 KiB, the issuer the address names, PAR required, S256, `payment` details,
 * `client_secret_basic`, https endpoints. Outside development the host's addresses are
 * checked and the request goes to a checked one.
 */
export declare function discoverWallet(address: string, options?: DiscoverWalletOptions): Promise<{ issuer: string; metadata: AuthorizationServerMetadata & { registration_endpoint?: string } }>;

/**
 * One stored registration, as the wallet answered it (RFC 7591 names) plus `issuer`. It holds
 * secrets: `client_secret`, `registration_access_token` and `webhook_secret`.
 */
export interface RegistrationRecord {
  issuer: string;
  client_id: string;
  client_secret: string;
  client_id_issued_at?: number;
  /** 0: never expires. */
  client_secret_expires_at?: number;
  registration_access_token: string;
  registration_client_uri: string;
  client_name: string;
  redirect_uris: string[];
  token_endpoint_auth_method?: string;
  client_uri?: string;
  logo_uri?: string;
  webhook_url?: string;
  /** Given once, when the shop registered with a webhook URL. */
  webhook_secret?: string;
  saifu_status?: 'pending' | 'verified' | 'suspended';
  [field: string]: unknown;
}

/**
 * Where a shop keeps its registrations, one per wallet issuer: implement it on your database
 * for several processes. Records are plain JSON; keep them as you keep other secrets.
 */
export interface RegistrationStore {
  /** The record for `issuer`, or null (undefined) when there is none. */
  get(issuer: string): Promise<RegistrationRecord | null | undefined>;
  set(issuer: string, record: RegistrationRecord): Promise<void>;
  delete(issuer: string): Promise<void>;
  /** Every record (for `SaifuWallets.verifyWebhook` and `registrations()`). */
  list(): Promise<RegistrationRecord[]>;
}

/** In memory: for tests and a single short-lived process. */
export declare class MemoryRegistrationStore implements RegistrationStore {
  get(issuer: string): Promise<RegistrationRecord | null>;
  set(issuer: string, record: RegistrationRecord): Promise<void>;
  delete(issuer: string): Promise<void>;
  list(): Promise<RegistrationRecord[]>;
}

/** One JSON file, mode 0o600, each change written to a temporary file and renamed over it. One process per file. */
export declare class FileRegistrationStore implements RegistrationStore {
  constructor(file: string);
  readonly file: string;
  get(issuer: string): Promise<RegistrationRecord | null>;
  set(issuer: string, record: RegistrationRecord): Promise<void>;
  delete(issuer: string): Promise<void>;
  list(): Promise<RegistrationRecord[]>;
}

/** A registration as `SaifuWallets` gives it: the secrets are getters, hidden from inspect and JSON. */
export declare class Registration {
  readonly issuer: string;
  readonly clientId: string;
  /** `pending` until the wallet's issuer vets the shop. */
  readonly status: 'pending' | 'verified' | 'suspended' | null;
  readonly clientName: string;
  readonly redirectUris: string[];
  readonly clientUri: string | null;
  readonly logoUri: string | null;
  readonly webhookUrl: string | null;
  readonly clientIdIssuedAt: number | null;
  readonly registrationClientUri: string;
  readonly clientSecret: string;
  readonly registrationAccessToken: string;
  readonly webhookSecret: string | null;
}

export interface SaifuWalletsOptions {
  /** The shop's name, as the consent page shows it. */
  clientName: string;
  /** The shop's callback URLs (https; http in development). */
  redirectUris: string[];
  clientUri?: string;
  logoUri?: string;
  /** Where the wallet sends webhooks (Saifu's extension of RFC 7591). */
  webhookUrl?: string;
  /** Default: a MemoryRegistrationStore (lost on restart). */
  store?: RegistrationStore;
  /** Accept `http://localhost` wallets and private addresses. Default false. */
  development?: boolean;
  /** Timeout of discovery and registration requests in milliseconds (default 10000). */
  timeoutMs?: number;
  /** Retries of a payments API call (default 2). */
  maxRetries?: number;
  /** The resolver (default `dns.promises.lookup`). */
  lookup?: LookupAll;
}

/** Changes `update` sends over the shop's options. */
export type RegistrationChanges = Partial<Pick<SaifuWalletsOptions, 'clientName' | 'redirectUris' | 'clientUri' | 'logoUri' | 'webhookUrl'>>;

/** One shop, any Saifu wallet: discovery from a wallet address, one registration per wallet. */
export declare class SaifuWallets {
  constructor(options: SaifuWalletsOptions);
  readonly development: boolean;
  parse(address: string): WalletAddress;
  discover(address: string): ReturnType<typeof discoverWallet>;
  /**
   * A SaifuClient for the shopper's wallet: registers the shop the first time (and sends changed
   * options with RFC 7592), reuses the stored registration after. Errors: `invalid_wallet_address`,
   * `private_address`, `wallet_not_found`, `not_a_saifu_wallet`, `wallet_redirected`,
   * `registration_closed`, `registration_refused`, `too_many_requests`, `network_error`.
   */
  connect(address: string): Promise<SaifuClient>;
  /** RFC 7592 read (refreshes the stored status). */
  registration(address: string): Promise<Registration>;
  /** RFC 7592 update with the shop's options and `changes`. */
  update(address: string, changes?: RegistrationChanges): Promise<Registration>;
  /** RFC 7592 delete, at the wallet and in the store. */
  delete(address: string): Promise<void>;
  /** Drops the stored registration without asking the wallet; the next `connect` registers anew. */
  forget(address: string): Promise<void>;
  registrations(): Promise<Registration[]>;
  /** Verifies a webhook with the secret of the wallet that signed it. */
  verifyWebhook(rawBody: string | Uint8Array, headers: WebhookHeaders): Promise<{ issuer: string; event: WebhookEvent }>;
  /** Drops kept-alive connections. */
  close(): void;
}
