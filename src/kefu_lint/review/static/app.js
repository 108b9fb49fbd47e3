// The workbench's only script: small conveniences over forms that work without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A false positive needs a reason: ask for it before sending the form.
  for (const form of document.querySelectorAll("form.verdict-form")) {
    form.addEventListener("submit", (event) => {
      const button = event.submitter;
      const reason = form.querySelector("input.reason");
      if (button && button.value === "false_positive" && !reason.value.trim()) {
        event.preventDefault();
        reason.required = true;
        reason.reportValidity();
      }
    });
  }
  // Selecting words in an agent message fills the "add a missed finding" form.
  const flagged = document.getElementById("missed-flagged");
  const index = document.getElementById("missed-index");
  if (flagged && index) {
    document.addEventListener("mouseup", () => {
      const selection = window.getSelection();
      if (!selection || selection.isCollapsed) return;
      const node = selection.anchorNode && selection.anchorNode.parentElement;
      const text = node && node.closest(".msg .text");
      if (!text) return;
      const words = selection.toString().trim();
      if (words && [...index.options].some((option) => option.value === text.dataset.index)) {
        flagged.value = words;
        index.value = text.dataset.index;
      }
    });
  }
  // Filters apply as soon as a choice changes.
  const filters = document.getElementById("filters");
  if (filters) {
    for (const select of filters.querySelectorAll("select")) {
      select.addEventListener("change", () => filters.requestSubmit());
    }
  }
});
