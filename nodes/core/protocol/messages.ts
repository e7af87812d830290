import type { Completion, Cosignature, Proposal, SetupAccept, SetupOffer } from '../flash';
import { KEY_PATTERN, SIG_PATTERN } from './auth';
import type { Schema } from './schema';

/**
 * The messages a station and a vehicle exchange over MQTT, version 1. Every message is a JSON envelope
 * `{v, type, session, seq, from, ts, body, sig}`; the body schema depends on the type. docs/PROTOCOL.md explains them.
 */
export const PROTOCOL_VERSION = 1;

export type Role = 'station' | 'vehicle';

export interface Offer {
  stationId: string;
  /** IOTA tokens per kWh. incrementWh × pricePerKWh is a multiple of 1000, so each increment costs whole tokens. */
  pricePerKWh: number;
  incrementWh: number;
  maxPowerW: number;
  /** Energy the station delivers ahead of payment. */
  creditWh: number;
  /** What the station deposits into the channel next to the vehicle's deposit. */
  stationDeposit: number;
  security: 1 | 2 | 3;
  /** Where the vehicle's IOTA traffic can go, when the station serves its ledger; informational. */
  tangleUrl?: string;
  /** The station's long-term Ed25519 public key (base64url): it signs every station message. */
  stationKey: string;
  /** Fresh for every published offer, so that an old `open` cannot be replayed against a new one. */
  nonce: string;
  /** The station's connectors, and how many of them can take a vehicle now (OCPI: EVSEs with status AVAILABLE). */
  connectors: number;
  freeConnectors: number;
  /** Where the station is: OCPI `Location.coordinates` (WGS 84, decimal degrees as text), a geohash, or both. */
  location?: GeoLocation;
  geohash?: string;
  /** The offer is void after this instant, ms since the epoch; the station publishes it again well before. */
  notAfter: number;
}

/** OCPI's GeoLocation: decimal degrees as strings with 5 to 7 decimals. */
export interface GeoLocation {
  latitude: string;
  longitude: string;
}

export interface OpenRequest {
  vehicleId: string;
  /** Digest (canonical JSON, sha256) of the offer body accepted: the vehicle commits to exactly those terms. */
  offerDigest: string;
  /** Energy the vehicle wants, or 0 for "until full". */
  targetWh: number;
  setup: SetupOffer;
  /** The vehicle's Ed25519 public key for this session (base64url): it signs every vehicle message. */
  vehicleKey: string;
}

export interface OpenAccept {
  setup: SetupAccept;
}

export interface Refusal {
  code: string;
  message: string;
}

export interface DepositNotice {
  /** The deposit bundle's tail transaction, for the peer to watch. */
  tail: string;
  value: number;
}

export interface Claim {
  /** Number of completed increments since the session began. */
  increments: number;
  /** The station meter's register at the end of the last completed increment, Wh. */
  registerWh: number;
  /** The register when the session began. */
  startRegisterWh: number;
  /** When the reading was taken, ms since the epoch. */
  readAt: number;
}

export interface Stop {
  reason: StopReason;
}

export type StopReason = 'target-reached' | 'vehicle-full' | 'unplugged' | 'local-stop' | 'remote-stop' | 'capacity' | 'peer-silent' | 'rollover' | 'old-state' | 'funding-timeout';

export interface Settled {
  bundles: string[];
  tails: string[];
}

export interface ResendRequest {
  /** The first seq the sender of this request is missing. */
  fromSeq: number;
}

export interface Bodies {
  offer: Offer;
  open: OpenRequest;
  'open-accept': OpenAccept;
  'open-reject': Refusal;
  deposit: DepositNotice;
  ready: Record<string, never>;
  claim: Claim;
  proposal: Proposal;
  cosignature: Cosignature;
  completion: Completion;
  stop: Stop;
  settled: Settled;
  error: Refusal;
  resend: ResendRequest;
}

export type MessageType = keyof Bodies;

export interface Envelope<T extends MessageType = MessageType> {
  v: typeof PROTOCOL_VERSION;
  type: T;
  /** The session (and channel) id; empty in an offer. */
  session: string;
  /** The sender's message number within the session: 1, 2, 3…; 0 in an offer. */
  seq: number;
  from: Role;
  /** When the sender sent it, ms since the epoch. */
  ts: number;
  body: Bodies[T];
  /** Ed25519 signature (base64url) of the canonical JSON of the envelope without `sig`. */
  sig: string;
}

export type AnyEnvelope = { [T in MessageType]: Envelope<T> }[MessageType];

// ------------------------------------------------------------------------------------------------------ schemas

const ID = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const HASH = '^[9A-Z]{81}$';
/** OCPI GeoLocation: -90..90 and -180..180 with 5 to 7 decimals, as text. */
const LATITUDE = '^-?(90\\.0{5,7}|[1-8]?[0-9]\\.[0-9]{5,7})$';
const LONGITUDE = '^-?(180\\.0{5,7}|(1[0-7][0-9]|[1-9]?[0-9])\\.[0-9]{5,7})$';
const TRANSACTION = '^[9A-Z]{2673}$';
const tokens: Schema = { type: 'integer', minimum: 0, maximum: 2779530283277761 };
const count: Schema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const text = (maxLength: number): Schema => ({ type: 'string', maxLength });
const object = (properties: Record<string, Schema>, required = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

const digests: Schema = {
  type: 'array',
  maxItems: 64,
  items: object({ node: { type: 'integer', minimum: 1, maximum: 2 ** 22 }, digest: { type: 'string', pattern: '^[9A-Z]{81,243}$' } }),
};
const signatures: Schema = {
  type: 'array',
  maxItems: 22,
  items: { type: 'array', maxItems: 3, items: { type: 'string', pattern: '^[9A-Z]{2187}$' } },
};
const bundleHashes: Schema = { type: 'array', maxItems: 22, items: { type: 'string', pattern: HASH } };
const flashChannelId: Schema = { type: 'string', pattern: ID };

export const BODY_SCHEMAS: { [T in MessageType]: Schema } = {
  offer: object(
    {
      stationId: { type: 'string', pattern: ID },
      pricePerKWh: { type: 'integer', minimum: 0, maximum: 1e12 },
      incrementWh: { type: 'integer', minimum: 1, maximum: 1e6 },
      maxPowerW: { type: 'integer', minimum: 1, maximum: 1e6 },
      creditWh: { type: 'integer', minimum: 0, maximum: 1e6 },
      stationDeposit: tokens,
      security: { enum: [1, 2, 3] },
      tangleUrl: text(200),
      stationKey: { type: 'string', pattern: KEY_PATTERN },
      nonce: { type: 'string', pattern: '^[0-9a-f]{16,64}$' },
      connectors: { type: 'integer', minimum: 1, maximum: 1000 },
      freeConnectors: { type: 'integer', minimum: 0, maximum: 1000 },
      location: object({ latitude: { type: 'string', pattern: LATITUDE }, longitude: { type: 'string', pattern: LONGITUDE } }),
      geohash: { type: 'string', pattern: '^[0-9b-hjkmnp-z]{1,12}$' },
      notAfter: count,
    },
    ['stationId', 'pricePerKWh', 'incrementWh', 'maxPowerW', 'creditWh', 'stationDeposit', 'security', 'stationKey', 'nonce', 'connectors', 'freeConnectors', 'notAfter'],
  ),
  open: object({
    vehicleId: { type: 'string', pattern: ID },
    offerDigest: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    targetWh: count,
    setup: object({
      type: { const: 'setup-offer' },
      version: { const: 1 },
      channelId: flashChannelId,
      security: { enum: [1, 2, 3] },
      depth: { type: 'integer', minimum: 0, maximum: 20 },
      deposits: { type: 'array', minItems: 2, maxItems: 2, items: tokens },
      settlementAddress: { type: 'string', pattern: HASH },
      digests,
    }),
    vehicleKey: { type: 'string', pattern: KEY_PATTERN },
  }),
  'open-accept': object({
    setup: object({ type: { const: 'setup-accept' }, channelId: flashChannelId, settlementAddress: { type: 'string', pattern: HASH }, digests }),
  }),
  'open-reject': object({ code: text(64), message: text(500) }),
  deposit: object({ tail: { type: 'string', pattern: HASH }, value: tokens }),
  ready: object({}),
  claim: object({ increments: count, registerWh: count, startRegisterWh: count, readAt: count }),
  proposal: object({
    type: { const: 'proposal' },
    channelId: flashChannelId,
    seq: count,
    transfer: object({ from: { enum: [0, 1] }, amount: tokens }),
    close: { type: 'boolean' },
    timestamp: count,
    // The engine checks that exactly one of the two is there: the hashes, or (as earlier vehicles send) the bundles.
    bundleHashes,
    bundles: { type: 'array', minItems: 1, maxItems: 22, items: { type: 'array', minItems: 1, maxItems: 12, items: { type: 'string', pattern: TRANSACTION } } },
    digests,
  }, ['type', 'channelId', 'seq', 'transfer', 'close', 'timestamp', 'digests']),
  cosignature: object({ type: { const: 'cosignature' }, channelId: flashChannelId, seq: count, bundleHashes, signatures, digests }),
  completion: object({ type: { const: 'completion' }, channelId: flashChannelId, seq: count, bundleHashes, signatures }),
  stop: object({ reason: { enum: ['target-reached', 'vehicle-full', 'unplugged', 'local-stop', 'remote-stop', 'capacity', 'peer-silent', 'rollover', 'old-state', 'funding-timeout'] } }),
  settled: object({ bundles: bundleHashes, tails: bundleHashes }),
  error: object({ code: text(64), message: text(500) }),
  resend: object({ fromSeq: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } }),
};

export const ENVELOPE_SCHEMA: Schema = object({
  v: { type: 'integer' },
  type: { type: 'string', maxLength: 32 },
  session: { type: 'string', pattern: `^$|${ID}` },
  seq: count,
  from: { enum: ['station', 'vehicle'] },
  ts: count,
  body: { type: 'object' },
  sig: { type: 'string', pattern: SIG_PATTERN },
});
