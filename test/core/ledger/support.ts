
export const MWM = 9;

/** An 81-tryte test seed derived from a readable name. */
export function seed(name: string): string {
  return name.padEnd(81, '9');
}

export { tempDir } from '../../support/temp';

/** A raw IRI request, as any HTTP client would send it, to check the node's answers byte for byte. */
export async function post(
  url: string,
  body: string,
  headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-IOTA-API-Version': '1' },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
