/**
 * A scripted "browser" for integration tests: follows redirects with fetch, keeps cookies, and
 * submits the provider's login, consent and device pages the way a user would.
 */

export interface HttpSignInOptions {
  /** Login name typed into the sign-in form (the test provider makes it the `sub`). */
  login: string;
  password?: string;
  /** GET the callback URL once reached, as a browser would (default true). */
  deliverCallback?: boolean;
  /** Reuse a jar to keep the provider session between sign-ins (default: a fresh jar). */
  jar?: CookieJar;
  /** Gets `login-form` pushed each time the provider's login form is filled in. */
  seen?: string[];
}

export interface HttpDeviceApprovalOptions {
  login: string;
  password?: string;
  /** Typed in when the verification page asks for it. */
  userCode?: string;
  jar?: CookieJar;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
  expiresAt: number;
}

/** Cookies for one host; 127.0.0.1 shares cookies across ports, as real browsers do. */
export class CookieJar {
  readonly #cookies = new Map<string, Cookie>();

  store(url: URL, setCookieHeaders: string[]): void {
    for (const header of setCookieHeaders) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const cookie: Cookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        path: defaultPath(url),
        expiresAt: Infinity,
      };
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.split('=').map((s) => s.trim());
        if (/^path$/i.test(key) && value.startsWith('/')) cookie.path = value;
        if (/^max-age$/i.test(key)) cookie.expiresAt = Date.now() + Number(value) * 1000;
        if (/^expires$/i.test(key) && cookie.expiresAt === Infinity) cookie.expiresAt = Date.parse(value);
      }
      const key = `${cookie.name};${cookie.path}`;
      if (cookie.expiresAt <= Date.now()) this.#cookies.delete(key);
      else this.#cookies.set(key, cookie);
    }
  }

  header(url: URL): string {
    const now = Date.now();
    return [...this.#cookies.values()]
      .filter((c) => c.expiresAt > now && pathMatches(url.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

/**
 * Where a URL xtalk handed to a browser leads: its one-time local start link
 * (`http://127.0.0.1:PORT/start/…`) is opened once and the authorization URL it redirects to is
 * returned; any other URL is returned as it is.
 */
export async function followStartLink(url: string): Promise<string> {
  const parsed = new URL(url);
  if (parsed.hostname !== '127.0.0.1' || !parsed.pathname.startsWith('/start/')) return url;
  const res = await fetch(parsed, { redirect: 'manual' });
  await res.arrayBuffer();
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`the start link answered HTTP ${res.status} without a redirect`);
  return location;
}

/**
 * Signs in through `authorizationUrl` and returns the loopback callback URL the provider
 * redirected to (`http://127.0.0.1:<port>/callback?code=…&state=…&iss=…`, or `?error=…`).
 */
export async function signInWithHttp(authorizationUrl: string, opts: HttpSignInOptions): Promise<URL> {
  const jar = opts.jar ?? new CookieJar();
  const result = await walk(new URL(authorizationUrl), jar, { ...opts, stopAtCallback: true });
  if (!result.callback) throw new Error(`sign-in ended without a callback redirect, at ${result.url}`);
  if (opts.deliverCallback ?? true) {
    await fetch(result.callback, { redirect: 'manual' }).then((res) => res.arrayBuffer());
  }
  return result.callback;
}

/**
 * Approves a device authorization through the verification page (`verification_uri` or
 * `verification_uri_complete`) and resolves once the provider shows its success page.
 */
export async function approveDeviceWithHttp(verificationUrl: string, opts: HttpDeviceApprovalOptions): Promise<void> {
  const jar = opts.jar ?? new CookieJar();
  await walk(new URL(verificationUrl), jar, { ...opts, stopAtCallback: false });
}

interface WalkOptions {
  login: string;
  password?: string;
  userCode?: string;
  stopAtCallback: boolean;
  seen?: string[];
}

const MAX_STEPS = 30;

async function walk(start: URL, jar: CookieJar, opts: WalkOptions): Promise<{ url: URL; callback?: URL }> {
  let request: PageRequest = { url: start, method: 'GET' };
  const submitted = new Set<string>();

  for (let step = 0; step < MAX_STEPS; step++) {
    const { url } = request;
    if (opts.stopAtCallback && isLoopbackCallback(url)) return { url, callback: url };

    const page = await load(request, jar);
    if ('redirect' in page) {
      request = { url: page.redirect, method: 'GET' };
      continue;
    }
    const { html } = page;

    const form = chooseForm(parseForms(html, url), opts);
    if (!form) {
      if (!opts.stopAtCallback && /success/i.test(titleOf(html))) return { url };
      throw new Error(`no form to submit at ${url}: ${textOf(html)}`);
    }
    // The provider re-renders the same page when a submission is rejected; don't loop on it.
    const signature = `${form.method} ${form.action.href} ${[...form.fields.keys()].sort().join(',')}`;
    if (submitted.has(signature)) throw new Error(`the provider rejected the form at ${url}: ${textOf(html)}`);
    submitted.add(signature);
    request = { url: form.action, method: form.method, body: form.fields };
  }
  throw new Error(`gave up after ${MAX_STEPS} requests`);
}

/**
 * Follows an RP-initiated logout URL (`end_session_endpoint?…`) as a browser would, pressing
 * "Yes, sign me out" (or, with `confirm: false`, "No"), and delivers the redirect to the loopback
 * `post_logout_redirect_uri`, which it returns.
 */
export async function signOutWithHttp(endSessionUrl: string, opts: { jar?: CookieJar; confirm?: boolean } = {}): Promise<URL> {
  const jar = opts.jar ?? new CookieJar();
  let request: PageRequest = { url: new URL(endSessionUrl), method: 'GET' };
  for (let step = 0; step < MAX_STEPS; step++) {
    const { url } = request;
    if (url.protocol === 'http:' && url.hostname === '127.0.0.1' && url.pathname === '/logout-callback') {
      await fetch(url, { redirect: 'manual' }).then((res) => res.arrayBuffer());
      return url;
    }
    const page = await load(request, jar);
    if ('redirect' in page) {
      request = { url: page.redirect, method: 'GET' };
      continue;
    }
    const { html } = page;
    const form = parseForms(html, url)[0];
    if (!form) throw new Error(`no form to submit at ${url}: ${textOf(html)}`);
    // The confirmation page's buttons sit outside the form (form="op.logoutForm").
    if (form.id === 'op.logoutForm' && (opts.confirm ?? true)) form.fields.set('logout', 'yes');
    request = { url: form.action, method: form.method, body: form.fields };
  }
  throw new Error(`gave up after ${MAX_STEPS} requests`);
}

type PageRequest = { url: URL; method: 'GET' | 'POST'; body?: URLSearchParams };

/** One request as a browser sends it (cookies in and out): where it redirects, or its HTML. */
async function load(request: PageRequest, jar: CookieJar): Promise<{ redirect: URL } | { html: string }> {
  const { url } = request;
  const res = await fetch(url, {
    method: request.method,
    redirect: 'manual',
    headers: {
      accept: 'text/html,application/xhtml+xml',
      ...(jar.header(url) ? { cookie: jar.header(url) } : {}),
      ...(request.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(request.body ? { body: request.body.toString() } : {}),
  });
  jar.store(url, res.headers.getSetCookie());
  const location = res.headers.get('location');
  if (res.status >= 300 && res.status < 400 && location) {
    await res.arrayBuffer();
    return { redirect: new URL(location, url) };
  }
  const html = await res.text();
  if (res.status >= 400) throw new Error(`HTTP ${res.status} at ${url}: ${textOf(html)}`);
  return { html };
}

function isLoopbackCallback(url: URL): boolean {
  return url.protocol === 'http:' && url.hostname === '127.0.0.1' && url.pathname === '/callback';
}

interface HtmlForm {
  id: string | undefined;
  action: URL;
  method: 'GET' | 'POST';
  /** Every named input with its value; text and password inputs start empty unless prefilled. */
  fields: URLSearchParams;
  inputs: Array<{ name: string; type: string }>;
}

function chooseForm(forms: HtmlForm[], opts: WalkOptions): HtmlForm | undefined {
  const has = (form: HtmlForm, name: string, visible = true) =>
    form.inputs.some((i) => i.name === name && (!visible || i.type !== 'hidden'));

  const login = forms.find((f) => has(f, 'login') || has(f, 'password'));
  if (login) {
    opts.seen?.push('login-form');
    login.fields.set('login', opts.login);
    login.fields.set('password', opts.password ?? 'any-password');
    return login;
  }
  const codeEntry = forms.find((f) => has(f, 'user_code'));
  if (codeEntry) {
    if (!codeEntry.fields.get('user_code')) {
      if (!opts.userCode) throw new Error('the verification page asks for a user code; pass userCode');
      codeEntry.fields.set('user_code', opts.userCode);
    }
    return codeEntry;
  }
  // Consent, device confirmation and auto-submitting form_post pages: hidden fields only, and
  // submitting without a clicked button leaves out "abort".
  return forms.find((f) => f.inputs.every((i) => i.type === 'hidden') && f.inputs.length > 0);
}

function parseForms(html: string, base: URL): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributesOf(match[1] ?? '');
    const fields = new URLSearchParams();
    const inputs: HtmlForm['inputs'] = [];
    for (const input of (match[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributesOf(input[1] ?? '');
      if (!a.name) continue;
      const type = (a.type ?? 'text').toLowerCase();
      inputs.push({ name: a.name, type });
      fields.set(a.name, a.value ?? '');
    }
    forms.push({
      id: attrs.id,
      action: new URL(attrs.action ?? '', base),
      method: (attrs.method ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET',
      fields,
      inputs,
    });
  }
  return forms;
}

function attributesOf(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of source.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    const name = (m[1] ?? '').toLowerCase();
    attrs[name] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function titleOf(html: string): string {
  return decodeEntities(/<title>([\s\S]*?)<\/title>/i.exec(html)?.[1]?.trim() ?? '');
}

function textOf(html: string): string {
  const body = /<body\b[^>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html;
  const text = decodeEntities(body.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, '').replace(/<[^>]+>/g, ' '));
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

function defaultPath(url: URL): string {
  const dir = url.pathname.slice(0, url.pathname.lastIndexOf('/'));
  return dir || '/';
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
