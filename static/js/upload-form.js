// The admin upload form (templates/admin/carbon/upload/form.html), as a file for the CSP.
// Convenience only (the server enforces the limit): spare the user a long upload that would be refused.
(function () {
  "use strict";
  var input = document.getElementById("id_file");
  if (!input) { return; }
  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    var limit = parseInt(input.dataset.maxBytes, 10);
    input.setCustomValidity(file && file.size > limit ? input.dataset.tooLarge : "");
    input.reportValidity();
  });
})();
