/* The patient timeline: draws the figures the server built (passed with json_script) and
 * keeps every chart on one date range: the range buttons, a zoom or pan in one chart, and
 * a double-click reset all move every chart together. "All" is the server's full range
 * (first result or course start to a week past today), not each chart's own autorange,
 * which differs from chart to chart. No inline script (Content Security Policy). */
(function () {
  "use strict";

  const charts = Array.from(document.querySelectorAll("[data-figure]"));
  if (!charts.length || typeof Plotly === "undefined") {
    return;
  }
  const controls = document.querySelector("[data-timeline-range]");
  const fullRange = controls ? [controls.dataset.start, controls.dataset.end] : null;
  const today = controls ? controls.dataset.today : new Date().toISOString().slice(0, 10);
  const config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  let syncing = false;

  function xKeys(layout) {
    return Object.keys(layout).filter((key) => /^xaxis\d*$/.test(key));
  }

  function applyRange(range, source) {
    if (!range) {
      return;
    }
    syncing = true;
    const updates = charts
      .filter((el) => el !== source && el.layout)
      .map((el) => {
        const update = {};
        xKeys(el.layout).forEach((key) => {
          update[key + ".range"] = range.slice();
          update[key + ".autorange"] = false;
        });
        return Plotly.relayout(el, update);
      });
    Promise.all(updates).finally(() => { syncing = false; });
  }

  // A calendar date N months before an ISO date, computed in UTC so no time zone shifts it.
  function monthsBefore(iso, months) {
    const [year, month, day] = iso.split("-").map(Number);
    return new Date(Date.UTC(year, month - 1 - months, day)).toISOString().slice(0, 10);
  }

  charts.forEach((el) => {
    const figure = JSON.parse(document.getElementById(el.dataset.figure).textContent);
    Plotly.newPlot(el, figure.data, figure.layout, config).then(() => {
      el.dataset.drawn = "true";
      el.on("plotly_relayout", (event) => {
        if (syncing) {
          return;
        }
        // A zoom on any row (xaxis3 on the counts, xaxis2 on the disease chart) counts.
        const axis = (Object.keys(event).find((key) => /^xaxis\d*\.(range|autorange)/.test(key)) || "").split(".")[0];
        const start = event[axis + ".range[0]"] || (event[axis + ".range"] || [])[0];
        const end = event[axis + ".range[1]"] || (event[axis + ".range"] || [])[1];
        if (start && end) {
          applyRange([start, end], el);
        } else if (event[axis + ".autorange"]) {
          applyRange(fullRange, null); // a double-click reset: back to the page's range
        }
      });
    });
  });

  document.querySelectorAll("[data-range-months]").forEach((button) => {
    button.addEventListener("click", () => {
      const months = parseInt(button.dataset.rangeMonths, 10);
      const range = months > 0 && fullRange ? [monthsBefore(today, months), fullRange[1]] : fullRange;
      syncing = false;
      applyRange(range, null);
      document.querySelectorAll("[data-range-months]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    });
  });

  document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));
})();
