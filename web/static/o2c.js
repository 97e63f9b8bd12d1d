// o2c back office: keyboard review, the rule editor's line numbers and error jumps.
"use strict";

function setUpReview(form) {
  const inputs = Array.from(form.querySelectorAll("input[name^='f_']"));
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      const confirm = document.getElementById("confirm");
      if (confirm) { confirm.click(); }
      return;
    }
    if (event.key === "Enter" && event.target.tagName === "INPUT") {
      event.preventDefault();  // Enter never confirms by accident
      const at = inputs.indexOf(event.target);
      if (at < 0) { return; }  // the layout's own inputs
      const next = inputs[at + 1] || document.getElementById("confirm");
      if (next) { next.focus(); if (next.select) { next.select(); } }
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      const next = document.getElementById("next-document");
      if (next) { window.location = next.href; }
    }
  });
  const firstDoubtful = form.querySelector(".conf-low input, .conf-mid input") || inputs[0];
  if (firstDoubtful && !firstDoubtful.readOnly) { firstDoubtful.focus(); firstDoubtful.select(); }
}

function setUpEditor(editor) {
  const area = editor.querySelector("textarea");
  const gutter = editor.querySelector(".gutter");
  const bad = new Set((editor.dataset.badLines || "").split(",").filter(Boolean).map(Number));
  function number() {
    const count = area.value.split("\n").length;
    const rows = [];
    for (let n = 1; n <= count; n += 1) {
      rows.push(bad.has(n) ? `<span class="bad" id="gutter-line-${n}">${n}</span>` : String(n));
    }
    gutter.innerHTML = rows.join("\n");
    gutter.scrollTop = area.scrollTop;
  }
  area.addEventListener("input", number);
  area.addEventListener("scroll", () => { gutter.scrollTop = area.scrollTop; });
  area.addEventListener("keydown", (event) => {
    if (event.key === "Tab") {  // two spaces, as YAML wants
      event.preventDefault();
      area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      number();
    } else if (event.key === "s" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      area.form.requestSubmit();
    }
  });
  document.querySelectorAll("[data-goto-line]").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      goToLine(area, Number(link.dataset.gotoLine), Number(link.dataset.gotoCol || 1));
    });
  });
  document.querySelectorAll("[data-insert]").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      if (area.readOnly) { return; }
      area.focus();
      area.setRangeText(link.dataset.insert, area.selectionStart, area.selectionEnd, "end");
      number();
    });
  });
  number();
  const first = document.querySelector("[data-goto-line]");
  if (first) { goToLine(area, Number(first.dataset.gotoLine), Number(first.dataset.gotoCol || 1)); }
}

function goToLine(area, line, col) {
  const lines = area.value.split("\n");
  let start = 0;
  for (let n = 0; n < line - 1 && n < lines.length; n += 1) { start += lines[n].length + 1; }
  const end = start + (lines[line - 1] || "").length;
  area.focus();
  area.setSelectionRange(Math.min(start + col - 1, end), end);
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 19;
  area.scrollTop = Math.max(0, (line - 5) * lineHeight);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-review]").forEach(setUpReview);
  document.querySelectorAll(".editor").forEach(setUpEditor);
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
});
