import type { ConsumerRoute, ProducerRoute, Routes } from "./api";

// GET /v1/stats, read leniently: API.md names the figures, not every field, so each figure
// is looked up under the names it may have, and per-topic rows of one consumer are summed.

export interface TypeStats {
  eventType: string;
  rate1m: number;
  rate5m: number;
}
export interface ConsumerStats {
  consumer: string;
  delivered1m: number;
  delivered5m: number;
  failed1m: number;
  failed5m: number;
  lagEvents: number;
  lagSeconds: number;
  circuitOpen: boolean;
  dead: number;
  lastError: string;
}
export interface Stats {
  types: Map<string, TypeStats>;
  consumers: Map<string, ConsumerStats>;
  /** The routing table as /v1/stats tells it (any token may read it), when it does. */
  routes: Routes | null;
}

type Obj = Record<string, unknown>;

function at(o: unknown, path: string): unknown {
  let v: unknown = o;
  for (const k of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Obj)[k];
  }
  return v;
}

/** The first of `paths` that holds a number (0 when none does). */
export function num(o: unknown, ...paths: string[]): number {
  for (const p of paths) {
    const v = at(o, p);
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return 0;
}

/** Rows of a list that may be an array of objects or an object keyed by name. */
function rows(v: unknown, nameKey: string): Obj[] {
  if (Array.isArray(v)) return v.filter((r) => r && typeof r === "object") as Obj[];
  if (v && typeof v === "object") {
    return Object.entries(v as Obj).map(([k, r]) => ({ [nameKey]: k, ...(r as Obj) }));
  }
  return [];
}

function rate(r: Obj, verb: string, window: "1m" | "5m"): number {
  return num(r, `${verb}_per_s_${window}`, `${verb}_${window}`, `${verb}_per_s.${window}`,
    `${verb}.${window}`, `rate_${window}`, `rates.${window}`, `per_s_${window}`);
}

const str = (v: unknown) => (typeof v === "string" ? v : undefined);

/** Producer routes from `event_types` and consumer routes from each consumer's `routes`. */
function routesOf(body: unknown): Routes | null {
  const producers: ProducerRoute[] = [];
  for (const r of rows(at(body, "event_types"), "event_type")) {
    const producer = str(r.producer);
    if (!producer) return null;
    producers.push({ event_type: String(r.event_type), producer, topic: str(r.topic), channel: str(r.channel) });
  }
  const consumers: ConsumerRoute[] = [];
  for (const c of rows(at(body, "consumers"), "consumer")) {
    for (const r of rows(c.routes, "event_type")) {
      consumers.push({
        event_type: String(r.event_type), consumer: String(c.consumer), type: str(r.type) ?? "",
        enabled: r.enabled !== false, disabled_reason: str(r.disabled_reason),
        disabled_at: typeof r.disabled_at === "number" ? r.disabled_at : undefined,
      });
    }
  }
  return { producers, consumers };
}

export function parseStats(body: unknown): Stats {
  const types = new Map<string, TypeStats>();
  for (const r of rows(at(body, "event_types"), "event_type")) {
    const name = String(r.event_type ?? r.name ?? "");
    if (!name) continue;
    types.set(name, { eventType: name, rate1m: rate(r, "published", "1m"), rate5m: rate(r, "published", "5m") });
  }
  const consumers = new Map<string, ConsumerStats>();
  for (const r of rows(at(body, "consumers"), "consumer")) {
    const name = String(r.consumer ?? r.name ?? "");
    if (!name) continue;
    const c = consumers.get(name) ?? {
      consumer: name, delivered1m: 0, delivered5m: 0, failed1m: 0, failed5m: 0,
      lagEvents: 0, lagSeconds: 0, circuitOpen: false, dead: 0, lastError: "",
    };
    c.delivered1m += rate(r, "delivered", "1m");
    c.delivered5m += rate(r, "delivered", "5m");
    c.failed1m += rate(r, "failed", "1m");
    c.failed5m += rate(r, "failed", "5m");
    c.lagEvents += num(r, "lag_events", "lag.events");
    c.lagSeconds = Math.max(c.lagSeconds, num(r, "lag_seconds", "lag.seconds", "lag_s"));
    const circuit = r.circuit ?? r.circuit_state;
    c.circuitOpen ||= circuit === "open" || circuit === "half_open" || r.circuit_open === true;
    c.dead += num(r, "dead_letters", "dead", "dead_count");
    if (typeof r.last_error === "string" && r.last_error) c.lastError = r.last_error;
    consumers.set(name, c);
  }
  return { types, consumers, routes: routesOf(body) };
}

export function fmtRate(perS: number): string {
  if (perS === 0) return "0/s";
  if (perS < 0.1) return `${(perS * 60).toFixed(1)}/min`;
  return perS < 10 ? `${perS.toFixed(1)}/s` : `${Math.round(perS)}/s`;
}
