/* The Cohort page: draws the figures the server built (passed with json_script). The
 * modebar exports each curve as PNG (camera button) or SVG (the button beside it), with
 * Plotly's own image export in the browser. No inline script (Content Security Policy). */
(function () {
  "use strict";

  const charts = Array.from(document.querySelectorAll("[data-figure]"));
  if (!charts.length || typeof Plotly === "undefined") {
    return;
  }
  charts.forEach((el) => {
    const figure = JSON.parse(document.getElementById(el.dataset.figure).textContent);
    const filename = "cohort-" + el.id.replace(/^fig-/, "");
    const svgButton = {
      name: "Download plot as SVG",
      icon: Plotly.Icons.disk,
      click: (gd) => Plotly.downloadImage(gd, { format: "svg", filename: filename }),
    };
    const config = {
      responsive: true,
      displaylogo: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d"],
      modeBarButtonsToAdd: [svgButton],
      toImageButtonOptions: { format: "png", filename: filename, scale: 2 },
    };
    Plotly.newPlot(el, figure.data, figure.layout, config).then(() => {
      el.dataset.drawn = "true";
    });
  });
})();
