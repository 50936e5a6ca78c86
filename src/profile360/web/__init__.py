"""Static files of the web pages (package data, served by ``profile360.api.pages``): the
console (``console.html``, ``console.css`` and one ES module per concept, no build step) and
the few lines that start Swagger UI at ``/docs`` (``docs.*``)."""
