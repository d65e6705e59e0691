// The routing table drawn as three columns, producers → topics → consumers, in SVG that
// scales to the screen. Producer edges carry the types' publish rate; consumer nodes their
// delivery rate and lag, and turn red while failing or with the circuit open.
import { useEffect, useState } from "preact/hooks";
import type { Routes } from "../api";
import { fmtRate, type Stats } from "../stats";

const W = 960, BOX_W = 230, BOX_H = 48, ROW = 64, PAD = 16;
// On a phone: the three columns become three bands from top to bottom, two nodes a line.
const PHONE_W = 420, PHONE_BOX_W = 196, PHONE_GAP = 12, PHONE_BAND_GAP = 40;

interface Node {
  id: string;
  title: string;
  sub: string;
  href?: string;
  cls?: string;
}

function column(nodes: Node[], x: number, height: number): Placed {
  const top = (height - nodes.length * ROW) / 2 + (ROW - BOX_H) / 2;
  return new Map(nodes.map((n, i) => [n.id, { n, x, y: top + i * ROW }]));
}

type Placed = Map<string, { n: Node; x: number; y: number }>;

/** The nodes of one band in lines of two, from `top`; returns the placement and its bottom. */
function band(nodes: Node[], top: number): [Placed, number] {
  const placed: Placed = new Map();
  nodes.forEach((n, i) => {
    const line = Math.floor(i / 2), inLine = Math.min(2, nodes.length - line * 2);
    const lineW = inLine * PHONE_BOX_W + (inLine - 1) * PHONE_GAP;
    const x = (PHONE_W - lineW) / 2 + (i % 2) * (PHONE_BOX_W + PHONE_GAP);
    placed.set(n.id, { n, x, y: top + line * (BOX_H + PHONE_GAP) });
  });
  const lines = Math.ceil(nodes.length / 2);
  return [placed, top + lines * (BOX_H + PHONE_GAP) - PHONE_GAP];
}

function edge(x1: number, y1: number, x2: number, y2: number) {
  const mx = (x1 + x2) / 2;
  return `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
}

function vedge(x1: number, y1: number, x2: number, y2: number) {
  const my = (y1 + y2) / 2;
  return `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`;
}

/** Whether the screen is phone-sized (follows resizes). */
function usePhone(): boolean {
  const query = "(max-width: 640px)";
  const [phone, setPhone] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const m = window.matchMedia(query);
    const on = () => setPhone(m.matches);
    m.addEventListener("change", on);
    return () => m.removeEventListener("change", on);
  }, []);
  return phone;
}

interface ProducerEdge { p: string; t: string; rate: number; types: string[] }
interface ConsumerEdge { t: string; c: string; kind: string; off: boolean }
interface Model { pNodes: Node[]; tNodes: Node[]; cNodes: Node[]; pEdges: ProducerEdge[]; cEdges: ConsumerEdge[] }

/** The graph's nodes and edges from the routing table and the live figures. */
function model(routes: Routes, stats: Stats | null): Model {
  const topicOf = new Map(routes.producers.map((p) => [p.event_type, p.topic ?? p.event_type]));
  const producers = new Map<string, number>();
  const topics = new Map<string, { channel: string; ordered: boolean; partitions: number; types: number }>();
  const pEdges = new Map<string, ProducerEdge>();
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
  const cEdges = new Map<string, ConsumerEdge>();
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
  return { pNodes, tNodes, cNodes, pEdges: [...pEdges.values()], cEdges: [...cEdges.values()] };
}

export function RoutesGraph({ routes, stats }: { routes: Routes; stats: Stats | null }) {
  const { pNodes, tNodes, cNodes, pEdges, cEdges } = model(routes, stats);
  const phone = usePhone();
  let P: Placed, T: Placed, C: Placed, width: number, H: number, bw: number;
  if (phone) {
    let bottom: number;
    [P, bottom] = band(pNodes, PAD);
    [T, bottom] = band(tNodes, bottom + PHONE_BAND_GAP);
    [C, bottom] = band(cNodes, bottom + PHONE_BAND_GAP);
    width = PHONE_W, H = bottom + PAD, bw = PHONE_BOX_W;
  } else {
    const rows = Math.max(pNodes.length, tNodes.length, cNodes.length, 1);
    H = rows * ROW + 2 * PAD, width = W, bw = BOX_W;
    P = column(pNodes, PAD, H), T = column(tNodes, (W - BOX_W) / 2, H), C = column(cNodes, W - BOX_W - PAD, H);
  }
  // From the right (left to right) or the bottom (top to bottom) of a to the other side of b.
  const link = (a: { x: number; y: number }, b: { x: number; y: number }) => phone
    ? vedge(a.x + bw / 2, a.y + BOX_H, b.x + bw / 2, b.y)
    : edge(a.x + bw, a.y + BOX_H / 2, b.x, b.y + BOX_H / 2);
  const box = ({ n, x, y }: { n: Node; x: number; y: number }) => {
    const g = (
      <g class={`node ${n.cls ?? ""}`} data-node={n.id}>
        <rect x={x} y={y} width={bw} height={BOX_H} rx={8} />
        <text x={x + 12} y={y + 20} class="title">{n.title}</text>
        <text x={x + 12} y={y + 38} class="sub">{n.sub}</text>
      </g>
    );
    return n.href ? <a href={n.href}>{g}</a> : g;
  };
  return (
    <figure class="graph">
      <svg viewBox={`0 0 ${width} ${H}`} role="img" aria-label="routing graph: producers, topics, consumers">
        <g class="edges">
          {pEdges.map((e) => {
            return (
              <g>
                <path d={link(P.get(e.p)!, T.get(e.t)!)} class={e.rate > 0 ? "live" : ""} />
                <title>{e.types.join(", ")}</title>
              </g>
            );
          })}
          {cEdges.map((e) => {
            return <path d={link(T.get(e.t)!, C.get(e.c)!)} class={e.off ? "off" : e.kind} />;
          })}
        </g>
        {[...P.values()].map(box)}
        {[...T.values()].map(box)}
        {[...C.values()].map(box)}
      </svg>
      <figcaption>producers → topics → consumers · solid: push (http), dashed: pull, dotted: disabled · rates over 1 min</figcaption>
    </figure>
  );
}
