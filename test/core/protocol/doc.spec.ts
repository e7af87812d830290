import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { renderSchemas } from '../../support/protocol-doc';

describe('protocol: docs/PROTOCOL.md', function () {
  it('prints exactly the schemas the code enforces', function () {
    const doc = fs.readFileSync(path.resolve(__dirname, '../../../../docs/PROTOCOL.md'), 'utf8');
    const begin = '<!-- schemas:begin -->\n';
    const end = '<!-- schemas:end -->';
    const printed = doc.slice(doc.indexOf(begin) + begin.length, doc.indexOf(end));
    assert.ok(doc.includes(begin) && doc.includes(end), 'the schema appendix markers are present');
    assert.equal(printed, renderSchemas(), 'refresh the appendix: see test/support/protocol-doc.ts');
  });
});
