// Sagas: the definitions, a saga's instances by state, and one instance's history.
import { enc, get, type List } from "../api";
import { Empty, Failure, Loading, Result, StateBadge, fmtTime, usePoll } from "../ui";
import { useState } from "preact/hooks";

interface Saga {
  name: string;
  trigger: string;
  steps: { name: string; command: string }[];
  completed?: string;
  failed?: string;
}
interface Instance {
  id: string;
  state: string;
  step?: string | number;
  started_at?: number;
  history?: { step: string; event_type: string; event_id: string; at: number }[];
}

export function SagasPage({ name, instance }: { name: string; instance: string }) {
  const [r] = usePoll(() => get<List<Saga>>("/v1/sagas"), 10000, []);
  if (!r) return <section><h2>Sagas</h2><Loading /></section>;
  if (!r.ok && (r.status === 404 || r.status === 405))
    return <section><h2>Sagas</h2><Empty>Sagas are not available on this server (it answers no <code>GET /v1/sagas</code>).</Empty></section>;
  return (
    <section>
      <h2><a href="#/sagas">Sagas</a>{name && ` / ${name}`}{instance && ` / ${instance}`}</h2>
      {!r.ok ? <Failure err={r} what="Sagas" /> : r.data.items.length === 0 ? <Empty>No sagas defined.</Empty> : (
        instance ? <InstanceDetail saga={name} id={instance} /> : name ? <Instances saga={name} /> : (
          <div class="scroll">
            <table>
              <thead><tr><th>name</th><th>trigger</th><th>steps</th><th>completed / failed</th></tr></thead>
              <tbody>
                {r.data.items.map((s) => (
                  <tr>
                    <td><a href={`#/sagas/${enc(s.name)}`}>{s.name}</a></td><td>{s.trigger}</td>
                    <td>{(s.steps ?? []).map((st) => st.name).join(" → ")}</td><td>{s.completed} / {s.failed}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      )}
    </section>
  );
}

function Instances({ saga }: { saga: string }) {
  const [state, setState] = useState("running");
  const [r] = usePoll(() => get<List<Instance>>(`/v1/sagas/${enc(saga)}/instances?state=${state}`), 5000, [saga, state]);
  return (
    <>
      <div class="tabs">
        {["running", "completed", "failed"].map((s) => (
          <button class={s === state ? "active" : ""} onClick={() => setState(s)}>{s}</button>
        ))}
      </div>
      <Result r={r} what="Instances">
        {(d) => d.items.length === 0 ? <Empty>No {state} instances.</Empty> : (
          <div class="scroll">
            <table>
              <thead><tr><th>id</th><th>state</th><th>step</th><th>started</th></tr></thead>
              <tbody>
                {d.items.map((i) => (
                  <tr>
                    <td><a href={`#/sagas/${enc(saga)}/${enc(i.id)}`}>{i.id}</a></td>
                    <td><StateBadge state={i.state} /></td><td>{i.step ?? ""}</td><td>{fmtTime(i.started_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Result>
    </>
  );
}

function InstanceDetail({ saga, id }: { saga: string; id: string }) {
  const [r] = usePoll(() => get<Instance>(`/v1/sagas/${enc(saga)}/instances/${enc(id)}`), 3000, [saga, id]);
  return (
    <Result r={r} what={`Instance ${id}`}>
      {(i) => (
        <>
          <p><StateBadge state={i.state} /> step {i.step ?? "—"} · started {fmtTime(i.started_at)}</p>
          <div class="scroll">
            <table>
              <thead><tr><th>step</th><th>event type</th><th>event</th><th>at</th></tr></thead>
              <tbody>
                {(i.history ?? []).map((h) => (
                  <tr>
                    <td>{h.step}</td><td>{h.event_type}</td>
                    <td><a href={`#/event/${enc(h.event_id)}`}>{h.event_id}</a></td><td>{fmtTime(h.at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Result>
  );
}
