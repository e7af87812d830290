/** The station–vehicle protocol over MQTT: message schemas, parsing with limits, exactly-once sequencing. */
export { parseEnvelope, makeEnvelope, topicFor, parseTopic, checkStage, Stage } from './envelope';
export { ProtocolError, ProtocolErrorCode } from './errors';
export { DEFAULT_LIMITS, MessageLimits, decodePayload, RateLimiter } from './limits';
export { KeyPair, newKeyPair, signEnvelope, verifyEnvelope } from './auth';
export * from './messages';
export { canonicalJson, digestOf } from './canonical';
export { SequencerState, initialSequencer, classify, commit } from './sequencer';
export { validate, Schema, SchemaViolation } from './schema';
