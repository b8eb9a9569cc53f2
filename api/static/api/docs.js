// Starts Swagger UI on the API's documentation page: an external file, since the CSP runs
// no inline script. The schema's URL comes from the page (data-schema-url).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-schema-url"),
    domNode: root,
    deepLinking: true,
    persistAuthorization: false,
    // The validator badge would ask a third-party host to check the schema.
    validatorUrl: null,
  });
})();
