/*
 * Kinfold: a small signature pad for the consent signing page. No library, no inline script or style.
 *
 *   <div data-signature-pad data-input="id_signature_drawn" hidden>
 *     <canvas class="kinfold-signature__canvas" width="600" height="200"></canvas>
 *     <button type="button" data-signature-clear>Clear</button>
 *   </div>
 *   <div class="usa-radio" data-signature-option hidden>  (the "Draw my signature" choice)
 *   <div data-signature-typed>                            (the typed-name field)
 *
 * Without JavaScript the pad and the "draw" choice stay hidden and a typed name is the signature.
 * With it, choosing "draw" shows the pad and hides the typed field; each stroke writes the drawing as a
 * PNG data URL into the hidden input, which the server checks and stores with the consent.
 */
(function () {
  "use strict";

  function setUp(pad) {
    var form = pad.closest("form");
    var input = document.getElementById(pad.getAttribute("data-input"));
    var canvas = pad.querySelector("canvas");
    var clear = pad.querySelector("[data-signature-clear]");
    if (!form || !input || !canvas || !canvas.getContext) {
      return;
    }
    var context = canvas.getContext("2d");
    var typed = form.querySelector("[data-signature-typed]");
    var option = form.querySelector("[data-signature-option]");
    var radios = form.querySelectorAll('input[name="signature_method"]');
    var drawing = false;
    var hasInk = false;

    function pen() {
      context.lineWidth = 3;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#1b1b1b";
    }

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: ((event.clientX - box.left) * canvas.width) / box.width,
        y: ((event.clientY - box.top) * canvas.height) / box.height,
      };
    }

    function save() {
      input.value = hasInk ? canvas.toDataURL("image/png") : "";
    }

    function wipe() {
      context.clearRect(0, 0, canvas.width, canvas.height);
      hasInk = false;
      save();
    }

    function method() {
      var chosen = "typed";
      radios.forEach(function (radio) {
        if (radio.checked) {
          chosen = radio.value;
        }
      });
      return chosen;
    }

    function show() {
      var drawn = method() === "drawn";
      pad.hidden = !drawn;
      if (typed) {
        typed.hidden = drawn;
      }
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = point(event);
      pen();
      context.beginPath();
      context.moveTo(p.x, p.y);
      context.lineTo(p.x + 0.1, p.y + 0.1);
      context.stroke();
      hasInk = true;
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) {
        return;
      }
      var p = point(event);
      context.lineTo(p.x, p.y);
      context.stroke();
    });
    function stop() {
      if (drawing) {
        drawing = false;
        save();
      }
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", stop);
    if (clear) {
      clear.addEventListener("click", wipe);
    }
    radios.forEach(function (radio) {
      radio.addEventListener("change", show);
    });

    // A drawing sent back by the server (the page was shown again with a problem) is drawn again.
    if (input.value.indexOf("data:image/png;base64,") === 0) {
      var image = new Image();
      image.addEventListener("load", function () {
        context.drawImage(image, 0, 0, canvas.width, canvas.height);
        hasInk = true;
      });
      image.src = input.value;
    }
    if (option) {
      option.hidden = false;
    }
    show();
  }

  function start() {
    document.querySelectorAll("[data-signature-pad]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
