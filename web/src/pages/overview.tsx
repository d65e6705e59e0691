// Overview: the routing table as a graph (producers → topics → consumers, with the channel
// of each and live rates), then the same as tables, which also read well on a phone.
import { get, type Routes } from "../api";
import { parseStats, fmtRate, type Stats } from "../stats";
import { Empty, Failure, Loading, usePoll } from "../ui";
import { RoutesGraph } from "./graph";

export function useStats(): { stats: Stats | null; missing: boolean } {
  const [r] = usePoll(() => get<unknown>("/v1/stats"), 2000, []);
  if (!r || !r.ok) return { stats: null, missing: !!r && !r.ok };
  return { stats: parseStats(r.data), missing: false };
}

export function OverviewPage() {
  const [routes] = usePoll(() => get<Routes>("/v1/routes"), 5000, []);
  const { stats, missing } = useStats();
  // A token without admin may not read /v1/routes; /v1/stats names the routes too.
  const fromStats = routes && !routes.ok && routes.status === 403 && stats?.routes;
  const table = fromStats ? { ok: true as const, status: 200, data: stats.routes! } : routes;
  return (
    <section>
      <h2>Routes</h2>
      {missing && <p class="muted">Live rates need <code>GET /v1/stats</code>, which this server does not answer yet.</p>}
      {fromStats && <p class="muted">Read-only view: the routes as <code>GET /v1/stats</code> shows them (the full routing table needs an admin token).</p>}
      {!table ? <Loading /> : !table.ok ? <Failure err={table} what="The routing table" /> : (
        table.data.producers.length === 0 ? (
          <Empty>No routes yet. Set one with <code>eragon routes set-producer</code> or <code>PUT /v1/routes/…</code>.</Empty>
        ) : (
          <>
            <RoutesGraph routes={table.data} stats={stats} />
            <TypesTable routes={table.data} stats={stats} />
            <ConsumersTable routes={table.data} stats={stats} />
          </>
        )
      )}
    </section>
  );
}

function TypesTable({ routes, stats }: { routes: Routes; stats: Stats | null }) {
  return (
    <div class="scroll">
      <table>
        <caption>Event types</caption>
        <thead><tr><th>event type</th><th>producer</th><th>topic</th><th>channel</th><th>1 min</th><th>5 min</th></tr></thead>
        <tbody>
          {routes.producers.map((p) => {
            const s = stats?.types.get(p.event_type);
            return (
              <tr>
                <td>{p.event_type}</td><td>{p.producer}</td><td>{p.topic ?? p.event_type}</td>
                <td>{p.channel ?? "embedded"}</td>
                <td class="num">{s ? fmtRate(s.rate1m) : "—"}</td><td class="num">{s ? fmtRate(s.rate5m) : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function ConsumersTable({ routes, stats }: { routes: Routes; stats: Stats | null }) {
  const names = [...new Set(routes.consumers.map((c) => c.consumer))].sort();
  if (names.length === 0) return <Empty>No consumer routes yet.</Empty>;
  return (
    <div class="scroll">
      <table>
        <caption>Consumers</caption>
        <thead><tr><th>consumer</th><th>event types</th><th>delivered</th><th>failed</th><th>lag</th><th>circuit</th><th>dead</th></tr></thead>
        <tbody>
          {names.map((n) => {
            const s = stats?.consumers.get(n);
            const types = routes.consumers.filter((c) => c.consumer === n);
            return (
              <tr>
                <td><a href={`#/consumer/${encodeURIComponent(n)}`}>{n}</a></td>
                <td>{types.map((t) => `${t.event_type} (${t.type}${t.enabled === false ? ", disabled" : ""})`).join(", ")}</td>
                <td class="num">{s ? fmtRate(s.delivered1m) : "—"}</td>
                <td class="num">{s ? fmtRate(s.failed1m) : "—"}</td>
                <td class="num">{s ? `${s.lagEvents} · ${s.lagSeconds.toFixed(0)} s` : "—"}</td>
                <td>{s ? (s.circuitOpen ? <span class="badge bad">open</span> : "closed") : "—"}</td>
                <td class="num">{s ? s.dead : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
