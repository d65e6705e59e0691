// Schedules: every schedule with its type, entity, and cadence.
import { get, type List } from "../api";
import { Empty, Result, fmtTime, usePoll } from "../ui";

interface Schedule {
  name: string;
  event_type: string;
  entity_id?: string;
  every?: string;
  cron?: string;
  next_tick_ms?: number;
  last_tick_ms?: number;
  updated_at?: number;
}

export function SchedulesPage() {
  const [r] = usePoll(() => get<List<Schedule>>("/v1/schedules?limit=1000"), 10000, []);
  return (
    <section>
      <h2>Schedules</h2>
      <Result r={r} what="Schedules">
        {(d) => d.items.length === 0 ? <Empty>No schedules. Add one with <code>PUT /v1/schedules/NAME</code>.</Empty> : (
          <div class="scroll">
            <table>
              <thead><tr><th>name</th><th>event type</th><th>entity</th><th>when</th><th>next</th><th>last</th></tr></thead>
              <tbody>
                {d.items.map((s) => (
                  <tr>
                    <td>{s.name}</td><td>{s.event_type}</td><td>{s.entity_id ?? ""}</td>
                    <td>{s.every ? `every ${s.every}` : s.cron ? <code>{s.cron}</code> : ""}</td>
                    <td>{fmtTime(s.next_tick_ms)}</td><td>{fmtTime(s.last_tick_ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Result>
    </section>
  );
}
