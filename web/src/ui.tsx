// Small shared pieces: polling, empty and error states, times, the action button.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ApiErr, ApiResult } from "./api";

/** Runs `load` now and every `ms` (0: once) while mounted or until `deps` change. */
export function usePoll<T>(load: () => Promise<T>, ms: number, deps: unknown[]): [T | undefined, () => void] {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const live = useRef(true);
  useEffect(() => {
    live.current = true;
    let timer = 0;
    const run = async () => {
      const v = await load();
      if (!live.current) return;
      setValue(v);
      if (ms > 0) timer = window.setTimeout(run, ms);
    };
    run();
    return () => {
      live.current = false;
      window.clearTimeout(timer);
    };
  }, [...deps, tick]);
  return [value, () => setTick((t) => t + 1)];
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** An API failure as a person reads it; 403 and 404 of a missing feature get their own words. */
export function Failure({ err, what }: { err: ApiErr; what: string }) {
  if (err.status === 403) return <Empty>{what} needs an admin token; this token is read-only here.</Empty>;
  if (err.status === 404 && err.code === "not_found")
    return <Empty>{what}: not found ({err.message}).</Empty>;
  if (err.status === 0) return <p class="error">{err.message}</p>;
  return (
    <p class="error">
      {what}: {err.status} {err.code} — {err.message}
    </p>
  );
}

export function Loading() {
  return <p class="muted">Loading…</p>;
}

/** Renders the data of a result, its failure, or "Loading…". */
export function Result<T>(props: { r: ApiResult<T> | undefined; what: string; children: (data: T) => ComponentChildren }) {
  if (!props.r) return <Loading />;
  if (!props.r.ok) return <Failure err={props.r} what={props.what} />;
  return <>{props.children(props.r.data)}</>;
}

export function fmtTime(ms: number | undefined): string {
  if (!ms) return "—";
  const d = new Date(ms);
  return d.toLocaleString(undefined, { hour12: false });
}

export function ago(ms: number | undefined): string {
  if (!ms) return "—";
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 0) return `in ${fmtDuration(-s)}`;
  return `${fmtDuration(s)} ago`;
}

export function fmtDuration(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** A button that runs an async action, disables itself meanwhile and reports the outcome. */
export function Action(props: {
  label: string;
  run: () => Promise<ApiResult<unknown>>;
  done: (message: string, ok: boolean) => void;
  confirm?: string;
  kind?: "primary" | "danger";
  testid?: string;
}) {
  const [busy, setBusy] = useState(false);
  const click = async () => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    const r = await props.run();
    setBusy(false);
    if (r.ok) props.done(`${props.label}: done ${JSON.stringify(r.data ?? {})}`, true);
    else props.done(`${props.label}: ${r.status} ${r.code} — ${r.message}`, false);
  };
  return (
    <button class={props.kind ?? ""} disabled={busy} onClick={click} data-testid={props.testid}>
      {busy ? "…" : props.label}
    </button>
  );
}

/** The last outcome of an action, shown until the next one. */
export function useNotice(): [ComponentChildren, (m: string, ok: boolean) => void] {
  const [n, setN] = useState<{ m: string; ok: boolean } | null>(null);
  const el = n ? (
    <p class={n.ok ? "notice ok" : "notice error"} role="status">
      {n.m}
    </p>
  ) : null;
  return [el, (m, ok) => setN({ m, ok })];
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge state-${state}`}>{state}</span>;
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}
