/*
 * Kinfold: ask before destructive actions.
 *
 *   <form method="post" data-confirm="End sharing with this organisation?"> ... </form>
 *   <button type="submit" data-confirm="Remove this person from the care team?">Remove</button>
 *
 * The message comes from a data-confirm attribute on the form, or on the button
 * that submitted it. Listening on the document in the capture phase runs before
 * htmx's own submit handler, so cancelling also stops hx-post forms. (For htmx
 * requests not triggered by a form submit, htmx's hx-confirm attribute works too.)
 * No inline handlers are needed, which keeps the Content-Security-Policy strict.
 */
(function () {
  "use strict";

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) {
        return;
      }
      var submitter = event.submitter;
      var message =
        (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );
})();
