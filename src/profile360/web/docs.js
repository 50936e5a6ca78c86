// Swagger UI (from swagger-ui-py's copy, served by this API) on the service's own description.
// "Authorize" takes an API key (the bearer scheme of /openapi.json); a key signed in to the
// console in this tab is filled in. "Try it out" calls this service.
window.addEventListener("load", () => {
  const ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: () => {
      const key = sessionStorage.getItem("profile360.key");
      if (key) ui.preauthorizeApiKey("apiKey", key);
    },
  });
  window.ui = ui;
});
