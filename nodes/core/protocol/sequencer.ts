import { digestOf } from './canonical';
import { ProtocolError } from './errors';

/**
 * Exactly-once processing of one peer's numbered messages over an at-least-once transport (MQTT QoS 1).
 *
 * Each sender numbers its messages 1, 2, 3… within a session. The receiver keeps the last number it processed
 * and the digests of the most recent messages. A redelivered message is recognised as a duplicate and ignored;
 * the same number with other content is a conflict; a jump ahead is a gap, which the caller answers by asking
 * the peer to resend. The state is a plain object so that it is persisted with the session.
 *
 * Checking and committing are separate steps: a message that later fails validation must leave no trace.
 */
export interface SequencerState {
  lastSeq: number;
  /** digests of the last few accepted messages, by seq */
  recent: Record<string, string>;
}

export const RECENT_WINDOW = 32;

export type Arrival = { kind: 'next' } | { kind: 'duplicate' };

export function initialSequencer(): SequencerState {
  return { lastSeq: 0, recent: {} };
}

export function classify(state: SequencerState, seq: number, message: unknown): Arrival {
  if (seq === state.lastSeq + 1) return { kind: 'next' };
  if (seq > state.lastSeq + 1) {
    throw new ProtocolError('SEQ_GAP', `expected seq ${state.lastSeq + 1}, got ${seq}: messages are missing`);
  }
  const seen = state.recent[String(seq)];
  if (seen === undefined) {
    throw new ProtocolError('STALE_SEQ', `seq ${seq} is older than the last ${RECENT_WINDOW} messages (last ${state.lastSeq})`);
  }
  if (seen !== digestOf(message)) {
    throw new ProtocolError('DUPLICATE_CONFLICT', `seq ${seq} was already used for a different message`);
  }
  return { kind: 'duplicate' };
}

/** The state after `message` (already classified as next) has been fully processed. */
export function commit(state: SequencerState, seq: number, message: unknown): SequencerState {
  if (seq !== state.lastSeq + 1) throw new Error(`commit out of order: seq ${seq} after ${state.lastSeq}`);
  const recent: Record<string, string> = { [String(seq)]: digestOf(message) };
  for (let s = Math.max(1, seq - RECENT_WINDOW + 1); s < seq; s++) {
    const kept = state.recent[String(s)];
    if (kept !== undefined) recent[String(s)] = kept;
  }
  return { lastSeq: seq, recent };
}
