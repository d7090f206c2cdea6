import type { TokenStore } from '../../src/core/ports.js';
import type { CredentialStoreKind, SecretAuthMethod, TokenGrant } from '../../src/core/oauth-terms.js';
import type {
  AccountRecord,
  RefreshFailure,
  SessionIdentity,
  StoredAccessToken,
  StoredRefreshToken,
} from '../../src/core/session-records.js';
import { SessionExpiredError, StoreError } from '../../src/errors.js';

/**
 * Every part of the store (Accounts, SessionTokens, SessionRefresh, LearnedScopes, LearnedAuthMethods, DataKeyStorage)
 * in memory, for use-case tests: the same answers as store/ over SQLite, which
 * test/unit/store-contract.test.ts checks by running the same cases on both. Tokens are kept in
 * plain text (there is no data key to lose), so `unreadable` is always 0; what the key does show
 * through the ports (where it lives, that a refresh commit needs it in hand, that it cannot be
 * deleted while tokens remain) is kept.
 */
export class FakeStore implements TokenStore {
  #state: State = emptyState();
  /** The state when the write lock was taken; restored when the work throws before a commit. */
  #snapshot: State | undefined;
  #locked = false;
  #queue: Promise<unknown> = Promise.resolve();
  #heldElsewhere = false;
  #keyInHand = false;
  #closed = false;
  readonly #keyKind: CredentialStoreKind;

  /** `credentialStore`: where a new data key goes (the real store's `mode`, once resolved). */
  constructor(opts: { credentialStore?: CredentialStoreKind } = {}) {
    this.#keyKind = opts.credentialStore ?? 'file';
  }

  /** As if another process held the database write lock until the returned function is called. */
  holdLockElsewhere(): () => void {
    this.#heldElsewhere = true;
    return () => {
      this.#heldElsewhere = false;
    };
  }

  // Accounts

  listAccounts(): AccountRecord[] {
    this.#open();
    return [...this.#state.users.values()].sort(byId).map((u) => this.#toAccount(u));
  }

  currentAccount(): AccountRecord | undefined {
    this.#open();
    const id = this.#state.current;
    return id === undefined ? undefined : this.#account(id);
  }

  findAccounts(selector: string): AccountRecord[] {
    return this.listAccounts().filter((a) => a.sub === selector || a.username === selector || a.email === selector);
  }

  setCurrent(userId: number | null): void {
    this.#open();
    if (userId !== null && !this.#state.users.has(userId)) throw new StoreError('ACCOUNT_NOT_FOUND', `no stored account with id ${userId}`);
    this.#state.current = userId ?? undefined;
  }

  hasSession(userId: number): boolean {
    this.#open();
    return this.#state.refresh.has(userId) || this.#state.access.some((t) => t.userId === userId);
  }

  hasRefreshToken(userId: number): boolean {
    this.#open();
    return this.#state.refresh.has(userId);
  }

  latestAccessTokenExpiry(userId: number): number | undefined {
    this.#open();
    return this.#latestAccess(userId)?.expiresAt;
  }

  deleteProfilesWithoutSession(): number {
    const ids = this.listAccounts()
      .filter((a) => !this.hasSession(a.id))
      .map((a) => a.id);
    for (const id of ids) {
      if (this.#state.current === id) this.#state.current = undefined;
      this.#forgetUser(id);
    }
    return ids.length;
  }

  // SessionTokens

  async saveLogin(identity: SessionIdentity, grant: TokenGrant, now: number): Promise<AccountRecord> {
    this.#forWriting();
    const iso = new Date(now).toISOString();
    const claims = json(identity.claims);
    const profile = {
      username: identity.username,
      email: identity.email,
      claims,
      clientId: identity.clientId,
      revocationEndpoint: identity.revocationEndpoint ?? null,
    };
    const same = [...this.#state.users.values()].find((u) => u.issuer === identity.issuer && u.sub === identity.sub);
    let id: number;
    if (same) {
      Object.assign(same, profile, { updatedAt: iso });
      id = same.id;
    } else {
      id = this.#state.nextUserId++;
      this.#state.users.set(id, {
        id,
        issuer: identity.issuer,
        sub: identity.sub,
        ...profile,
        createdAt: iso,
        updatedAt: iso,
        idToken: null,
      });
    }
    this.#writeGrant(id, grant, now);
    this.#state.current = id;
    return this.#account(id)!;
  }

  async latestAccessToken(userId: number): Promise<StoredAccessToken | undefined> {
    this.#open();
    const row = this.#latestAccess(userId);
    if (row) this.#forReading();
    return row && { ...row };
  }

  async refreshToken(userId: number): Promise<StoredRefreshToken | undefined> {
    this.#open();
    const row = this.#state.refresh.get(userId);
    if (!row) return undefined;
    this.#forReading();
    return { id: row.id, userId, refreshToken: row.refreshToken, updatedAt: row.updatedAt };
  }

  async idToken(userId: number): Promise<string | undefined> {
    this.#open();
    const token = this.#state.users.get(userId)?.idToken;
    if (!token) return undefined;
    this.#forReading();
    return token;
  }

  async sessionTokens(
    userId: number,
    now: number,
  ): Promise<{ refresh: StoredRefreshToken | undefined; access: StoredAccessToken[]; unreadable: number }> {
    const refresh = await this.refreshToken(userId);
    const access = this.#state.access.filter((t) => t.userId === userId && t.expiresAt > now).map((t) => ({ ...t }));
    if (access.length > 0) this.#forReading();
    return { refresh, access, unreadable: 0 };
  }

  deleteSession(userId: number, nextCurrent: number | null, opts: { keepProfile?: boolean } = {}): void {
    this.#open();
    this.#deleteTokens(userId);
    const user = this.#state.users.get(userId);
    if (user) user.idToken = null;
    if (this.#state.current === userId) this.#state.current = nextCurrent ?? undefined;
    if (!opts.keepProfile) this.#forgetUser(userId);
  }

  // SessionRefresh

  async tryWriteLock<T>(work: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> {
    if (this.#snapshot) throw new StoreError('STORE_ERROR', 'internal error: nested store lock', { facts: { reason: 'internal' } });
    // Callers in one process take turns, as the real store's do.
    const turn = this.#queue.then(async () => {
      if (this.#heldElsewhere) return { locked: false as const };
      this.#locked = true;
      this.#snapshot = structuredClone(this.#state);
      try {
        const value = await work();
        return { locked: true as const, value };
      } catch (e) {
        if (this.#snapshot) this.#state = this.#snapshot;
        throw e;
      } finally {
        this.#snapshot = undefined;
        this.#locked = false;
      }
    });
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async prepareRefreshWrite(userId: number): Promise<void> {
    this.#forWriting();
    this.#needUser(userId);
  }

  commitRefreshAnswer(userId: number, grant: TokenGrant, now: number): number {
    this.#open();
    if (!this.#keyInHand) throw new StoreError('INTERNAL', 'internal error: the data key for writing is not in hand');
    const rowId = this.#writeGrant(userId, { ...grant, idToken: null }, now);
    this.#state.failures.delete(userId);
    // Commits the lock's transaction: what follows is no longer undone.
    if (this.#locked) this.#snapshot = undefined;
    return rowId;
  }

  async confirmRefresh(
    userId: number,
    idToken: string | null,
    idClaims: Record<string, unknown> | undefined,
    now: number,
  ): Promise<StoredAccessToken> {
    this.#forWriting();
    const user = this.#stillThere(userId);
    if (idClaims) updateClaims(user, idClaims, now);
    if (idToken) user.idToken = idToken;
    return (await this.latestAccessToken(userId))!;
  }

  withdrawAccessToken(userId: number, rowId: number): void {
    this.#open();
    this.#state.access = this.#state.access.filter((t) => !(t.id === rowId && t.userId === userId));
  }

  async saveRotatedRefreshToken(userId: number, refreshToken: string, now: number): Promise<void> {
    this.#forWriting();
    this.#replaceRefreshToken(userId, refreshToken, now);
  }

  async saveRefresh(
    userId: number,
    grant: TokenGrant,
    idClaims: Record<string, unknown> | undefined,
    now: number,
  ): Promise<StoredAccessToken> {
    this.#forWriting();
    const user = this.#stillThere(userId);
    if (idClaims) updateClaims(user, idClaims, now);
    this.#writeGrant(userId, grant, now);
    this.#state.failures.delete(userId);
    return (await this.latestAccessToken(userId))!;
  }

  recordRefreshFailure(userId: number, failure: RefreshFailure): void {
    this.#open();
    this.#state.failures.set(userId, json(failure));
  }

  refreshFailureSince(userId: number, since: number): RefreshFailure | undefined {
    this.#open();
    const failure = this.#state.failures.get(userId);
    return failure && typeof failure.at === 'number' && failure.at >= since && typeof failure.message === 'string'
      ? json(failure)
      : undefined;
  }

  // LearnedScopes

  learnedScope(issuer: string): string | undefined {
    this.#open();
    return this.#state.scopes.get(issuer);
  }

  rememberScope(issuer: string, scope: string): void {
    this.#open();
    this.#state.scopes.set(issuer, scope);
  }

  // LearnedAuthMethods

  learnedAuthMethod(issuer: string, clientId: string): SecretAuthMethod | undefined {
    this.#open();
    return this.#state.authMethods.get(JSON.stringify([issuer, clientId]));
  }

  rememberAuthMethod(issuer: string, clientId: string, method: SecretAuthMethod): void {
    this.#open();
    this.#state.authMethods.set(JSON.stringify([issuer, clientId]), method);
  }

  // DataKeyStorage

  credentialStore(): CredentialStoreKind | null {
    this.#open();
    return this.#state.credentialStore;
  }

  async deleteDataKey(): Promise<void> {
    this.#open();
    if (this.#state.refresh.size + this.#state.access.length > 0) {
      throw new StoreError('STORE_ERROR', 'internal error: the data key is still needed by stored tokens', {
        facts: { reason: 'internal' },
      });
    }
    this.#state.credentialStore = null;
    this.#keyInHand = false;
  }

  close(): void {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new TypeError('The database connection is not open');
  }

  /** A key is created (and where it lives recorded) by the first write that needs one. */
  #forWriting(): void {
    this.#open();
    this.#state.credentialStore ??= this.#keyKind;
    this.#keyInHand = true;
  }

  #forReading(): void {
    if (this.#state.credentialStore === null)
      throw new SessionExpiredError('SESSION_EXPIRED', 'the stored data key is missing', { facts: { dataKeyGone: 'unrecorded' } });
    this.#keyInHand = true;
  }

  #account(id: number): AccountRecord | undefined {
    const user = this.#state.users.get(id);
    return user && this.#toAccount(user);
  }

  #toAccount(u: UserRow): AccountRecord {
    const { idToken: _, ...record } = u;
    return { ...record, claims: json(u.claims), current: u.id === this.#state.current };
  }

  #stillThere(userId: number): UserRow {
    const user = this.#state.users.get(userId);
    if (!user) throw new StoreError('ACCOUNT_GONE', `account ${userId} disappeared during the refresh`);
    return user;
  }

  /** Token rows need their user (SQLite's foreign key). */
  #needUser(userId: number): void {
    if (!this.#state.users.has(userId))
      throw new StoreError('STORE_ERROR', 'database error: FOREIGN KEY constraint failed', { facts: { reason: 'sqlite' } });
  }

  #latestAccess(userId: number): AccessRow | undefined {
    return this.#state.access.filter((t) => t.userId === userId).at(-1);
  }

  /** The ID token, the refresh token (replaced in place), a new access token; expired ones pruned. Returns the new row's id, or 0. */
  #writeGrant(userId: number, grant: TokenGrant, now: number): number {
    this.#needUser(userId);
    if (grant.idToken) this.#state.users.get(userId)!.idToken = grant.idToken;
    const refreshTokenId = grant.refreshToken
      ? this.#replaceRefreshToken(userId, grant.refreshToken, now)
      : (this.#state.refresh.get(userId)?.id ?? null);
    // Pruned before the insert, so a grant that is already expired is still stored once.
    this.#state.access = this.#state.access.filter((t) => !(t.userId === userId && t.expiresAt <= now));
    if (!grant.accessToken) return 0;
    const id = nextRowId(this.#state.access);
    const { accessToken, tokenType, scope, expiresAt } = grant;
    this.#state.access.push({ id, userId, refreshTokenId, accessToken, tokenType, scope, expiresAt, createdAt: now });
    return id;
  }

  /** Keeps the row's id, so access tokens already linked to it stay linked. */
  #replaceRefreshToken(userId: number, refreshToken: string, now: number): number {
    this.#needUser(userId);
    const iso = new Date(now).toISOString();
    const row = this.#state.refresh.get(userId);
    if (row) {
      Object.assign(row, { refreshToken, updatedAt: iso });
      return row.id;
    }
    const id = nextRowId([...this.#state.refresh.values()]);
    this.#state.refresh.set(userId, { id, refreshToken, updatedAt: iso });
    return id;
  }

  #deleteTokens(userId: number): void {
    this.#state.access = this.#state.access.filter((t) => t.userId !== userId);
    this.#state.refresh.delete(userId);
  }

  /** The user row, its tokens and what is kept about it besides. */
  #forgetUser(userId: number): void {
    this.#deleteTokens(userId);
    this.#state.failures.delete(userId);
    this.#state.users.delete(userId);
  }
}

interface UserRow extends Omit<AccountRecord, 'current'> {
  idToken: string | null;
}

type AccessRow = StoredAccessToken;

interface State {
  users: Map<number, UserRow>;
  /** By user: one refresh token each. */
  refresh: Map<number, { id: number; refreshToken: string; updatedAt: string }>;
  /** In insertion order. */
  access: AccessRow[];
  current: number | undefined;
  failures: Map<number, RefreshFailure>;
  scopes: Map<string, string>;
  /** By JSON of [issuer, client id]. */
  authMethods: Map<string, SecretAuthMethod>;
  credentialStore: CredentialStoreKind | null;
  /** User ids are never reused (AUTOINCREMENT); token row ids are (max + 1). */
  nextUserId: number;
}

function emptyState(): State {
  return {
    users: new Map(),
    refresh: new Map(),
    access: [],
    current: undefined,
    failures: new Map(),
    scopes: new Map(),
    authMethods: new Map(),
    credentialStore: null,
    nextUserId: 1,
  };
}

const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;

const nextRowId = (rows: { id: number }[]) => rows.reduce((max, r) => Math.max(max, r.id), 0) + 1;

/** What a JSON column gives back. */
const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** A refreshed ID token's claims merged into the account, as store/users.ts does. */
function updateClaims(user: UserRow, idClaims: Record<string, unknown>, now: number): void {
  const claims = { ...user.claims, ...idClaims };
  user.username = typeof claims.preferred_username === 'string' ? claims.preferred_username : user.username;
  user.email = typeof claims.email === 'string' ? claims.email : user.email;
  user.claims = json(claims);
  user.updatedAt = new Date(now).toISOString();
}
