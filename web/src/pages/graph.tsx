// The routing table drawn as three columns, producers → topics → consumers, in SVG that
// scales to the screen. Producer edges carry the types' publish rate; consumer nodes their
// delivery rate and lag, and turn red while failing or with the circuit open.
import type { Routes } from "../api";
import { fmtRate, type Stats } from "../stats";

const W = 960, BOX_W = 230, BOX_H = 48, ROW = 64, PAD = 16;

interface Node {
  id: string;
  title: string;
  sub: string;
  href?: string;
  cls?: string;
}

function column(nodes: Node[], x: number, height: number) {
  const top = (height - nodes.length * ROW) / 2 + (ROW - BOX_H) / 2;
  return new Map(nodes.map((n, i) => [n.id, { n, x, y: top + i * ROW }]));
}

function edge(x1: number, y1: number, x2: number, y2: number) {
  const mx = (x1 + x2) / 2;
  return `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
}

export function RoutesGraph({ routes, stats }: { routes: Routes; stats: Stats | null }) {
  const topicOf = new Map(routes.producers.map((p) => [p.event_type, p.topic ?? p.event_type]));
  const producers = new Map<string, number>();
  const topics = new Map<string, { channel: string; ordered: boolean; partitions: number; types: number }>();
  const pEdges = new Map<string, { p: string; t: string; rate: number; types: string[] }>();
  for (const p of routes.producers) {
    const t = p.topic ?? p.event_type;
    producers.set(p.producer, (producers.get(p.producer) ?? 0) + 1);
    const tp = topics.get(t) ?? { channel: p.channel ?? "embedded", ordered: !!p.ordered, partitions: p.partitions ?? 0, types: 0 };
    tp.types++;
    topics.set(t, tp);
    const key = `${p.producer}\u0000${t}`;
    const e = pEdges.get(key) ?? { p: p.producer, t, rate: 0, types: [] };
    e.rate += stats?.types.get(p.event_type)?.rate1m ?? 0;
    e.types.push(p.event_type);
    pEdges.set(key, e);
  }
  const consumers = new Map<string, string[]>();
  const cEdges = new Map<string, { t: string; c: string; kind: string; off: boolean }>();
  for (const c of routes.consumers) {
    const t = topicOf.get(c.event_type) ?? c.event_type;
    consumers.set(c.consumer, [...(consumers.get(c.consumer) ?? []), c.type]);
    cEdges.set(`${t}\u0000${c.consumer}`, { t, c: c.consumer, kind: c.type, off: c.enabled === false });
  }
  const pNodes: Node[] = [...producers].map(([name, n]) => {
    const rate = [...pEdges.values()].filter((e) => e.p === name).reduce((a, e) => a + e.rate, 0);
    return { id: name, title: name, sub: `${n} type${n === 1 ? "" : "s"}${stats ? ` · ${fmtRate(rate)}` : ""}` };
  });
  const tNodes: Node[] = [...topics].map(([name, t]) => ({
    id: name, title: name,
    sub: `${t.channel}${t.ordered ? " · ordered" : ""}${t.partitions ? ` · ${t.partitions} p` : ""}`,
    cls: `topic ${t.channel}`,
  }));
  const cNodes: Node[] = [...consumers].map(([name, kinds]) => {
    const s = stats?.consumers.get(name);
    const kind = [...new Set(kinds)].join("+");
    const sub = s ? `${kind} · ${fmtRate(s.delivered1m)} · lag ${s.lagEvents}` : kind;
    const cls = s && (s.circuitOpen || s.failed1m > 0) ? "failing" : s && s.dead > 0 ? "dead" : "";
    return { id: name, title: name, sub, href: `#/consumer/${encodeURIComponent(name)}`, cls };
  });
  const rows = Math.max(pNodes.length, tNodes.length, cNodes.length, 1);
  const H = rows * ROW + 2 * PAD;
  const P = column(pNodes, PAD, H), T = column(tNodes, (W - BOX_W) / 2, H), C = column(cNodes, W - BOX_W - PAD, H);
  const box = ({ n, x, y }: { n: Node; x: number; y: number }) => {
    const g = (
      <g class={`node ${n.cls ?? ""}`} data-node={n.id}>
        <rect x={x} y={y} width={BOX_W} height={BOX_H} rx={8} />
        <text x={x + 12} y={y + 20} class="title">{n.title}</text>
        <text x={x + 12} y={y + 38} class="sub">{n.sub}</text>
      </g>
    );
    return n.href ? <a href={n.href}>{g}</a> : g;
  };
  return (
    <figure class="graph">
      <div class="canvas">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="routing graph: producers, topics, consumers">
        <g class="edges">
          {[...pEdges.values()].map((e) => {
            const a = P.get(e.p)!, b = T.get(e.t)!;
            const y1 = a.y + BOX_H / 2, y2 = b.y + BOX_H / 2;
            return (
              <g>
                <path d={edge(a.x + BOX_W, y1, b.x, y2)} class={e.rate > 0 ? "live" : ""} />
                <title>{e.types.join(", ")}</title>
              </g>
            );
          })}
          {[...cEdges.values()].map((e) => {
            const a = T.get(e.t)!, b = C.get(e.c)!;
            return <path d={edge(a.x + BOX_W, a.y + BOX_H / 2, b.x, b.y + BOX_H / 2)} class={e.off ? "off" : e.kind} />;
          })}
        </g>
        {[...P.values()].map(box)}
        {[...T.values()].map(box)}
        {[...C.values()].map(box)}
      </svg>
      </div>
      <figcaption>producers → topics → consumers · solid: push (http), dashed: pull, dotted: disabled · rates over 1 min</figcaption>
    </figure>
  );
}
