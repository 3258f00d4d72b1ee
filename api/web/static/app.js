// Progressive enhancement only: every form also works without this script.

// A form over the server's size limit would be answered 413 on another page: say so here
// instead, before sending, and keep what was typed (the limit comes from the page's body).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const limit = Number(document.body.dataset.formLimit || 0);
  if (!limit || (form.method || "").toLowerCase() !== "post") return;
  const data = new URLSearchParams(new FormData(form));
  if (event.submitter && event.submitter.name) data.set(event.submitter.name, event.submitter.value);
  const size = data.toString().length;  // url-encoded: one character is one byte sent
  if (size <= limit) return;
  event.preventDefault();
  event.stopImmediatePropagation();
  let alert = form.querySelector(".too-large");
  if (!alert) {
    alert = document.createElement("p");
    alert.className = "alert too-large";
    alert.setAttribute("role", "alert");
    form.prepend(alert);
  }
  alert.textContent = document.body.dataset.formTooLarge
    .replace("{size}", Math.ceil(size / 1024)).replace("{limit}", Math.floor(limit / 1024));
}, true);
// Accept / decline a suggestion in place, without reloading the page. The words shown come
// translated from the page (data-accepted, data-declined, data-failed).
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList.contains("decide") || !event.submitter) return;
  event.preventDefault();
  const data = new URLSearchParams(new FormData(form));
  data.set(event.submitter.name, event.submitter.value);
  const status = form.querySelector(".decided");
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    const response = await fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(response.status);
    const done = await response.json();
    status.textContent = done.decision === "accepted" ? status.dataset.accepted
                                                      : status.dataset.declined;
    form.closest(".suggestion").classList.add("is-" + done.decision);
  } catch (error) {
    status.textContent = status.dataset.failed;
    buttons.forEach((b) => (b.disabled = false));
  }
});

// A network document chosen as a file is put in the import form's text box (the form posts text).
document.addEventListener("change", async (event) => {
  const input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-into]") || !input.files.length) return;
  const box = document.getElementById(input.dataset.into);
  if (box) box.value = await input.files[0].text();
});

// A member field of a large network (macros.html member_picker): the members matching what is
// typed are offered in its datalist, fetched from the field's data-members address.
const pickerTimers = new WeakMap();
document.addEventListener("input", (event) => {
  const input = event.target;
  if (!input.matches || !input.matches("input[data-members]")) return;
  clearTimeout(pickerTimers.get(input));
  pickerTimers.set(input, setTimeout(async () => {
    const text = input.value.trim();
    const list = document.getElementById(input.getAttribute("list"));
    if (text.length < 2 || !list || [...list.options].some((o) => o.value === text)) return;
    const url = new URL(input.dataset.members, window.location.href);
    url.searchParams.set("q", text);
    try {
      const response = await fetch(url, { credentials: "same-origin",
                                          headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const found = await response.json();
      list.replaceChildren(...found.members.map((m) => {
        const option = document.createElement("option");
        option.value = m.id;
        option.label = m.name;
        return option;
      }));
    } catch (error) { /* the field still takes an id typed in full */ }
  }, 200));
});
