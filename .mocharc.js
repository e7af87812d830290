'use strict';
// Tests run against the compiled output, which is the code that ships.
// In CI a skipped (pending) test is a failure: a check that cannot run must say so.
module.exports = {
  spec: ['dist/test/**/*.spec.js'],
  timeout: 120000,
  reporter: 'dist/test/support/reporter.js',
  forbidPending: process.env.CI === 'true',
  exit: true,
};
