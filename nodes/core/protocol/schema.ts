/**
 * A small validator for the subset of JSON Schema that our protocol schemas use. The schemas are the single
 * source of truth: docs/PROTOCOL.md prints them, and every received message is checked against them before any
 * of its content is used. A full JSON Schema library would be a large dependency for a dozen flat messages.
 */

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface Schema {
  type?: JsonType;
  description?: string;
  properties?: Record<string, Schema>;
  required?: readonly string[];
  additionalProperties?: false;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: readonly (string | number)[];
  const?: string | number;
}

export interface SchemaViolation {
  path: string;
  problem: string;
}

function typeOf(value: unknown): JsonType | 'undefined' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isSafeInteger(value)) return 'integer';
  const t = typeof value;
  if (t === 'number') return Number.isFinite(value) ? 'number' : 'other';
  if (t === 'string' || t === 'boolean' || t === 'object' || t === 'undefined') return t;
  return 'other';
}

const patternCache = new Map<string, RegExp>();
function compiled(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp(pattern, 'u');
    patternCache.set(pattern, re);
  }
  return re;
}

/** Returns the first violation found, or undefined when the value conforms. */
export function validate(schema: Schema, value: unknown, path = '$'): SchemaViolation | undefined {
  const actual = typeOf(value);
  if (schema.type) {
    const ok = schema.type === 'number' ? actual === 'number' || actual === 'integer' : actual === schema.type;
    if (!ok) return { path, problem: `must be ${schema.type === 'integer' ? 'an integer' : `of type ${schema.type}`}` };
  }
  if (schema.const !== undefined && value !== schema.const) return { path, problem: `must be ${JSON.stringify(schema.const)}` };
  if (schema.enum && !schema.enum.includes(value as string | number)) {
    return { path, problem: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` };
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      return { path, problem: `must be at least ${schema.minLength} characters` };
    }
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return { path, problem: `must be at most ${schema.maxLength} characters` };
    }
    if (schema.pattern && !compiled(schema.pattern).test(value)) return { path, problem: `must match ${schema.pattern}` };
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return { path, problem: `must be >= ${schema.minimum}` };
    if (schema.maximum !== undefined && value > schema.maximum) return { path, problem: `must be <= ${schema.maximum}` };
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      return { path, problem: `must have at least ${schema.minItems} items` };
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      return { path, problem: `must have at most ${schema.maxItems} items` };
    }
    if (schema.items) {
      for (let i = 0; i < value.length; i++) {
        const violation = validate(schema.items, value[i], `${path}[${i}]`);
        if (violation) return violation;
      }
    }
  }
  if (actual === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in record)) return { path: `${path}.${key}`, problem: 'is required' };
    }
    for (const [key, child] of Object.entries(record)) {
      const childSchema = schema.properties?.[key];
      if (!childSchema) {
        if (schema.additionalProperties === false) return { path: `${path}.${key}`, problem: 'is not allowed' };
        continue;
      }
      const violation = validate(childSchema, child, `${path}.${key}`);
      if (violation) return violation;
    }
  }
  return undefined;
}
