// The HTTP API as the pages use it: the token in sessionStorage, JSON in and out, and
// every failure as a value (never a throw) so a page can show it.

export type ApiOk<T> = { ok: true; status: number; data: T };
export type ApiErr = { ok: false; status: number; code: string; message: string };
export type ApiResult<T> = ApiOk<T> | ApiErr;

const TOKEN_KEY = "eragon.token";

export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}
export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}
export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Fired when the server answers 401: the app goes back to the sign-in form. */
export const UNAUTHORIZED = "eragon-unauthorized";

export async function api<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { Authorization: `Bearer ${getToken()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    return { ok: false, status: 0, code: "network", message: `eragond did not answer (${e})` };
  }
  const text = await res.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.ok) return { ok: true, status: res.status, data: data as T };
  if (res.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED));
  return {
    ok: false,
    status: res.status,
    code: data?.error?.code ?? `http_${res.status}`,
    message: data?.error?.message ?? (res.statusText || "request failed"),
  };
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body: unknown) => api<T>("POST", path, body);

/** Whether the token is valid and has the admin role: the services list needs admin. */
export async function whoAmI(): Promise<"admin" | "reader" | "invalid" | ApiErr> {
  const r = await get<unknown>("/v1/services?limit=1");
  if (r.ok) return "admin";
  if (r.status === 403) return "reader";
  if (r.status === 401) return "invalid";
  return r;
}

export const enc = encodeURIComponent;

export function routePath(eventType: string, consumer: string): string {
  return `/v1/routes/${enc(eventType)}/consumers/${enc(consumer)}`;
}

// The shapes of API.md that the pages read.
export interface ProducerRoute {
  event_type: string;
  producer: string;
  channel?: string;
  topic?: string;
  ordered?: boolean;
  partitions?: number;
}
export interface ConsumerRoute {
  event_type: string;
  consumer: string;
  type: string;
  url?: string;
  enabled?: boolean;
  disabled_reason?: string; // why eragond disabled it (auto-disable), while it stays so
  disabled_at?: number;
  dedup?: string;
  format?: string;
  retry?: { max_attempts?: number };
}
export interface Routes {
  producers: ProducerRoute[];
  consumers: ConsumerRoute[];
}
export interface EventBody {
  id: string;
  event_type: string;
  entity_id: string;
  producer: string;
  occurred_at: number;
  data: unknown;
}
export interface Delivery {
  consumer: string;
  state: string;
  attempts?: number;
  last_status?: number;
  last_error?: string;
  next_attempt_at?: number;
  delivered_at?: number;
}
export interface DeadLetter {
  event: EventBody;
  attempts: number;
  last_status: number;
  last_error: string;
  dead_at: number;
}
export interface Attempt {
  consumer: string;
  attempt?: number;
  at: number;
  duration_ms?: number;
  status?: number | string;
  error?: string;
  node?: string;
  kind?: string;
}
export interface List<T> {
  items: T[];
  next: string | null;
}
