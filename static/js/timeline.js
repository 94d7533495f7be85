/* The patient timeline: draws the figures the server built (passed with json_script),
 * keeps every chart on the same date range, and runs the range buttons and the data-table
 * toggle. No inline script: this file is loaded from the app (Content Security Policy). */
(function () {
  "use strict";

  const charts = Array.from(document.querySelectorAll("[data-figure]"));
  if (!charts.length || typeof Plotly === "undefined") {
    return;
  }
  const config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  let syncing = false;

  function xKeys(layout) {
    return Object.keys(layout).filter((key) => /^xaxis\d*$/.test(key));
  }

  function applyRange(range, source) {
    syncing = true;
    const updates = charts
      .filter((el) => el !== source && el.layout)
      .map((el) => {
        const update = {};
        xKeys(el.layout).forEach((key) => {
          if (range) {
            update[key + ".range"] = range;
          } else {
            update[key + ".autorange"] = true;
          }
        });
        return Plotly.relayout(el, update);
      });
    Promise.all(updates).finally(() => { syncing = false; });
  }

  charts.forEach((el) => {
    const figure = JSON.parse(document.getElementById(el.dataset.figure).textContent);
    Plotly.newPlot(el, figure.data, figure.layout, config).then(() => {
      el.dataset.drawn = "true";
      el.on("plotly_relayout", (event) => {
        if (syncing) {
          return;
        }
        const start = event["xaxis.range[0]"] || (event["xaxis.range"] || [])[0];
        const end = event["xaxis.range[1]"] || (event["xaxis.range"] || [])[1];
        if (start && end) {
          applyRange([start, end], el);
        } else if (event["xaxis.autorange"]) {
          applyRange(null, el);
        }
      });
    });
  });

  document.querySelectorAll("[data-range-months]").forEach((button) => {
    button.addEventListener("click", () => {
      const months = parseInt(button.dataset.rangeMonths, 10);
      const end = new Date(document.body.dataset.today || Date.now());
      let range = null;
      if (months > 0) {
        const start = new Date(end);
        start.setMonth(start.getMonth() - months);
        range = [start.toISOString().slice(0, 10), end.toISOString().slice(0, 10)];
      }
      syncing = false;
      applyRange(range, null);
      document.querySelectorAll("[data-range-months]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    });
  });

  document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));

  const toggle = document.querySelector("[data-toggle-tables]");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const tables = document.getElementById(toggle.getAttribute("aria-controls"));
      const show = tables.hasAttribute("hidden");
      tables.toggleAttribute("hidden", !show);
      toggle.setAttribute("aria-expanded", String(show));
      toggle.textContent = show ? "Hide data tables" : "Show data tables";
    });
  }
})();
