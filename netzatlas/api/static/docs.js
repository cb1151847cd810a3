// Swagger UI for /docs, served from the package (no CDN, no inline script: the page works offline and under the
// API's Content-Security-Policy). The OpenAPI document is at ./api, relative to this page.
"use strict";
window.ui = SwaggerUIBundle({
  url: new URL("api", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  showExtensions: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null,
});
