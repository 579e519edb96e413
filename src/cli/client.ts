/** Small HTTP helpers for the client-side commands (models, infer). */

/** Sends a request to a running server; throws a readable error for non-2xx answers. */
export async function call(url: string, init?: RequestInit): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new Error(`cannot reach ${new URL(url).origin}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // not JSON: show the body as it is
    }
    throw new Error(`server answered ${res.status}: ${msg}`);
  }
  return text.length > 0 ? JSON.parse(text) : undefined;
}

/** Normalizes a base URL given by the user (adds http://, drops a trailing slash). */
export function baseUrl(u: string): string {
  const withScheme = /^https?:\/\//.test(u) ? u : `http://${u}`;
  return withScheme.replace(/\/+$/, '');
}
