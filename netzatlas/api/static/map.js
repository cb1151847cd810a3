// The web map at /map. Untrusted text (feature properties, collection titles) only ever reaches the page as DOM
// text nodes (textContent), never as markup: a feature named <img src=x onerror=...> shows exactly that text.
"use strict";
(function () {
  const CONFIG = JSON.parse(document.getElementById("netzatlas-config").textContent);
  // Colours, classes and labels come from netzatlas/cartography.json (static/cartography.js, generated from it):
  // the same definitions draw the report maps and the QGIS styles.
  const CARTO = window.NETZATLAS_CARTOGRAPHY || {};
  function colorOf(id) { return (CARTO[id] && CARTO[id].color) || "#3366cc"; }
  /** A MapLibre colour: a `match` on the class attribute for categorized layers, else the layer colour. */
  function colorExpr(id) {
    const c = CARTO[id];
    if (!c || !c.attribute || !c.classes.length) { return colorOf(id); }
    const expr = ["match", ["to-string", ["get", c.attribute]]];
    for (const k of c.classes) { expr.push(k.value, k.color); }
    expr.push(c.color);
    return expr;
  }
  const BASEMAP_LAYERS = ["building", "road"];
  const base = CONFIG.base;
  const style = {version: 8, sources: {}, layers: [{id: "background", type: "background",
    paint: {"background-color": "#f2efe9"}}]};
  if (CONFIG.basemap_url) {
    style.sources.basemap = {type: "raster", tiles: [CONFIG.basemap_url], tileSize: 256};
    style.layers.push({id: "basemap", type: "raster", source: "basemap"});
  }
  // the configured municipality's view (api/webmap.py: its boundary), the URL's #zoom/lat/lon when given
  const view = CONFIG.bounds ? {bounds: CONFIG.bounds, fitBoundsOptions: {padding: 20}}
    : {center: CONFIG.center || [0, 0], zoom: CONFIG.center ? 12 : 1};
  const map = new maplibregl.Map(Object.assign({container: "map", style: style, hash: true}, view));
  map.addControl(new maplibregl.NavigationControl(), "top-left");
  map.addControl(new maplibregl.ScaleControl());

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (className) { e.className = className; }
    return e;
  }

  function asText(v) {
    if (v === null || v === undefined) { return ""; }
    return typeof v === "object" ? JSON.stringify(v) : String(v);
  }

  /** Fields for the machine (ids, provenance, versions): collapsed into a popup's "details" part. */
  const INTERNAL = new Set(["id", "uuid", "source", "external_id", "version", "owner_org", "batch_id",
                            "created_batch", "updated_batch", "created_by", "updated_by", "deleted_by",
                            "created_at", "updated_at", "deleted_at", "valid_from", "valid_to"]);
  function isInternal(k) { return INTERNAL.has(k) || /(_batch|_batch_id|_by)$/.test(k); }
  function filled(v) { return v !== null && v !== undefined && asText(v).trim() !== ""; }

  /** What a person calls a feature: its name, else its address (street + house number), else its street, else
   *  the layer's title; with the fields that heading already shows. */
  function featureHeading(title, p) {
    if (filled(p.name)) { return {text: asText(p.name).trim(), used: ["name"]}; }
    if (filled(p.street)) {
      const no = [p.house_number, p.house_number_suffix].filter(filled).map(v => asText(v).trim()).join("");
      return {text: no ? `${asText(p.street).trim()} ${no}` : asText(p.street).trim(),
              used: ["street", "house_number", "house_number_suffix"]};
    }
    return {text: asText(title), used: []};
  }

  /** A table of [key, value] rows; `raw` keeps the keys as the API spells them (the details part). */
  function rows(entries, raw) {
    const table = el("table");
    for (const [k, v] of entries) {
      const tr = el("tr");
      tr.appendChild(el("th", raw ? k : k.replace(/_/g, " ")));
      tr.appendChild(el("td", asText(v)));
      table.appendChild(tr);
    }
    return table;
  }

  /** The popup's content as DOM nodes, all as text: the feature's name (or address, street, layer title) as the
   *  heading, the layer's title under it, the meaningful properties, and the internal fields in a collapsed
   *  "details" part at the end. */
  function popupContent(title, properties) {
    const p = properties || {};
    const root = el("div", undefined, "netzatlas-popup");
    const head = featureHeading(title, p);
    root.appendChild(el("div", head.text, "popup-heading"));
    if (head.text !== asText(title)) { root.appendChild(el("div", asText(title), "popup-layer")); }
    const entries = Object.entries(p).filter(([k, v]) => filled(v) && !head.used.includes(k));
    const shown = entries.filter(([k]) => !isInternal(k));
    const internal = entries.filter(([k]) => isInternal(k));
    if (shown.length) { root.appendChild(rows(shown)); }
    if (internal.length) {
      const details = el("details", undefined, "popup-details");
      details.appendChild(el("summary", "Details (ids, source)"));
      details.appendChild(rows(internal, true));
      root.appendChild(details);
    }
    return root;
  }

  function tiles(id) { return [`${base}/collections/${encodeURIComponent(id)}/tiles/WebMercatorQuad/{z}/{y}/{x}`]; }

  function styleLayers(id, gtype) {
    const c = CARTO[id] || {};
    const color = colorExpr(id);
    if (id === "building") {
      return [{id: id, type: "fill", minzoom: 13, paint: {"fill-color": colorOf(id),
                                                         "fill-outline-color": c.outline || "#b9b2a6"}}];
    }
    if (id === "road") {
      return [{id: id, type: "line", minzoom: 11,
               paint: {"line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 12, 1, 17, 6]}},
              {id: id + "-casing", type: "line", minzoom: 11, paint: {"line-color": "#b0a99f", "line-width": 0.5}}];
    }
    if (gtype.includes("polygon")) {
      const opacity = c.fill_opacity === undefined ? 0.25 : c.fill_opacity;
      return [{id: id, type: "fill", paint: {"fill-color": color, "fill-opacity": opacity,
                                             "fill-outline-color": c.outline || colorOf(id)}},
              {id: id + "-outline", type: "line",
               paint: {"line-color": c.outline || colorOf(id), "line-width": id === "municipality" ? 2 : 0.5}}];
    }
    return [{id: id, type: "circle",
             paint: {"circle-color": color, "circle-radius": ["interpolate", ["linear"], ["zoom"], 11, 2, 17, 7],
                     "circle-stroke-color": c.attribute ? (c.outline || "#505050") : "#ffffff",
                     "circle-stroke-width": c.attribute ? 0.8 : 0.5}}];
  }

  function addCollection(c) {
    const id = c.id;
    map.addSource(id, {type: "vector", tiles: tiles(id), minzoom: 0, maxzoom: 16});
    const layers = styleLayers(id, (c.geometryType || "").toLowerCase());
    for (const l of layers) {
      l.source = id;
      l["source-layer"] = id;
      l.layout = {visibility: c.visible ? "visible" : "none"};
      map.addLayer(l);
      if (l.type !== "line" || id !== "road") {
        clickable.set(l.id, c.title || id);
      }
    }
    return layers.map(l => l.id);
  }

  /** Layer id → collection title of the layers a click may hit (one popup per click lists them all). */
  const clickable = new Map();
  const MAX_IN_POPUP = 5;
  let openPopup = null;

  /** One popup for everything under the cursor: a section per feature (at most MAX_IN_POPUP), all as text. */
  function popupForFeatures(features) {
    const root = el("div", undefined, "netzatlas-popups");
    const seen = new Set();
    let shown = 0;
    for (const f of features) {
      const key = `${f.layer.source}/${f.properties.id ?? f.id}`;
      if (seen.has(key)) { continue; }
      seen.add(key);
      if (shown === MAX_IN_POPUP) {
        root.appendChild(el("p", `… and more here: zoom in to tell them apart`, "more"));
        break;
      }
      root.appendChild(popupContent(clickable.get(f.layer.id), f.properties));
      shown += 1;
    }
    return root;
  }

  map.on("click", (e) => {
    const ids = [...clickable.keys()].filter(i => map.getLayer(i) &&
                                                  map.getLayoutProperty(i, "visibility") !== "none");
    const hits = ids.length ? map.queryRenderedFeatures(e.point, {layers: ids}) : [];
    if (openPopup) { openPopup.remove(); openPopup = null; }
    // the municipal boundary covers the whole city: listed only when nothing else is under the cursor
    const own = hits.filter(f => f.layer.source !== "municipality");
    if (own.length) { hits.splice(0, hits.length, ...own); }
    if (!hits.length) { return; }
    openPopup = new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(popupForFeatures(hits)).addTo(map);
  });

  function layerSwitch(c, ids) {
    const label = el("label");
    const box = el("input");
    box.type = "checkbox";
    box.checked = c.visible;
    box.dataset.collection = c.id;
    box.onchange = () => ids.forEach(i => map.setLayoutProperty(i, "visibility", box.checked ? "visible" : "none"));
    const swatch = el("span", undefined, "swatch");
    swatch.style.background = colorOf(c.id);
    label.append(box, swatch, document.createTextNode(asText(c.title || c.id)));
    const classes = (CARTO[c.id] && CARTO[c.id].classes) || [];
    if (!classes.length) { return label; }
    // a categorized layer: its legend lists every class with its colour (the same as in reports and QGIS)
    swatch.style.background = "conic-gradient(" + classes.map((k, i) =>
      `${k.color} ${i / classes.length * 360}deg ${(i + 1) / classes.length * 360}deg`).join(", ") + ")";
    const list = el("ul", undefined, "legend-classes");
    list.dataset.collection = c.id;
    for (const k of classes) {
      const item = el("li");
      const s = el("span", undefined, "swatch");
      s.style.background = k.color;
      item.append(s, document.createTextNode(k.label));
      list.appendChild(item);
    }
    // the classes are listed while the layer is shown (a short panel that leaves the map and its popups free)
    list.hidden = !box.checked;
    const toggle = box.onchange;
    box.onchange = () => { toggle(); list.hidden = !box.checked; };
    const wrap = el("div", undefined, "legend-layer");
    wrap.append(label, list);
    return wrap;
  }

  async function init() {
    const r = await fetch(`${base}/collections`, {headers: {Accept: "application/json"}});
    const doc = await r.json();
    const panel = document.getElementById("layers");
    panel.replaceChildren();
    const cols = doc.collections.map(c => ({...c, geometryType: CONFIG.geometry[c.id] || "",
      // analysis results and dense reference layers start switched off (one click away in the layer list)
      visible: !["fibre_address", "population_grid", "poi", "charging_evse", "charging_connector"].includes(c.id) &&
        !c.id.endsWith("_result")}));
    const order = [...BASEMAP_LAYERS, "population_grid", "municipality"];
    cols.sort((a, b) => (order.indexOf(b.id) - order.indexOf(a.id)));
    const useRegistryBasemap = !CONFIG.basemap_url;
    document.getElementById("basemap-note").textContent = useRegistryBasemap
      ? "Basemap: roads and buildings from the registry" : "Basemap: external tiles";
    for (const c of cols) {
      if (BASEMAP_LAYERS.includes(c.id) && !useRegistryBasemap) { c.visible = false; }
      panel.appendChild(layerSwitch(c, addCollection(c)));
    }
    window.netzatlasReady = true;
  }

  window.netzatlas = {map: map, popupContent: popupContent, popupForFeatures: popupForFeatures};
  map.on("load", init);
})();
