import { ProtocolError } from './errors';
import { decodePayload, DEFAULT_LIMITS, MessageLimits } from './limits';
import { AnyEnvelope, Bodies, BODY_SCHEMAS, Envelope, ENVELOPE_SCHEMA, MessageType, PROTOCOL_VERSION, Role } from './messages';
import { validate } from './schema';

/**
 * Checks a received payload completely, envelope and body, before anything in it is used. Throws a
 * ProtocolError naming the first problem; returns the message typed by its `type`.
 */
export function parseEnvelope(payload: unknown, limits: MessageLimits = DEFAULT_LIMITS): AnyEnvelope {
  const value = decodePayload(payload, limits) as Record<string, unknown>;
  if (Array.isArray(value)) throw new ProtocolError('INVALID_FIELD', '$ must be an object');
  if (value.v !== PROTOCOL_VERSION) {
    throw new ProtocolError('UNSUPPORTED_VERSION', `protocol version ${JSON.stringify(value.v)} is not supported (this side speaks ${PROTOCOL_VERSION})`);
  }
  const envelopeProblem = validate(ENVELOPE_SCHEMA, value);
  if (envelopeProblem) throw new ProtocolError('INVALID_FIELD', `${envelopeProblem.path} ${envelopeProblem.problem}`);
  const type = value.type as string;
  if (!Object.hasOwn(BODY_SCHEMAS, type)) throw new ProtocolError('UNKNOWN_TYPE', `unknown message type "${type}"`);
  const bodyProblem = validate(BODY_SCHEMAS[type as MessageType], value.body, '$.body');
  if (bodyProblem) throw new ProtocolError('INVALID_FIELD', `${type}: ${bodyProblem.path} ${bodyProblem.problem}`);
  return value as unknown as AnyEnvelope;
}

/** An unsigned envelope; signEnvelope adds its `sig`. */
export function makeEnvelope<T extends MessageType>(
  type: T,
  from: Role,
  session: string,
  seq: number,
  body: Bodies[T],
  now: number = Date.now(),
): Omit<Envelope<T>, 'sig'> {
  return { v: PROTOCOL_VERSION, type, session, seq, from, ts: now, body };
}

/** The conversation a message belongs to; each has its own MQTT topic pair (see topicFor). */
export type Stage = 'offer' | 'open' | 'pay' | 'settle';

/** The stages on whose topics each message type may arrive. */
const STAGES_OF: { [T in MessageType]: readonly Stage[] } = {
  offer: ['offer'],
  open: ['open'],
  'open-accept': ['open'],
  'open-reject': ['open'],
  deposit: ['open'],
  ready: ['open'],
  claim: ['pay'],
  proposal: ['pay', 'settle'],
  cosignature: ['pay', 'settle'],
  completion: ['pay', 'settle'],
  stop: ['settle'],
  settled: ['settle'],
  error: ['open', 'pay', 'settle'],
  resend: ['open', 'pay', 'settle'],
};

/** Refuses a message that arrived on the topic of another stage (a claim on the open topic, say). */
export function checkStage(type: MessageType, stage: Stage): void {
  if (!STAGES_OF[type].includes(stage)) {
    throw new ProtocolError('UNKNOWN_TYPE', `"${type}" does not belong on the ${stage} topic`);
  }
}

/**
 * Topics: `<prefix>/<stationId>/offer` (retained, from the station) and `<prefix>/<stationId>/<stage>/<role>` for
 * messages *to* that role. One `mqtt in` per stage and role, wired to the node that handles that stage.
 */
export function topicFor(prefix: string, stationId: string, stage: Stage, to: Role): string {
  return stage === 'offer' ? `${prefix}/${stationId}/offer` : `${prefix}/${stationId}/${stage}/${to}`;
}

const PROTOCOL_TOPIC = /(?:^|\/)([^/]+)\/(offer|(open|pay|settle)\/(station|vehicle))$/;

/** The station and the stage a protocol topic names (as topicFor builds it, under any prefix), or null for another topic. */
export function parseTopic(topic: unknown): { stationId: string; stage: Stage } | null {
  const match = typeof topic === 'string' ? PROTOCOL_TOPIC.exec(topic) : null;
  if (!match) return null;
  return { stationId: match[1], stage: match[2] === 'offer' ? 'offer' : (match[3] as Stage) };
}
