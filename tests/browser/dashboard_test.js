// The dashboard in a real browser: Playwright (playwright-core) driving Debian's chromium
// headless against a real eragond with the Healthy Foods routes and real push consumers
// (HTTP receivers in this process; payment-service fails on purpose until told not to).
//   node dashboard_test.js --eragond PATH [--chromium /usr/bin/chromium] [--screenshots DIR]
// NODE_PATH must hold playwright-core (web/node_modules, which scripts/web-build links).
// Exits 0 when every step passed; prints each step.
"use strict";
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const ERAGOND = arg("--eragond");
const CHROMIUM = arg("--chromium", "/usr/bin/chromium");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "eragon-browser-"));
const SHOTS = arg("--screenshots", path.join(tmp, "shots"));
fs.mkdirSync(SHOTS, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const step = (s) => console.log(`-- ${s}`);

async function startEragond() {
  const child = spawn(ERAGOND, ["--data-dir", path.join(tmp, "data"), "--listen", "127.0.0.1:0"],
    { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stderr.on("data", (d) => { out += d; });
  const url = await new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (https?:\/\/[^\s]+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`eragond exited ${code}: ${out}`)));
    setTimeout(() => reject(new Error(`eragond did not start: ${out}`)), 20000);
  });
  const token = fs.readFileSync(path.join(tmp, "data", "admin.token"), "utf8").trim();
  return { child, url, token };
}

// A push consumer: answers 500 while `failing`, else 200; remembers the event ids it took.
function receiver() {
  const r = { failing: false, delivered: new Set(), port: 0 };
  r.server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const id = req.headers["eragon-event-id"];
      if (r.failing) {
        res.writeHead(500, { "Content-Type": "text/plain" }).end("payment provider down (on purpose)");
        return;
      }
      r.delivered.add(id);
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) => r.server.listen(0, "127.0.0.1", () => {
    r.port = r.server.address().port;
    resolve(r);
  }));
}

async function call(base, token, method, p, body, want) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (want && !want.includes(res.status)) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// The Healthy Foods routes of examples/healthy-foods (scripts/start's demo).
async function healthyFoods(base, admin, payment, restaurant) {
  const order = (await call(base, admin, "PUT", "/v1/services/order-service", { roles: ["producer"] }, [200, 201])).token;
  await call(base, admin, "PUT", "/v1/services/notification-service", { roles: ["consumer"] }, [200, 201]);
  const types = ["order_created", "order_paid", "order_cancelled", "order_delivered"];
  for (const t of types) {
    await call(base, admin, "PUT", `/v1/routes/${t}/producer`,
      { producer: "order-service", topic: "orders", ordered: true, partitions: 8 }, [201]);
  }
  const retry = { max_attempts: 2, initial_backoff_ms: 50, max_backoff_ms: 100 };
  await call(base, admin, "PUT", "/v1/routes/order_created/consumers/payment-service",
    { type: "http", url: `http://127.0.0.1:${payment.port}/events`, retry }, [201]);
  for (const t of ["order_paid", "order_cancelled"]) {
    await call(base, admin, "PUT", `/v1/routes/${t}/consumers/restaurant-service`,
      { type: "http", url: `http://127.0.0.1:${restaurant.port}/events`, retry }, [201]);
  }
  for (const t of types) {
    await call(base, admin, "PUT", `/v1/routes/${t}/consumers/notification-service`, { type: "pull" }, [201]);
  }
  // Nothing listens there: eragond disables the route after its first failures.
  await call(base, admin, "PUT", "/v1/services/audit-service", { roles: ["consumer"] }, [200, 201]);
  await call(base, admin, "PUT", "/v1/routes/order_delivered/consumers/audit-service",
    { type: "http", url: "http://127.0.0.1:1/events", retry: { ...retry, max_attempts: 1000 }, disable_after_ms: 1 }, [201]);
  await call(base, admin, "PUT", "/v1/schedules/daily-report",
    { event_type: "order_delivered", entity_id: "report", data: { report: "daily" }, cron: "0 6 * * *" }, [201]);
  return order;
}

async function waitFor(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function staticFiles(base) {
  const js = await fetch(`${base}/assets/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type"), /^text\/javascript/);
  assert.ok(js.headers.get("etag"));
  const again = await fetch(`${base}/assets/app.js`, { headers: { "If-None-Match": js.headers.get("etag") } });
  assert.equal(again.status, 304);
  for (const p of ["/assets/..%2f..%2fadmin.token", "/assets/%2e%2e/index.html", "/admin.token"]) {
    assert.equal((await fetch(base + p)).status, 404, p);
  }
}

async function signIn(page, base, token) {
  await page.goto(`${base}/`);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  await page.waitForSelector("header .role");
}

const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `dashboard-${name}.png`), fullPage: true });

// Healthy Foods routes, three orders published: order-1 goes dead at payment-service.
async function setUp(env) {
  step(`eragond at ${env.base}; Healthy Foods routes`);
  env.orderToken = await healthyFoods(env.base, env.admin, env.payment, env.restaurant);
  await staticFiles(env.base);
  await sleep(1200);  // a route change reaches the dispatcher within 1 s (API.md)
  const pub = async (type, entity) => (await call(env.base, env.orderToken, "POST", "/v1/events",
    { event_type: type, entity_id: entity, data: { order: { id: entity } } }, [202])).ids[0];
  env.failed = await pub("order_created", "order-1");
  await pub("order_paid", "order-2");
  await pub("order_cancelled", "order-3");
  await pub("order_delivered", "order-4");
  const deadPath = "/v1/routes/order_created/consumers/payment-service/dead";
  await waitFor("the dead letter", async () => (await call(env.base, env.admin, "GET", deadPath)).items.length === 1);
  await waitFor("restaurant deliveries", async () => env.restaurant.delivered.size === 2);
  const auditPath = "/v1/routes/order_delivered/consumers/audit-service";
  await waitFor("audit-service disabled", async () => (await call(env.base, env.admin, "GET", auditPath)).enabled === false);
}

// Why eragond disabled a consumer (`disabled_reason`), on its page.
async function disabledReason(page, env) {
  await page.goto(`${env.base}/#/consumer/audit-service`);
  await page.waitForSelector("[data-testid=disabled-reason]");
  assert.match(await page.textContent("[data-testid=disabled-reason]"), /Disabled by eragond.*every attempt failed for/);
}

async function graphAndRedrive(page, env) {
  step("sign in with the admin token");
  await signIn(page, env.base, env.admin);
  assert.equal(await page.textContent("header .role"), "admin");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("eragon.token")), env.admin);

  step("the routes graph: producers → topics → consumers");
  for (const n of ["order-service", "orders", "payment-service", "restaurant-service", "notification-service"]) {
    await page.waitForSelector(`svg g.node[data-node="${n}"]`);
  }
  assert.match(await page.textContent('g.node[data-node="orders"]'), /embedded · ordered · 8 p/);
  await shot(page, "overview");

  step("the failing consumer's dead letter");
  await page.click('svg a g.node[data-node="payment-service"]');
  const row = `tr[data-event-id="${env.failed}"]`;
  await page.waitForSelector(row);
  assert.match(await page.textContent(row), /500/);
  await shot(page, "consumer");

  step("redrive it once the receiver succeeds, and see it delivered");
  env.payment.failing = false;
  await page.click(`${row} button[data-testid=redrive]`);
  await page.waitForSelector(".notice.ok");
  await page.waitForSelector("text=No dead letters.");
  await waitFor("the redriven push", async () => env.payment.delivered.has(env.failed));

  step("disable and enable the route");
  const routeOf = () => call(env.base, env.admin, "GET", "/v1/routes/order_created/consumers/payment-service");
  await page.click("button[data-testid=toggle]");
  await page.waitForSelector('article.route .badge.bad:text("disabled")');
  assert.equal((await routeOf()).enabled, false);
  await page.click("button[data-testid=toggle]");
  await page.waitForSelector('article.route .badge.ok:text("enabled")');
  assert.equal((await routeOf()).enabled, true);

  step("why eragond disabled a consumer");
  await disabledReason(page, env);
}

async function eventAndOtherPages(page, env) {
  step("look the event up by id: deliveries and attempts");
  await page.click('header nav a[href="#/event"]');
  await page.fill("input[name=id]", env.failed);
  await page.click("form.lookup button");
  await page.waitForSelector('tr[data-consumer="payment-service"] .state-delivered', { timeout: 15000 });
  // Its attempts: the two that failed, then the redriven one.
  await page.waitForSelector("table.attempts tbody tr:nth-child(3)");
  const attempts = await page.$$eval("table.attempts tbody tr", (rows) => rows.map((r) => r.textContent));
  assert.equal(attempts.length, 3, attempts.join("\n"));
  assert.match(attempts[0], /payment-service.*push.*500.*payment provider down/);
  assert.match(attempts[2], /payment-service.*push.*200/);
  await shot(page, "event");

  step("schedules, sagas, nodes");
  await page.click('header nav a[href="#/schedules"]');
  await page.waitForSelector("text=daily-report");
  await shot(page, "schedules");
  await page.click('header nav a[href="#/sagas"]');
  await page.waitForSelector("section .empty, section table");
  await shot(page, "sagas");
  await page.click('header nav a[href="#/nodes"]');
  await page.waitForSelector("text=ready");
  await page.waitForSelector("section .empty, section table");
  await shot(page, "nodes");

  step("on a phone");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click("header a.brand");
  await page.waitForSelector('svg g.node[data-node="payment-service"]');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
  await shot(page, "phone");
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function readOnlyAndWrongTokens(page, env) {
  step("a producer token sees read-only pages");
  await page.click("header button.link");
  await signIn(page, env.base, env.orderToken);
  assert.equal(await page.textContent("header .role"), "read-only");
  await page.waitForSelector("text=Read-only view");  // the graph from /v1/stats
  await page.waitForSelector('svg g.node[data-node="payment-service"]');
  await page.goto(`${env.base}/#/consumer/payment-service`);
  await page.waitForSelector("text=Read-only");
  assert.equal(await page.$("button[data-testid=redrive], button[data-testid=toggle]"), null);
  await disabledReason(page, env);  // from /v1/stats

  step("a wrong token is refused");
  await page.click("header button.link");
  await page.fill("#token", "not-a-token");
  await page.click("button[type=submit]");
  await page.waitForSelector("text=That token is not valid.");
}

async function main() {
  const env = { payment: await receiver(), restaurant: await receiver() };
  env.payment.failing = true;
  const server = await startEragond();
  Object.assign(env, { base: server.url, admin: server.token });
  let context;
  try {
    await setUp(env);
    context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 800 },
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await graphAndRedrive(page, env);
    await eventAndOtherPages(page, env);
    await readOnlyAndWrongTokens(page, env);
    assert.deepEqual(errors, [], "no page threw");
    console.log(`dashboard_browser_test: passed (screenshots in ${SHOTS})`);
  } finally {
    if (context) await context.close();
    server.child.kill("SIGTERM");
    env.payment.server.close();
    env.restaurant.server.close();
    await new Promise((r) => server.child.on("exit", r));
    fs.rmSync(tmp, { recursive: true, force: true });  // with the default screenshots
  }
}

main().catch((e) => {
  console.error(`dashboard_browser_test: FAILED: ${e.stack || e}`);
  process.exit(1);
});
