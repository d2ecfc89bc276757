// End to end in headless Chromium: open the app, create a note, see it listed, delete it.
// Usage: BASE_URL=https://localhost:8443 node e2e/create-note.mjs
// Uses the system Chromium (CHROMIUM_PATH, default /usr/bin/chromium); no browser download.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const baseUrl = process.env.BASE_URL;
if (!baseUrl) throw new Error("set BASE_URL to the app's address");
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const timeout = 15_000;

// Flags keep the browser quiet on the network: nothing but the page under test.
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function createAndDelete(page) {
  const title = `e2e note ${Date.now()}`;
  await page.goto(baseUrl, { timeout });
  await page.getByRole("heading", { name: "Notes", exact: true }).waitFor({ timeout });
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Body").fill("written by headless Chromium");
  await page.getByRole("button", { name: "Add note" }).click();
  const listed = page.getByRole("list", { name: "Notes" }).getByRole("heading", { name: title });
  await listed.waitFor({ timeout });
  // A reload proves the note came back from the backend, not from component state.
  await page.reload({ timeout });
  await listed.waitFor({ timeout });
  await page.getByRole("button", { name: `Delete ${title}` }).click();
  await listed.waitFor({ state: "detached", timeout });
  return title;
}

const userDataDir = mkdtempSync(join(tmpdir(), "notes-e2e-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  args,
  headless: true,
  ignoreHTTPSErrors: true, // Traefik's default certificate when no ACME server is reachable
});
const problems = [];
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => msg.type() === "error" && problems.push(`console: ${msg.text()}`));
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  const title = await createAndDelete(page);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  console.log(JSON.stringify({ ok: true, created: title, url: baseUrl }));
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
