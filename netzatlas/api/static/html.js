// The HTML views (api/html.py): a small map of the page's own features, drawn with the bundled MapLibre from the
// GeoJSON embedded in the page as data (<script type="application/json">, never executed); the "previous page"
// link goes back in the browser's history (keyset paging has no backward cursor). No markup is built from data.
"use strict";
(function () {
  const COLORS = {fibre_address: "#7f7f7f", streetlight: "#d99e00", charging_point: "#1a9641", mobile_site: "#d7191c",
    wlan_hotspot: "#2b83ba", poi: "#9e3ac9", population_grid: "#fdae61", municipality: "#000000",
    candidate_site: "#e7298a"};

  for (const a of document.querySelectorAll("a.back")) {
    if (window.history.length > 1) {
      a.addEventListener("click", (e) => { e.preventDefault(); window.history.back(); });
    }
  }

  function ready() { window.netzatlasHtmlReady = true; }

  const data = document.getElementById("netzatlas-features");
  const box = document.getElementById("minimap");
  if (!data || !box || typeof maplibregl === "undefined") { ready(); return; }
  const doc = JSON.parse(data.textContent);
  const list = doc.type === "FeatureCollection" ? doc.features : [doc];
  const features = list.filter((f) => f && f.geometry);
  if (!features.length) { box.hidden = true; ready(); return; }

  const bounds = [180, 90, -180, -90];
  function extend(c) {
    if (typeof c[0] === "number") {
      bounds[0] = Math.min(bounds[0], c[0]); bounds[1] = Math.min(bounds[1], c[1]);
      bounds[2] = Math.max(bounds[2], c[0]); bounds[3] = Math.max(bounds[3], c[1]);
    } else {
      for (const x of c) { extend(x); }
    }
  }
  function extendGeometry(g) {
    if (g.type === "GeometryCollection") { g.geometries.forEach(extendGeometry); } else { extend(g.coordinates); }
  }
  features.forEach((f) => extendGeometry(f.geometry));

  const color = COLORS[box.dataset.collection] || "#3366cc";
  const is = (types) => ["match", ["geometry-type"], types, true, false];
  const map = new maplibregl.Map({
    container: box, attributionControl: false, bounds: [[bounds[0], bounds[1]], [bounds[2], bounds[3]]],
    fitBoundsOptions: {padding: 30, maxZoom: 17},
    style: {version: 8, sources: {features: {type: "geojson", data: {type: "FeatureCollection", features: features}}},
      layers: [
        {id: "background", type: "background", paint: {"background-color": "#f2efe9"}},
        {id: "fill", type: "fill", source: "features", filter: is(["Polygon", "MultiPolygon"]),
         paint: {"fill-color": color, "fill-opacity": 0.3}},
        {id: "line", type: "line", source: "features",
         filter: is(["LineString", "MultiLineString", "Polygon", "MultiPolygon"]),
         paint: {"line-color": color, "line-width": 1.5}},
        {id: "point", type: "circle", source: "features", filter: is(["Point", "MultiPoint"]),
         paint: {"circle-color": color, "circle-radius": 5, "circle-stroke-color": "#ffffff",
                 "circle-stroke-width": 1}},
      ]},
  });
  map.addControl(new maplibregl.NavigationControl({showCompass: false}), "top-left");
  map.once("idle", ready);
  window.netzatlasHtml = {map: map, count: features.length};
})();
