// The Eragon dashboard: sign-in, navigation and the hash router (#/, #/consumer/NAME,
// #/event/ID, #/schedules, #/sagas, #/sagas/NAME, #/nodes).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { clearToken, getToken, setToken, UNAUTHORIZED, whoAmI } from "./api";
import { ConsumerPage } from "./pages/consumer";
import { EventPage } from "./pages/event";
import { NodesPage } from "./pages/nodes";
import { OverviewPage } from "./pages/overview";
import { SagasPage } from "./pages/sagas";
import { SchedulesPage } from "./pages/schedules";

type Role = "admin" | "reader";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn(props: { onIn: (role: Role) => void; note: string }) {
  const [token, setValue] = useState("");
  const [error, setError] = useState(props.note);
  const submit = async (e: Event) => {
    e.preventDefault();
    setToken(token.trim());
    const who = await whoAmI();
    if (who === "admin" || who === "reader") return props.onIn(who);
    clearToken();
    setError(who === "invalid" ? "That token is not valid." : `${who.code}: ${who.message}`);
  };
  return (
    <main class="signin">
      <h1>Eragon</h1>
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input id="token" type="password" autocomplete="off" value={token}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder="the admin token or a service's token" />
        <button class="primary" type="submit">Sign in</button>
        {error && <p class="error">{error}</p>}
        <p class="muted">
          The admin token is in <code>&lt;data-dir&gt;/admin.token</code> (with <code>scripts/start</code>:{" "}
          <code>eragon-data/admin.token</code>). It stays in this tab only (session storage).
        </p>
      </form>
    </main>
  );
}

const NAV: [string, string][] = [
  ["#/", "Overview"],
  ["#/event", "Events"],
  ["#/schedules", "Schedules"],
  ["#/sagas", "Sagas"],
  ["#/nodes", "Nodes"],
];

function Page({ hash, admin }: { hash: string; admin: boolean }) {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  switch (parts[0]) {
    case "consumer":
      return <ConsumerPage name={parts[1] ?? ""} admin={admin} />;
    case "event":
      return <EventPage id={parts.slice(1).join("/")} />;
    case "schedules":
      return <SchedulesPage />;
    case "sagas":
      return <SagasPage name={parts[1] ?? ""} instance={parts[2] ?? ""} />;
    case "nodes":
      return <NodesPage />;
    default:
      return <OverviewPage />;
  }
}

function App() {
  const [role, setRole] = useState<Role | null>(null);
  const [checking, setChecking] = useState(getToken() !== "");
  const [note, setNote] = useState("");
  const hash = useHash();
  useEffect(() => {
    if (getToken()) {
      whoAmI().then((w) => {
        if (w === "admin" || w === "reader") setRole(w);
        else clearToken();
        setChecking(false);
      });
    }
    const out = () => {
      clearToken();
      setRole(null);
      setNote("The server did not accept the token (401); sign in again.");
    };
    window.addEventListener(UNAUTHORIZED, out);
    return () => window.removeEventListener(UNAUTHORIZED, out);
  }, []);
  if (checking) return <p class="muted">…</p>;
  if (!role) return <SignIn onIn={(r) => { setNote(""); setRole(r); }} note={note} />;
  const current = "#/" + (hash.replace(/^#\/?/, "").split("/")[0] ?? "");
  return (
    <>
      <header>
        <a class="brand" href="#/">Eragon</a>
        <nav>
          {NAV.map(([href, label]) => (
            <a href={href} class={current === href || (href === "#/" && current === "#/consumer") ? "active" : ""}>{label}</a>
          ))}
        </nav>
        <span class={`role ${role}`} title={role === "admin" ? "admin token: actions enabled" : "not an admin token: read-only"}>
          {role === "admin" ? "admin" : "read-only"}
        </span>
        <button class="link" onClick={() => { clearToken(); setRole(null); }}>Sign out</button>
      </header>
      <main>
        <Page hash={hash} admin={role === "admin"} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
