// The run pages' only script (the Content-Security-Policy allows no inline script):
// follows a step's log while the step runs. Text is added as text, never as markup.
"use strict";

const POLL_MS = 2000;

async function follow(log) {
  const state = document.getElementById("log-state");
  const status = document.getElementById("step-status");
  let next = log.dataset.next;
  while (log.dataset.complete !== "true") {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    let answer;
    try {
      const url = `${log.dataset.src}&after=${encodeURIComponent(next)}`;
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.status === 401) {
        state.textContent = "Signed out: reload the page to sign in again.";
        return;
      }
      if (!response.ok) continue;
      answer = await response.json();
    } catch (error) {
      continue; // a network blip: try again on the next tick
    }
    if (answer.text) {
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(document.createTextNode(answer.text));
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    next = answer.next;
    log.dataset.next = next;
    status.textContent = answer.step_status;
    status.className = `status status-${answer.step_status}`;
    if (answer.complete) {
      log.dataset.complete = "true";
      state.textContent = "The log is complete.";
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const log = document.getElementById("log");
  if (log) follow(log);
});
