import { ProtocolError } from './errors';

/** Bounds on what a peer may send us, so a hostile or broken peer cannot exhaust a Raspberry Pi. */
export interface MessageLimits {
  /** Largest accepted message, in bytes of UTF-8 JSON. A payment carries a few bundles of ~16 KB each. */
  maxBytes: number;
  /** Deepest accepted nesting of objects and arrays. Our own messages nest at most 5 levels. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: MessageLimits = { maxBytes: 512 * 1024, maxDepth: 8 };

/**
 * Depth of a JSON text, measured without parsing it: a hostile message nested a million levels deep is refused
 * before JSON.parse has to recurse into it.
 */
export function jsonTextDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

/** Depth of an already parsed value, walked without recursion. */
export function valueDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    for (const child of Object.values(item as object)) stack.push([child, here]);
  }
  return deepest;
}

/**
 * Turns what an `mqtt in` node delivers (a Buffer, a string, or an object it already parsed) into a plain value,
 * enforcing the limits. Never throws anything but a ProtocolError.
 */
export function decodePayload(payload: unknown, limits: MessageLimits = DEFAULT_LIMITS): unknown {
  if (Buffer.isBuffer(payload)) payload = payload.toString('utf8');
  if (typeof payload === 'string') {
    const bytes = Buffer.byteLength(payload, 'utf8');
    if (bytes > limits.maxBytes) {
      throw new ProtocolError('TOO_LARGE', `message of ${bytes} bytes exceeds the limit of ${limits.maxBytes}`);
    }
    if (jsonTextDepth(payload) > limits.maxDepth) {
      throw new ProtocolError('TOO_DEEP', `message nests deeper than ${limits.maxDepth} levels`);
    }
    try {
      payload = JSON.parse(payload);
    } catch (err) {
      throw new ProtocolError('MALFORMED_JSON', `message is not valid JSON: ${(err as Error).message}`);
    }
  } else if (payload !== null && typeof payload === 'object') {
    if (valueDepth(payload) > limits.maxDepth) {
      throw new ProtocolError('TOO_DEEP', `message nests deeper than ${limits.maxDepth} levels`);
    }
    const bytes = Buffer.byteLength(JSON.stringify(payload), 'utf8');
    if (bytes > limits.maxBytes) {
      throw new ProtocolError('TOO_LARGE', `message of ${bytes} bytes exceeds the limit of ${limits.maxBytes}`);
    }
  }
  // Valid JSON text need not be an object: "null", "7" or "\"text\"" is not a message either.
  if (payload === null || typeof payload !== 'object') {
    throw new ProtocolError('MALFORMED_JSON', `message must be a JSON object, got ${payload === null ? 'null' : typeof payload}`);
  }
  return payload;
}

/**
 * A token bucket per key (a topic, "open"): at most `burst` events at once and `perSecond` on average after that.
 * take() throws RATE_LIMITED, before the message costs any parsing, signature check or WOTS work.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly what: string,
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: () => number = Date.now,
  ) {}

  take(key: string): void {
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (this.buckets.size > 1024) this.buckets.clear();
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) throw new ProtocolError('RATE_LIMITED', `too many ${this.what} on ${key}: dropped (limit ${this.burst} at once, ${+(this.perSecond).toPrecision(3)} per second)`);
    bucket.tokens -= 1;
  }
}
