// The run pages in headless Chromium against `maestro serve`, signing in through the fake
// GitHub's OAuth web flow; axe-core checks every page. Driven by test_pages_chromium.py,
// which seeds the runs and the lock, writes the live log, and reads the JSON printed last.
// Uses the system Chromium (CHROMIUM_PATH); no browser download.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
};
const base = env("BASE_URL");
const github = env("GITHUB_URL");
const repo = env("REPO");
const runLive = env("RUN_LIVE");
const runDone = env("RUN_DONE");
const runHidden = env("RUN_HIDDEN");
const lockId = env("LOCK_ID");
const timeout = 30_000;
// Flags keep the browser quiet on the network: nothing but the pages under test.
const args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const problems = [];
const report = { axe: {}, overflow: {}, checks: {} };
const check = (name, ok, detail = "") => {
  report.checks[name] = ok;
  if (!ok) problems.push(`${name} ${detail}`.trim());
};

function watch(page, who) {
  page.on("console", (msg) => {
    // An expected 403/404 logs "Failed to load resource"; anything else is a fault,
    // a Content-Security-Policy refusal above all.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      problems.push(`${who} console: ${msg.text()}`);
    }
  });
  page.on("pageerror", (err) => problems.push(`${who} page error: ${err.message}`));
}

async function axeCheck(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    globalThis.axe.run(document, { resultTypes: ["violations"] }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.length}`);
  const serious = result.violations.filter((v) => ["serious", "critical"].includes(v.impact));
  report.axe[name] = found;
  check(`axe ${name}`, serious.length === 0, JSON.stringify(found));
}

async function overflow(page, name) {
  await page.setViewportSize({ width: 360, height: 740 });
  const extra = await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth);
  report.overflow[name] = extra;
  check(`phone width ${name}`, extra <= 0, `${extra}px wider than the screen`);
  await page.setViewportSize({ width: 1100, height: 900 });
}

async function user(browser, login) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  // Who is signed in to GitHub in this browser: the fake's own cookie.
  await context.addCookies([{ name: "fake_github_user", value: login, url: github }]);
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  watch(page, login);
  return { context, page };
}

async function signIn(page) {
  await page.goto(`${base}/ui/runs`);
  await page.waitForURL(/\/ui\/login\?/);
  await page.getByRole("button", { name: "Sign in with GitHub" }).click();
  await page.waitForURL(`${base}/ui/runs`);
}

async function csrfPost(page, path) {
  return page.evaluate(async (target) => {
    const csrf = document.querySelector('input[name="csrf"]').value;
    const body = new URLSearchParams({ csrf });
    const answer = await fetch(target, { method: "POST", body, redirect: "manual" });
    return answer.status;
  }, path);
}

async function writerJourney(browser) {
  const { context, page } = await user(browser, "mona");
  await signIn(page);
  const list = await page.locator("main").innerText();
  check("writer sees the runs", list.includes(runLive) && list.includes(runDone));
  check("writer does not see another repository", !list.includes(runHidden));
  for (const [role, name] of [["banner"], ["navigation", "Main"], ["main"], ["contentinfo"],
    ["search", "Filter runs"]]) {
    const count = await page.getByRole(role, name ? { name } : {}).count();
    check(`landmark ${role}${name ? ` ${name}` : ""}`, count === 1);
  }
  await axeCheck(page, "runs");
  await overflow(page, "runs");

  // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement.textContent);
  check("skip link first", first === "Skip to content", first);
  await page.keyboard.press("Enter");
  const focused = await page.evaluate(() => document.activeElement.id);
  check("skip link moves focus", focused === "content", focused);
  await page.getByRole("link", { name: runDone, exact: true }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: `Run ${runDone}` }).waitFor();
  const run = await page.locator("main").innerText();
  check("run page shows the plan summary", run.includes("Plan: 1 to add"));
  check("run page offers actions", (await page.getByRole("button", { name: "Retry" }).count()) === 1);
  await axeCheck(page, "run");
  await overflow(page, "run");
  if (process.env.SCREENSHOT) {
    await page.getByText("The redacted plan").click();
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  }

  // Follow the running step until it ends: the test writes its chunks meanwhile.
  await page.goto(`${base}/ui/runs/${runLive}`);
  await page.getByRole("link", { name: "plan", exact: true }).click();
  await page.locator("#log").getByText("chunk 0 line").waitFor();
  writeFileSync(env("READY_FILE"), "following\n");
  await page.getByText("The log is complete.").waitFor({ timeout: 60_000 });
  const log = await page.locator("#log").innerText();
  const lines = log.split("\n").filter((line) => line.startsWith("chunk "));
  check("live log reached its end", lines.length === 6 && log.includes("chunk 2 line 1"),
    JSON.stringify(lines));
  check("live step status", (await page.locator("#step-status").innerText()) === "succeeded");
  await axeCheck(page, "log");
  await overflow(page, "log");

  await page.goto(`${base}/ui/costs?repo=${encodeURIComponent(repo)}`);
  check("cost chart", (await page.getByRole("img", { name: /Monthly cost of/ }).count()) === 1);
  await axeCheck(page, "costs");
  await overflow(page, "costs");
  return { context, page };
}

async function readerIsRefused(browser) {
  const { context, page } = await user(browser, "hubot");
  await signIn(page);
  await page.goto(`${base}/ui/locks`);
  const locks = await page.locator("main").innerText();
  check("reader sees the lock", locks.includes("PR #7") && locks.includes("PR #8"));
  check("reader gets no release button", (await page.getByRole("button", { name: /Release/ }).count()) === 0);
  const status = await csrfPost(page, `/ui/locks/${lockId}/release`);
  check("reader's release refused", status === 403, String(status));
  await context.close();
}

async function writerReleases(page) {
  await page.goto(`${base}/ui/locks`);
  await axeCheck(page, "locks");
  await overflow(page, "locks");
  await page.getByRole("button", { name: /Release the lock of/ }).click();
  await page.waitForURL(`${base}/ui/locks`);
  const after = await page.locator("main").innerText();
  check("writer released the lock", !after.includes("PR #7 ("), after);
}

async function strangerSeesNothing(browser) {
  const { context, page } = await user(browser, "eve");
  await signIn(page);
  const list = await page.locator("main").innerText();
  check("stranger sees no run", ![runLive, runDone, runHidden].some((id) => list.includes(id)));
  const answer = await page.goto(`${base}/ui/runs/${runLive}`);
  check("stranger's run page is a 404", answer.status() === 404, String(answer.status()));
  await page.goto(`${base}/ui/locks`);
  check("stranger sees no lock", !(await page.locator("main").innerText()).includes(repo));
  await context.close();
}

async function badCookiesAreRefused(browser) {
  for (const [name, value] of [["forged", "gAAAAABforged"], ["expired", env("EXPIRED_COOKIE")]]) {
    const context = await browser.newContext();
    await context.addCookies([{ name: "maestro_session", value, url: `${base}/ui/` }]);
    const page = await context.newPage();
    watch(page, name);
    await page.goto(`${base}/ui/runs/${runDone}`);
    check(`${name} cookie sent to sign-in`, page.url().startsWith(`${base}/ui/login?`), page.url());
    if (name === "forged") await axeCheck(page, "login");
    const api = await page.evaluate(async (path) => (await fetch(path)).status,
      `/ui/api/runs/${runDone}/logs?step=plan`);
    check(`${name} cookie refused by the log API`, api === 401, String(api));
    await context.close();
  }
}

const browser = await chromium.launch({ executablePath: env("CHROMIUM_PATH"), args, headless: true });
try {
  const writer = await writerJourney(browser);
  await readerIsRefused(browser);
  await writerReleases(writer.page);
  await writer.context.close();
  await strangerSeesNothing(browser);
  await badCookiesAreRefused(browser);
} catch (error) {
  problems.push(`aborted: ${error.message}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ok: problems.length === 0, problems, ...report }));
