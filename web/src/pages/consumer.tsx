// One consumer: its figures (lag, circuit, rates, dead letters), then each of its routes
// with enable/disable, replay from a time, seek, and its dead letters with redrive.
import { useState } from "preact/hooks";
import { get, post, routePath, type ConsumerRoute, type DeadLetter, type List, type Routes } from "../api";
import { fmtRate } from "../stats";
import { Action, Empty, Failure, Loading, Result, fmtTime, ago, useNotice, usePoll } from "../ui";
import { useStats } from "./overview";

export function ConsumerPage({ name, admin }: { name: string; admin: boolean }) {
  const [routes, reload] = usePoll(() => get<Routes>("/v1/routes"), 5000, [name]);
  const { stats, missing } = useStats();
  const s = stats?.consumers.get(name);
  // Without admin, /v1/routes is 403: the routes as /v1/stats names them.
  const fromStats = routes && !routes.ok && routes.status === 403 && stats?.routes;
  const table = fromStats ? { ok: true as const, status: 200, data: stats.routes! } : routes;
  const [notice, notify] = useNotice();
  const done = (m: string, ok: boolean) => { notify(m, ok); reload(); };
  return (
    <section>
      <h2><a href="#/">Routes</a> / {name}</h2>
      <div class="cards">
        <Card label="delivered" value={s ? `${fmtRate(s.delivered1m)} (5 min ${fmtRate(s.delivered5m)})` : "—"} />
        <Card label="failed" value={s ? fmtRate(s.failed1m) : "—"} bad={!!s && s.failed1m > 0} />
        <Card label="lag" value={s ? `${s.lagEvents} events · ${s.lagSeconds.toFixed(0)} s` : "—"} />
        <Card label="circuit" value={s ? (s.circuitOpen ? "open" : "closed") : "—"} bad={!!s?.circuitOpen} />
        <Card label="dead letters" value={s ? String(s.dead) : "—"} bad={!!s && s.dead > 0} />
      </div>
      {missing && <p class="muted">Figures need <code>GET /v1/stats</code>, which this server does not answer yet.</p>}
      {s?.lastError && <p class="error">last error: {s.lastError}</p>}
      {!admin && <p class="muted">Read-only: actions need an admin token.</p>}
      {notice}
      {!table ? <Loading /> : !table.ok ? <Failure err={table} what="The routes" /> : (() => {
        const mine = table.data.consumers.filter((c) => c.consumer === name);
        if (mine.length === 0) return <Empty>No routes for consumer “{name}”.</Empty>;
        return mine.map((r) => <RouteCard route={r} admin={admin} done={done} />);
      })()}
    </section>
  );
}

function Card({ label, value, bad }: { label: string; value: string; bad?: boolean }) {
  return (
    <div class={bad ? "card bad" : "card"}>
      <div class="label">{label}</div>
      <div class="value">{value}</div>
    </div>
  );
}

function RouteCard({ route, admin, done }: { route: ConsumerRoute; admin: boolean; done: (m: string, ok: boolean) => void }) {
  const path = routePath(route.event_type, route.consumer);
  const [dead, reloadDead] = usePoll(() => get<List<DeadLetter>>(`${path}/dead?limit=100`), 5000, [path]);
  const [from, setFrom] = useState("");
  const after = (m: string, ok: boolean) => { done(m, ok); reloadDead(); };
  const enabled = route.enabled !== false;
  const fromMs = from ? new Date(from).getTime() : NaN;
  return (
    <article class="route" data-route={route.event_type}>
      <h3>
        {route.event_type} <span class="muted">· {route.type}{route.url ? ` → ${route.url}` : ""}</span>{" "}
        <span class={enabled ? "badge ok" : "badge bad"}>{enabled ? "enabled" : "disabled"}</span>
      </h3>
      {!enabled && route.disabled_reason && (
        <p class="error" data-testid="disabled-reason">
          Disabled by eragond{route.disabled_at ? <span title={fmtTime(route.disabled_at)}> {ago(route.disabled_at)}</span> : null}:{" "}
          {route.disabled_reason}
        </p>
      )}
      {admin && (
        <div class="actions">
          <Action label={enabled ? "Disable" : "Enable"} run={() => post(`${path}/enabled`, { enabled: !enabled })}
            done={after} kind={enabled ? "danger" : "primary"} testid="toggle" />
          <span class="group">
            <input type="datetime-local" step="1" value={from} aria-label="replay from"
              onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
            <Action label="Replay from" run={() => (Number.isFinite(fromMs)
              ? post(`${path}/replay`, { from: fromMs })
              : Promise.resolve({ ok: false as const, status: 400, code: "invalid_field", message: "pick a time first" }))}
              done={after} />
            <Action label="Seek to time" run={() => (Number.isFinite(fromMs)
              ? post(`${path}/seek`, { to: fromMs })
              : Promise.resolve({ ok: false as const, status: 400, code: "invalid_field", message: "pick a time first" }))}
              done={after} confirm="Move this consumer's position to that time?" />
          </span>
          <Action label="Seek to latest" run={() => post(`${path}/seek`, { to: "latest" })} done={after}
            confirm="Skip this consumer's whole backlog?" kind="danger" />
        </div>
      )}
      <Result r={dead} what="Dead letters">
        {(d) => <DeadTable items={d.items} more={d.next !== null} admin={admin} path={path} done={after} />}
      </Result>
    </article>
  );
}

function DeadTable(props: { items: DeadLetter[]; more: boolean; admin: boolean; path: string; done: (m: string, ok: boolean) => void }) {
  if (props.items.length === 0) return <Empty>No dead letters.</Empty>;
  return (
    <div class="scroll">
      <table class="dead">
        <caption>
          Dead letters ({props.items.length}{props.more ? "+" : ""}){" "}
          {props.admin && <Action label="Redrive all" run={() => post(`${props.path}/redrive`, {})} done={props.done} kind="primary" testid="redrive-all" />}
        </caption>
        <thead><tr><th>event</th><th>entity</th><th>attempts</th><th>last status</th><th>last error</th><th>dead</th>{props.admin && <th />}</tr></thead>
        <tbody>
          {props.items.map((l) => (
            <tr data-event-id={l.event.id}>
              <td><a href={`#/event/${encodeURIComponent(l.event.id)}`}>{l.event.id}</a></td>
              <td>{l.event.entity_id}</td>
              <td class="num">{l.attempts}</td>
              <td class="num">{l.last_status || "—"}</td>
              <td class="err">{l.last_error}</td>
              <td title={fmtTime(l.dead_at)}>{ago(l.dead_at)}</td>
              {props.admin && (
                <td><Action label="Redrive" run={() => post(`${props.path}/redrive`, { ids: [l.event.id] })} done={props.done} testid="redrive" /></td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
