// Nodes: the cluster's eragond processes (GET /v1/cluster), or this one node's health
// when the server runs alone.
import { get } from "../api";
import { Empty, Failure, Loading, ago, fmtTime, usePoll } from "../ui";

interface ClusterNode {
  id: string;
  address: string;
  started_at: number;
  last_seen: number;
  partitions: number;
}

export function NodesPage() {
  const [r] = usePoll(() => get<{ nodes: ClusterNode[] }>("/v1/cluster"), 5000, []);
  const [ready] = usePoll(() => get<{ status: string }>("/readyz"), 5000, []);
  return (
    <section>
      <h2>Nodes</h2>
      <p>
        This node: {!ready ? "…" : ready.ok ? <span class="badge ok">ready</span> : <span class="badge bad">{ready.code}: {ready.message}</span>}
      </p>
      {!r ? <Loading /> : !r.ok ? (
        r.status === 404 || r.status === 405 ? (
          <Empty>This eragond runs as a single node (no cluster: it answers no <code>GET /v1/cluster</code>).</Empty>
        ) : <Failure err={r} what="The cluster" />
      ) : r.data.nodes.length === 0 ? <Empty>No nodes reported.</Empty> : (
        <div class="scroll">
          <table>
            <thead><tr><th>id</th><th>address</th><th>started</th><th>last seen</th><th>partitions</th></tr></thead>
            <tbody>
              {r.data.nodes.map((n) => (
                <tr><td>{n.id}</td><td>{n.address}</td><td>{fmtTime(n.started_at)}</td><td>{ago(n.last_seen)}</td><td class="num">{n.partitions}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
