import { BODY_SCHEMAS, ENVELOPE_SCHEMA } from '../../nodes/core/protocol';

/**
 * The schema appendix of docs/PROTOCOL.md, rendered from the schemas the code enforces. A test keeps the two
 * equal; to refresh the document after a schema change:
 *   node -e "process.stdout.write(require('./dist/test/support/protocol-doc').renderSchemas())"
 */
export function renderSchemas(): string {
  const block = (title: string, schema: unknown) => `### ${title}\n\n\`\`\`json\n${JSON.stringify(schema, null, 2)}\n\`\`\`\n`;
  return [block('envelope', ENVELOPE_SCHEMA), ...Object.entries(BODY_SCHEMAS).map(([type, schema]) => block(`\`${type}\` body`, schema))].join('\n');
}
