// Progressive enhancement for the sign-up and preference forms; both work without it.
(function () {
  "use strict";
  var tz = document.querySelector('select[name="timezone"]');
  var form = tz && tz.form;
  // Pre-fill the browser's IANA time zone, but only over the untouched default.
  if (tz && !tz.dataset.userSet && form && form.querySelector('input[name="email"]') && tz.value === "UTC") {
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && Array.prototype.some.call(tz.options, function (o) { return o.value === zone; })) {
        tz.value = zone;
      }
    } catch (e) { /* old browser: keep the select as it is */ }
  }
  // Show the weekday only when "weekly" is chosen.
  var weekday = document.querySelector("[data-weekday]");
  var radios = document.querySelectorAll('input[name="frequency"]');
  function sync() {
    var weekly = document.querySelector('input[name="frequency"][value="weekly"]:checked');
    if (weekday) { weekday.hidden = !weekly; }
  }
  Array.prototype.forEach.call(radios, function (r) { r.addEventListener("change", sync); });
  sync();
})();
