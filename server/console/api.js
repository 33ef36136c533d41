// The operator API as the console calls it. The token lives in this tab's session storage only:
// never in a URL, a cookie or local storage, so it goes when the tab closes.

const TOKEN_KEY = 'issuance-bot.operator-token';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An answer other than 2xx, with the API's stable `code`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? 'http_error';
    this.body = body;
  }

  /** The instance does not serve this route (yet): the panel shows "not available" rather than an error. */
  get notAvailable() {
    return (this.status === 404 || this.status === 405) && (this.code === 'route_not_found' || this.code === 'method_not_allowed');
  }
}

let unauthorized = () => {};
/** What to do when the token is refused (expired, revoked): back to the sign-in form. */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

export function authHeaders(extra = {}) {
  return { Authorization: `Bearer ${session.token()}`, ...extra };
}

async function call(path, { method = 'GET', body, signal, accept = 'application/json' } = {}) {
  const headers = authHeaders({ Accept: accept });
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store', credentials: 'omit' });
  if (res.status === 401) unauthorized();
  if (!res.ok) {
    let payload;
    try {
      payload = await res.json();
    } catch {
      payload = undefined;
    }
    throw new ApiError(res.status, payload);
  }
  return res;
}

export async function getJson(path, options) {
  return (await call(path, options)).json();
}

export async function getText(path, options) {
  return (await call(path, { ...options, accept: '*/*' })).text();
}

export async function postJson(path, body = {}, options) {
  return (await call(path, { ...options, method: 'POST', body })).json();
}

/** `?a=1&b=2` from the defined, non-empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
