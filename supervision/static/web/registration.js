/* 批示件登记: number the item rows htmx adds, keep the formset's count, and show either the date
   or the working-day count of each row's deadline. No framework; htmx does the requests. */
(function () {
  "use strict";
  function rows() { return document.querySelectorAll("#item-rows .item-row"); }

  function syncDeadlineMode(row) {
    var checked = row.querySelector('input[type=radio][name$="-deadline_mode"]:checked');
    var byDays = checked && checked.value === "workdays";
    row.querySelectorAll(".field-date").forEach(function (el) { el.hidden = byDays; });
    row.querySelectorAll(".field-pair").forEach(function (el) { el.hidden = !byDays; });
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.id === "add-item") {
      event.detail.parameters.index = rows().length;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "item-rows") {
      var total = document.getElementById("id_items-TOTAL_FORMS");
      if (total) total.value = rows().length;
      var last = rows()[rows().length - 1];
      if (last) { var first = last.querySelector("input, select, textarea"); if (first) first.focus(); }
    }
  });
  // The page after a refusal: the upload is over, so its progress bar goes.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("#registration progress[data-upload-progress]").forEach(function (bar) { bar.hidden = true; bar.value = 0; });
  });
  // A message about a field goes once the field is changed; the server says it again if still wrong.
  function clearError(event) {
    var field = event.target.closest && event.target.closest(".field.has-error");
    if (!field) return;
    field.classList.remove("has-error");
    field.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
  }
  document.addEventListener("input", clearError);
  document.addEventListener("change", clearError);
  document.addEventListener("change", function (event) {
    if (event.target.name && /-deadline_mode$/.test(event.target.name)) {
      syncDeadlineMode(event.target.closest(".item-row"));
    }
  });
  // On load and on every piece htmx swaps in (a new row, the page again after a refusal).
  function ready(root) {
    var found = root.classList && root.classList.contains("item-row") ? [root] : root.querySelectorAll(".item-row");
    Array.prototype.forEach.call(found, syncDeadlineMode);
  }
  if (window.htmx) { htmx.onLoad(ready); } else { document.addEventListener("DOMContentLoaded", function () { ready(document); }); }
  document.addEventListener("click", function (event) {
    if (window.htmx && event.target.id === "add-item") event.preventDefault();
  });
})();
