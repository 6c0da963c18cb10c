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
  // The browser's own zone first, in a group of its own, so it is one click away.
  if (tz) {
    try {
      var own = Intl.DateTimeFormat().resolvedOptions().timeZone;
      var match = own && Array.prototype.filter.call(tz.options, function (o) { return o.value === own; })[0];
      if (match && own !== "UTC") {
        var group = document.createElement("optgroup");
        group.label = "Your time zone";
        var first = document.createElement("option");
        first.value = own;
        first.textContent = own.replace(/_/g, " ");
        group.appendChild(first);
        tz.insertBefore(group, tz.firstChild);
        if (tz.value === own) { first.selected = true; }
      }
    } catch (e) { /* old browser: the grouped list is enough */ }
  }
  // After a failed submit, move focus to the error summary so it is read out first.
  var summary = document.querySelector(".form-error[role=alert]");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
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
