/**
 * Waiting for a condition instead of a fixed sleep: every test and bench polls through these. Free of mocha and
 * Node-RED, for the benches too.
 */

/** Resolves with the first value `get` returns that is not undefined, polling; rejects after `timeoutMs` naming `what`. */
export async function valueOf<T>(get: () => T | undefined, what: string, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls until `check` holds; rejects after `timeoutMs` naming `what`. */
export async function until(check: () => boolean, what = 'a condition', timeoutMs = 120_000): Promise<void> {
  await valueOf(() => (check() ? true : undefined), what, timeoutMs);
}

/** As `until`, for a check that must ask something (an HTTP export, a file): polls every 250 ms. */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
