// Event lookup by id: the event, each consumer's delivery state and every attempt; without
// an id, the most recent events.
import { useState } from "preact/hooks";
import { enc, get, type Attempt, type Delivery, type EventBody, type List } from "../api";
import { Empty, Failure, Json, Loading, Result, StateBadge, fmtTime, usePoll } from "../ui";

export function EventPage({ id }: { id: string }) {
  const [text, setText] = useState(id);
  const go = (e: Event) => {
    e.preventDefault();
    location.hash = `#/event/${enc(text.trim())}`;
  };
  return (
    <section>
      <h2>Events</h2>
      <form class="lookup" onSubmit={go}>
        <input name="id" value={text} placeholder="event id" aria-label="event id"
          onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <button class="primary" type="submit">Look up</button>
      </form>
      {id ? <EventDetail id={id} /> : <Recent />}
    </section>
  );
}

function Recent() {
  const [r] = usePoll(() => get<List<EventBody>>("/v1/events?limit=20"), 3000, []);
  return (
    <Result r={r} what="Recent events">
      {(d) => d.items.length === 0 ? <Empty>No events yet.</Empty> : (
        <div class="scroll">
          <table>
            <caption>Most recent events</caption>
            <thead><tr><th>id</th><th>type</th><th>entity</th><th>producer</th><th>occurred</th></tr></thead>
            <tbody>
              {d.items.map((e) => (
                <tr>
                  <td><a href={`#/event/${enc(e.id)}`}>{e.id}</a></td>
                  <td>{e.event_type}</td><td>{e.entity_id}</td><td>{e.producer}</td><td>{fmtTime(e.occurred_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Result>
  );
}

function EventDetail({ id }: { id: string }) {
  const [r] = usePoll(() => get<{ event: EventBody; deliveries: Delivery[] }>(`/v1/events/${enc(id)}`), 3000, [id]);
  const [attempts] = usePoll(() => get<List<Attempt>>(`/v1/events/${enc(id)}/attempts?limit=1000`), 3000, [id]);
  if (!r) return <Loading />;
  if (!r.ok) return <Failure err={r} what={`Event ${id}`} />;
  const { event, deliveries } = r.data;
  return (
    <>
      <div class="scroll">
        <table class="deliveries">
          <caption>Deliveries</caption>
          <thead><tr><th>consumer</th><th>state</th><th>attempts</th><th>last status</th><th>last error</th><th>next attempt</th><th>delivered</th></tr></thead>
          <tbody>
            {deliveries.length === 0 && <tr><td colSpan={7} class="muted">No consumer routes for this event.</td></tr>}
            {deliveries.map((d) => (
              <tr data-consumer={d.consumer}>
                <td><a href={`#/consumer/${enc(d.consumer)}`}>{d.consumer}</a></td>
                <td><StateBadge state={d.state} /></td>
                <td class="num">{d.attempts ?? 0}</td>
                <td class="num">{d.last_status || "—"}</td>
                <td class="err">{d.last_error ?? ""}</td>
                <td>{fmtTime(d.next_attempt_at)}</td>
                <td>{fmtTime(d.delivered_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Attempts r={attempts} />
      <h3>Event</h3>
      <Json value={event} />
    </>
  );
}

function Attempts({ r }: { r: Awaited<ReturnType<typeof get<List<Attempt>>>> | undefined }) {
  if (!r) return <Loading />;
  if (!r.ok) {
    if (r.status === 404 || r.status === 405)
      return <Empty>Attempt history is not available on this server (it answers no <code>GET /v1/events/{"{id}"}/attempts</code>); the deliveries above show each consumer's last attempt.</Empty>;
    return <Failure err={r} what="Attempts" />;
  }
  if (r.data.items.length === 0) return <Empty>No attempts yet.</Empty>;
  return (
    <div class="scroll">
      <table class="attempts">
        <caption>Attempts</caption>
        <thead><tr><th>consumer</th><th>#</th><th>at</th><th>kind</th><th>duration</th><th>status</th><th>error</th><th>node</th></tr></thead>
        <tbody>
          {r.data.items.map((a) => (
            <tr>
              <td>{a.consumer}</td><td class="num">{a.attempt ?? ""}</td><td>{fmtTime(a.at)}</td><td>{a.kind ?? "push"}</td>
              <td class="num">{a.duration_ms !== undefined ? `${a.duration_ms} ms` : ""}</td>
              <td class="num">{a.status ?? ""}</td><td class="err">{a.error ?? ""}</td><td>{a.node ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
